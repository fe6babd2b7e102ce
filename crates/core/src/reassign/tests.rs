use super::*;
use crate::exec::Sequential;
use crate::geodesic::geodesic_distance_m;
use crate::model::LonLat;
use crate::model::{Categorical, Facilities, Facility, FacilityId, FacilityStatus, Residents};
use crate::stats::round_mm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Gp {
    id: &'static str,
    at: LonLat,
    capacity: Option<u32>,
    list_size: u32,
    status: FacilityStatus,
    kind: FacilityKind,
}

fn gp(id: &'static str, lon: f64, lat: f64, capacity: u32, list_size: u32) -> Gp {
    Gp {
        id,
        at: LonLat::new(lon, lat),
        capacity: Some(capacity),
        list_size,
        status: FacilityStatus::Active,
        kind: FacilityKind::Gp,
    }
}

/// (lon, lat, weight, gp id or "", group, municipality)
type Row = (f64, f64, f64, &'static str, &'static str, &'static str);

fn dataset(gps: Vec<Gp>, rows: &[Row]) -> Dataset {
    let facilities = Facilities::new(
        gps.iter()
            .map(|g| Facility {
                id: FacilityId(g.id.into()),
                kind: g.kind,
                name: None,
                location: g.at,
                capacity: g.capacity,
                list_size: Some(g.list_size),
                status: g.status,
                municipality: None,
                ad: false,
                aft: None,
                retire_p: None,
                other: Vec::new(),
            })
            .collect(),
    )
    .unwrap();
    let mut r = Residents {
        unit_weights: true,
        group: Categorical::new(),
        municipality: Categorical::new(),
        ..Residents::default()
    };
    for (i, &(lon, lat, w, gp_id, group, muni)) in rows.iter().enumerate() {
        r.location.push(LonLat::new(lon, lat));
        r.weight.push(w);
        r.unit_weights &= w == 1.0;
        r.ids.push(format!("R{i}").as_bytes());
        r.gp.push(if gp_id.is_empty() {
            NONE
        } else {
            facilities.index_of(gp_id).unwrap()
        });
        r.group.push(Some(group));
        r.municipality.push(Some(muni));
    }
    Dataset::new("t".into(), "t".into(), PathBuf::new(), facilities, r, None)
}

fn query(cease: &[&str]) -> ScenarioQuery {
    ScenarioQuery {
        cease: cease.iter().map(|s| (*s).to_owned()).collect(),
        ..ScenarioQuery::default()
    }
}

/// Panics when some GP receives more people than `capacity − list_size`.
fn assert_within_capacity(ds: &Dataset, r: &Reassignment) {
    let mut got: BTreeMap<FacilityIdx, u64> = BTreeMap::new();
    for x in r.rows.iter().filter(|x| x.to != NONE) {
        *got.entry(x.to).or_default() += x.people as u64;
    }
    for (g, n) in got {
        let f = ds.facilities().get(g);
        let room = f.capacity.unwrap() as u64 - f.list_size.unwrap() as u64;
        assert!(n <= room, "{}: {n} new for {room} places", f.id);
    }
}

/// (people placed, total cost in mm) of a solution.
fn score(r: &Reassignment) -> (u64, i64) {
    r.rows
        .iter()
        .filter(|x| x.to != NONE)
        .fold((0, 0), |(n, c), x| {
            (
                n + x.people as u64,
                c + x.people as i64 * cost_units(x.distance_m),
            )
        })
}

/// Every way of sending each person to a GP in reach or nowhere; the
/// best is (most placed, least total mm). Independent of the solver:
/// distances straight from Karney, rooms from capacity − list size.
fn brute_force(people: &[LonLat], gps: &[(LonLat, i64)], max_d: f64) -> (u64, i64) {
    let cost: Vec<Vec<Option<i64>>> = people
        .iter()
        .map(|&p| {
            gps.iter()
                .map(|&(g, _)| {
                    let d = geodesic_distance_m(p, g);
                    (d <= max_d).then(|| cost_units(d))
                })
                .collect()
        })
        .collect();
    let mut room: Vec<i64> = gps.iter().map(|g| g.1).collect();
    let mut best = (0, 0);
    fn go(
        i: usize,
        cost: &[Vec<Option<i64>>],
        room: &mut [i64],
        acc: (u64, i64),
        best: &mut (u64, i64),
    ) {
        if i == cost.len() {
            if acc.0 > best.0 || (acc.0 == best.0 && acc.1 < best.1) {
                *best = acc;
            }
            return;
        }
        go(i + 1, cost, room, acc, best);
        for j in 0..room.len() {
            if let Some(c) = cost[i][j] {
                if room[j] > 0 {
                    room[j] -= 1;
                    go(i + 1, cost, room, (acc.0 + 1, acc.1 + c), best);
                    room[j] += 1;
                }
            }
        }
    }
    go(0, &cost, &mut room, (0, 0), &mut best);
    best
}

/// Min-cost max-flow written differently: Ford–Fulkerson for a maximum
/// flow on the full bipartite graph (every arc in reach), then
/// Bellman–Ford negative-cycle cancelling until none is left.
fn cycle_cancelling(people: &[LonLat], gps: &[(LonLat, i64)], max_d: f64) -> (u64, i64) {
    let (np, ng) = (people.len(), gps.len());
    let (s, t, n) = (np + ng, np + ng + 1, np + ng + 2);
    // cap[u][v], cost[u][v]
    let mut cap = vec![vec![0i64; n]; n];
    let mut cost = vec![vec![0i64; n]; n];
    for (i, &p) in people.iter().enumerate() {
        cap[s][i] = 1;
        for (j, &(g, _)) in gps.iter().enumerate() {
            let d = geodesic_distance_m(p, g);
            if d <= max_d {
                cap[i][np + j] = 1;
                cost[i][np + j] = cost_units(d);
                cost[np + j][i] = -cost_units(d);
            }
        }
    }
    for (j, g) in gps.iter().enumerate() {
        cap[np + j][t] = g.1;
    }
    loop {
        let mut prev = vec![usize::MAX; n];
        prev[s] = s;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            for v in 0..n {
                if cap[u][v] > 0 && prev[v] == usize::MAX {
                    prev[v] = u;
                    queue.push_back(v);
                }
            }
        }
        if prev[t] == usize::MAX {
            break;
        }
        let mut v = t;
        while v != s {
            let u = prev[v];
            cap[u][v] -= 1;
            cap[v][u] += 1;
            v = u;
        }
    }
    loop {
        let mut dist = vec![0i64; n];
        let mut pred = vec![usize::MAX; n];
        let mut last = usize::MAX;
        for _ in 0..n {
            last = usize::MAX;
            for u in 0..n {
                for v in 0..n {
                    if cap[u][v] > 0 && dist[u] + cost[u][v] < dist[v] {
                        dist[v] = dist[u] + cost[u][v];
                        pred[v] = u;
                        last = v;
                    }
                }
            }
        }
        if last == usize::MAX {
            break;
        }
        let mut v = last;
        for _ in 0..n {
            v = pred[v];
        }
        let start = v;
        loop {
            let u = pred[v];
            cap[u][v] -= 1;
            cap[v][u] += 1;
            v = u;
            if v == start {
                break;
            }
        }
    }
    let mut placed = 0;
    let mut total = 0;
    for i in 0..np {
        for j in 0..ng {
            // Reverse capacity on a unit arc = one person sent.
            if cap[np + j][i] > 0 {
                placed += 1;
                total += cost[i][np + j];
            }
        }
    }
    (placed, total)
}

/// A random instance: one ceasing GP with `n` patients around it and
/// `g` receiving GPs with little room.
fn random_case(
    rng: &mut ChaCha8Rng,
    n: usize,
    g: usize,
) -> (Dataset, Vec<LonLat>, Vec<(LonLat, i64)>) {
    let ids: Vec<&'static str> = (0..=g)
        .map(|i| &*Box::leak(format!("G{i:02}").into_boxed_str()))
        .collect();
    let mut gps = vec![gp(ids[0], 9.7, 45.7, 2000, 1000)];
    let mut receiving = Vec::new();
    for &id in &ids[1..] {
        let at = (rng.random_range(9.6..9.8), rng.random_range(45.63..45.77));
        let cap = rng.random_range(10..14);
        let list = rng.random_range(8..=cap);
        gps.push(gp(id, at.0, at.1, cap, list));
        if cap > list {
            receiving.push((LonLat::new(at.0, at.1), (cap - list) as i64));
        }
    }
    let rows: Vec<Row> = (0..n)
        .map(|_| {
            (
                rng.random_range(9.65..9.75),
                rng.random_range(45.66..45.74),
                1.0,
                ids[0],
                "assigned",
                "016024",
            )
        })
        .collect();
    let people = rows.iter().map(|r| LonLat::new(r.0, r.1)).collect();
    (dataset(gps, &rows), people, receiving)
}

#[test]
fn small_random_scenarios_equal_exhaustive_search() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for case in 0..60 {
        let n = rng.random_range(1..7);
        let (ds, people, receiving) = random_case(&mut rng, n, 4);
        let max_d = rng.random_range(2_000.0..12_000.0);
        let q = ScenarioQuery {
            max_distance_m: max_d,
            ..query(&["G00"])
        };
        let got = reassign(&ds, &q, Metric::Geodesic, &Sequential).unwrap();
        assert_eq!(
            score(&got),
            brute_force(&people, &receiving, max_d),
            "case {case}"
        );
        assert!(got.optimality.proven);
        assert_within_capacity(&ds, &got);
    }
}

#[test]
fn pruned_candidates_are_widened_until_the_optimum_is_reached() {
    // Two nearest GPs per patient only: their few places fill up, the
    // optimum uses GPs outside every first candidate list, and the
    // proof has to add them.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut widened = 0;
    for case in 0..25 {
        let (ds, people, receiving) = random_case(&mut rng, 40, 24);
        let tuning = Tuning {
            nearest: 2,
            priced: 0,
        };
        let q = ScenarioQuery {
            max_distance_m: 9_000.0,
            ..query(&["G00"])
        };
        let got = reassign_tuned(&ds, &q, Metric::Geodesic, None, &Sequential, tuning).unwrap();
        let want = cycle_cancelling(&people, &receiving, 9_000.0);
        assert_eq!(score(&got), want, "case {case}");
        assert_within_capacity(&ds, &got);
        if got.optimality.rounds > 1 {
            widened += 1;
            assert!(got.optimality.arcs_added > 0);
        }
        // The default tuning agrees.
        let default = reassign(&ds, &q, Metric::Geodesic, &Sequential).unwrap();
        assert_eq!(score(&default), want, "case {case} (default)");
    }
    assert!(widened >= 20, "only {widened} cases needed widening");
}

fn ids(ds: &Dataset, r: &Reassignment) -> Vec<(usize, String, u32)> {
    r.rows
        .iter()
        .map(|x| {
            let to = if x.to == NONE {
                String::new()
            } else {
                ds.facilities().get(x.to).id.0.clone()
            };
            (x.resident, to, x.people)
        })
        .collect()
}

#[test]
fn a_patient_whose_nearest_gp_is_needed_by_another_goes_to_the_far_one() {
    // On the parallel 45.7: A has 1 place, C has 10. P (row 0) is 39 m
    // from A and 1.2 km from C; Q (row 1) reaches only A (0.9 km; C is
    // 2.1 km, beyond 2 km). Both fit only with Q at A and P at C. With a
    // single candidate each (A), the first solve strands Q; the proof
    // must offer C to P.
    let gps = vec![
        gp("X", 9.70, 45.71, 10, 2),
        gp("A", 9.700, 45.70, 11, 10),
        gp("C", 9.685, 45.70, 20, 10),
    ];
    let rows: Vec<Row> = vec![
        (9.7005, 45.70, 1.0, "X", "assigned", "m"),
        (9.7120, 45.70, 1.0, "X", "assigned", "m"),
    ];
    let ds = dataset(gps, &rows);
    let q = ScenarioQuery {
        max_distance_m: 2_000.0,
        ..query(&["X"])
    };
    let tuning = Tuning {
        nearest: 1,
        priced: 0,
    };
    let got = reassign_tuned(&ds, &q, Metric::Geodesic, None, &Sequential, tuning).unwrap();
    assert_eq!(ids(&ds, &got), vec![(0, "C".into(), 1), (1, "A".into(), 1)]);
    assert!(got.optimality.rounds >= 2);
    let p = LonLat::new(9.7005, 45.70);
    assert_eq!(
        got.rows[0].distance_m,
        geodesic_distance_m(p, LonLat::new(9.685, 45.70))
    );
    // The default candidates reach the same answer.
    let default = reassign(&ds, &q, Metric::Geodesic, &Sequential).unwrap();
    assert_eq!(ids(&ds, &default), ids(&ds, &got));
}

#[test]
fn when_room_is_short_the_nearest_patients_are_placed_and_the_rest_are_orphans() {
    // One GP with 2 places; three patients 100 m, 200 m and 300 m away.
    let gps = vec![gp("X", 9.6, 45.6, 10, 3), gp("A", 9.7, 45.7, 12, 10)];
    let at = |dlat: f64| (9.7, 45.7 + dlat, 1.0, "X", "assigned", "m");
    let rows: Vec<Row> = vec![at(0.0027), at(0.0009), at(0.0018)];
    let ds = dataset(gps, &rows);
    let got = reassign(&ds, &query(&["X"]), Metric::Geodesic, &Sequential).unwrap();
    assert_eq!(
        ids(&ds, &got),
        vec![(0, "".into(), 1), (1, "A".into(), 1), (2, "A".into(), 1)]
    );
    assert!(got.rows[0].distance_m.is_nan());
}

#[test]
fn nobody_is_sent_beyond_the_maximum_distance() {
    let gps = vec![gp("X", 9.6, 45.6, 10, 2), gp("A", 9.7, 45.7, 100, 0)];
    // 1 km and 3 km north of A.
    let rows: Vec<Row> = vec![
        (9.7, 45.709, 1.0, "X", "assigned", "m"),
        (9.7, 45.727, 1.0, "X", "assigned", "m"),
    ];
    let ds = dataset(gps, &rows);
    let q = ScenarioQuery {
        max_distance_m: 2_000.0,
        ..query(&["X"])
    };
    let got = reassign(&ds, &q, Metric::Geodesic, &Sequential).unwrap();
    assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 1), (1, "".into(), 1)]);
    let report = scenario_report(&ds, &got, 0.0);
    assert_eq!((report.patients, report.placed, report.orphans), (2, 1, 1));
}

#[test]
fn a_weighted_point_is_split_across_gps_and_capacity_is_never_exceeded() {
    // 5 people at one point; A (near) has 3 places, B (far) 10.
    let gps = vec![
        gp("X", 9.6, 45.6, 10, 5),
        gp("A", 9.70, 45.70, 13, 10),
        gp("B", 9.72, 45.70, 10, 0),
    ];
    let rows: Vec<Row> = vec![(9.701, 45.70, 5.0, "X", "assigned", "m")];
    let ds = dataset(gps, &rows);
    let got = reassign(&ds, &query(&["X"]), Metric::Geodesic, &Sequential).unwrap();
    assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 3), (0, "B".into(), 2)]);
    let report = scenario_report(&ds, &got, 0.0);
    let a = &report.by_gp[0];
    assert_eq!(
        (a.id.as_str(), a.new_patients, a.list_size),
        ("A", Some(3), Some(13.0))
    );
    let d_a = geodesic_distance_m(LonLat::new(9.701, 45.70), LonLat::new(9.70, 45.70));
    let d_b = geodesic_distance_m(LonLat::new(9.701, 45.70), LonLat::new(9.72, 45.70));
    assert_eq!(
        report.total_distance_m,
        Some(round_mm(3.0 * d_a + 2.0 * d_b))
    );
}

#[test]
fn fractional_weights_unknown_ids_and_non_gps_are_refused() {
    let mut ped = gp("PED", 9.7, 45.7, 10, 0);
    ped.kind = FacilityKind::Pediatrician;
    let mut old = gp("OLD", 9.7, 45.7, 10, 0);
    old.status = FacilityStatus::Ceased;
    let gps = vec![
        gp("X", 9.6, 45.6, 10, 2),
        gp("A", 9.7, 45.7, 100, 0),
        ped,
        old,
    ];
    let rows: Vec<Row> = vec![(9.7, 45.71, 1.5, "X", "assigned", "m")];
    let ds = dataset(gps, &rows);
    assert!(matches!(
        reassign(&ds, &query(&["NOPE"]), Metric::Geodesic, &Sequential),
        Err(Error::UnknownFacility(id)) if id == "NOPE"
    ));
    for bad in ["PED", "OLD"] {
        let err = reassign(&ds, &query(&[bad]), Metric::Geodesic, &Sequential).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter { name, .. } if name == "cease"),
            "{err}"
        );
    }
    let err = reassign(&ds, &query(&["X"]), Metric::Geodesic, &Sequential).unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(ref m) if m.contains("whole number")),
        "{err}"
    );
    assert!(reassign(&ds, &query(&[]), Metric::Geodesic, &Sequential).is_err());
}

#[test]
fn ad_users_stay_and_unlisted_residents_are_placed_on_request() {
    let gps = vec![gp("X", 9.6, 45.6, 10, 1), gp("A", 9.7, 45.7, 100, 0)];
    let rows: Vec<Row> = vec![
        (9.7, 45.71, 1.0, "X", "assigned", "m"),
        (9.7, 45.71, 1.0, "X", "ad_user", "m"),
        (9.7, 45.72, 1.0, "", "no_gp", "m"),
    ];
    let ds = dataset(gps, &rows);
    let got = reassign(&ds, &query(&["X"]), Metric::Geodesic, &Sequential).unwrap();
    assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 1)]);
    let q = ScenarioQuery {
        assign_unlisted: true,
        ..query(&["X"])
    };
    let got = reassign(&ds, &q, Metric::Geodesic, &Sequential).unwrap();
    assert_eq!(ids(&ds, &got), vec![(0, "A".into(), 1), (2, "A".into(), 1)]);
    assert_eq!(got.rows[1].from, NONE);
    let report = scenario_report(&ds, &got, 0.0);
    assert_eq!((report.patients, report.unlisted), (2, 1));
}

#[test]
fn the_request_body_fills_defaults_and_refuses_unknown_keys() {
    let q: ScenarioQuery = serde_json::from_str(r#"{"cease": ["GP0012", "GP0044"]}"#).unwrap();
    assert_eq!(q.cease, ["GP0012", "GP0044"]);
    assert_eq!(q.max_distance_m, 30_000.0);
    assert_eq!(q.min_group_size, 10.0);
    assert!(!q.assign_unlisted);
    let q: ScenarioQuery =
        serde_json::from_str(r#"{"cease": ["A"], "max_distance_m": 5000}"#).unwrap();
    assert_eq!(q.max_distance_m, 5_000.0);
    assert!(serde_json::from_str::<ScenarioQuery>(r#"{"ceased": ["A"]}"#).is_err());
}

#[test]
fn small_groups_are_suppressed_in_the_report() {
    let gps = vec![gp("X", 9.6, 45.6, 10, 3), gp("A", 9.7, 45.7, 100, 0)];
    let rows: Vec<Row> = (0..3)
        .map(|i| (9.7, 45.71 + i as f64 * 0.001, 1.0, "X", "assigned", "m"))
        .collect();
    let ds = dataset(gps, &rows);
    let got = reassign(&ds, &query(&["X"]), Metric::Geodesic, &Sequential).unwrap();
    let report = scenario_report(&ds, &got, 10.0);
    assert_eq!(
        report.new_distance,
        Some(Figures::Suppressed { suppressed: true })
    );
    assert_eq!(report.total_distance_m, None);
    assert!(matches!(
        report.by_municipality[0],
        MunicipalityChange::Suppressed { .. }
    ));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["new_distance"]["suppressed"], true);
    let open = scenario_report(&ds, &got, 3.0);
    let Some(Figures::Stats(s)) = open.new_distance else {
        panic!("not suppressed at 3 people")
    };
    let want: Vec<f64> = rows
        .iter()
        .map(|r| geodesic_distance_m(LonLat::new(r.0, r.1), LonLat::new(9.7, 45.7)))
        .collect();
    assert_eq!(s.median_m, round_mm(want[1]));
    assert_eq!(s.count, 3.0);
}

#[test]
fn the_cessation_cache_changes_the_work_not_the_answer() {
    // 40 GPs with little room and 25 patients each; many draws share GPs,
    // and one ceases a GP with its 7 nearest neighbours, so that its
    // patients' cached lists run short and are measured afresh.
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let ids: Vec<&'static str> = (0..40)
        .map(|i| &*Box::leak(format!("G{i:02}").into_boxed_str()))
        .collect();
    let at: Vec<(f64, f64)> = (0..40)
        .map(|_| (rng.random_range(9.6..9.8), rng.random_range(45.63..45.77)))
        .collect();
    let gps: Vec<Gp> = (0..40)
        .map(|i| gp(ids[i], at[i].0, at[i].1, 40, rng.random_range(25..38)))
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    for i in 0..40 {
        for _ in 0..25 {
            rows.push((
                at[i].0 + rng.random_range(-0.01..0.01),
                at[i].1 + rng.random_range(-0.01..0.01),
                1.0,
                ids[i],
                "assigned",
                "016024",
            ));
        }
    }
    let ds = dataset(gps, &rows);
    let cache = CessationCache::new(&ds, 9_000.0);
    let mut draws: Vec<Vec<&str>> = (0..12)
        .map(|_| {
            let mut d: Vec<&str> = Vec::new();
            while d.len() < 6 {
                let g = ids[rng.random_range(0..40)];
                if !d.contains(&g) {
                    d.push(g);
                }
            }
            d
        })
        .collect();
    let centre = LonLat::new(at[0].0, at[0].1);
    let mut by_distance: Vec<usize> = (0..40).collect();
    by_distance.sort_by(|&a, &b| {
        let d = |k: usize| geodesic_distance_m(centre, LonLat::new(at[k].0, at[k].1));
        d(a).total_cmp(&d(b))
    });
    draws.push(by_distance[..8].iter().map(|&k| ids[k]).collect());
    let lines = |r: &Reassignment| -> Vec<(usize, FacilityIdx, u32, u64, u64)> {
        r.rows
            .iter()
            .map(|x| {
                (
                    x.resident,
                    x.to,
                    x.people,
                    x.distance_m.to_bits(),
                    x.before_m.to_bits(),
                )
            })
            .collect()
    };
    let mut placed_far = 0;
    for (k, d) in draws.iter().enumerate() {
        let q = ScenarioQuery {
            max_distance_m: 9_000.0,
            ..query(d)
        };
        let plain = reassign(&ds, &q, Metric::Geodesic, &Sequential).unwrap();
        let cached = reassign_cached(&ds, &q, Metric::Geodesic, &cache, &Sequential).unwrap();
        assert_eq!(lines(&cached), lines(&plain), "draw {k}");
        assert_eq!(cached.optimality, plain.optimality, "draw {k}");
        assert!(cached.optimality.proven);
        assert_within_capacity(&ds, &cached);
        placed_far += plain.rows.iter().filter(|x| x.to != NONE).count();
        // A cache for another limit is not used, and changes nothing.
        let other = CessationCache::new(&ds, 5_000.0);
        let ignored = reassign_cached(&ds, &q, Metric::Geodesic, &other, &Sequential).unwrap();
        assert_eq!(lines(&ignored), lines(&plain), "draw {k} (other limit)");
    }
    assert!(placed_far > 0);
}
