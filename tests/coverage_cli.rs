//! `bacino coverage`: the optimum equals an independent min-cost maximum
//! flow written out here (successive shortest paths with Bellman–Ford on
//! GeographicLib distances), AccessMod's procedure equals a plain
//! re-implementation for each order, the optimum is never below any order,
//! and bad arguments are named.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

mod common;
use common::{bacino_fails, bacino_json, fixture_dir, karney_m, TempDataset};

/// A small random instance: residents with weights 1–4 and GPs with small
/// capacities around Bergamo, so that room is short and reach matters.
struct Instance {
    residents: Vec<(f64, f64, u64)>,
    gps: Vec<(f64, f64, u64, u64)>, // lon, lat, capacity, list_size
    data: TempDataset,
}

fn instance(seed: u64, n_res: usize, n_gp: usize, max_cap: u64) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pt = |rng: &mut ChaCha8Rng| {
        (
            9.60 + rng.random::<f64>() * 0.12,
            45.65 + rng.random::<f64>() * 0.09,
        )
    };
    let residents: Vec<(f64, f64, u64)> = (0..n_res)
        .map(|_| {
            let (x, y) = pt(&mut rng);
            (x, y, rng.random_range(1..=4))
        })
        .collect();
    let gps: Vec<(f64, f64, u64, u64)> = (0..n_gp)
        .map(|_| {
            let (x, y) = pt(&mut rng);
            let cap = rng.random_range(3..=max_cap);
            (x, y, cap, rng.random_range(0..=cap))
        })
        .collect();
    // Two columns the schema does not read, for orders by a column: a
    // number with ties, and a month as text.
    let mut f = String::from("id,kind,lon,lat,capacity,list_size,priority,opened\n");
    for (j, g) in gps.iter().enumerate() {
        let (priority, opened) = extra_columns(j);
        f += &format!(
            "G{j:02},gp,{:.7},{:.7},{},{},{priority},{opened}\n",
            g.0, g.1, g.2, g.3
        );
    }
    let mut r = String::from("id,lon,lat,weight,municipality\n");
    for (i, p) in residents.iter().enumerate() {
        let m = if p.0 < 9.66 { "016024" } else { "016091" };
        r += &format!("R{i:04},{:.7},{:.7},{},{m}\n", p.0, p.1, p.2);
    }
    // The coordinates the dataset holds are the rounded ones.
    let round = |x: f64| (x * 1e7).round() / 1e7;
    let residents = residents
        .into_iter()
        .map(|p| (round(p.0), round(p.1), p.2))
        .collect();
    let gps = gps
        .into_iter()
        .map(|g| (round(g.0), round(g.1), g.2, g.3))
        .collect();
    Instance {
        residents,
        gps,
        data: TempDataset::csv(&f, &r),
    }
}

/// Costs of the pairs within `max_m`, by GeographicLib.
/// GP `j`'s `priority` (a number, 1 to 5) and `opened` (a month, `YYYY-MM`).
fn extra_columns(j: usize) -> (u64, String) {
    (
        1 + (j as u64 * 7) % 5,
        format!("20{:02}-{:02}", 10 + (j * 3) % 13, 1 + (j * 5) % 12),
    )
}

fn costs(inst: &Instance, max_m: f64) -> Vec<Vec<Option<f64>>> {
    inst.residents
        .iter()
        .map(|r| {
            inst.gps
                .iter()
                .map(|g| {
                    let d = karney_m(r.0, r.1, g.0, g.1);
                    (d <= max_m).then_some(d)
                })
                .collect()
        })
        .collect()
}

/// Min-cost maximum flow by successive shortest paths (Bellman–Ford on
/// the residual graph, one unit at a time): (people placed, total cost).
fn min_cost_max_flow(cost: &[Vec<Option<f64>>], people: &[u64], caps: &[u64]) -> (u64, f64) {
    let (nr, ng) = (people.len(), caps.len());
    let (src, sink, n) = (nr + ng, nr + ng + 1, nr + ng + 2);
    // Arc lists: (to, capacity, cost, reverse index).
    let mut g: Vec<Vec<(usize, i64, f64, usize)>> = vec![Vec::new(); n];
    let add = |g: &mut Vec<Vec<(usize, i64, f64, usize)>>, a: usize, b: usize, cap: i64, c: f64| {
        let (ra, rb) = (g[b].len(), g[a].len());
        g[a].push((b, cap, c, ra));
        g[b].push((a, 0, -c, rb));
    };
    for (i, &p) in people.iter().enumerate() {
        add(&mut g, src, i, p as i64, 0.0);
        for (j, c) in cost[i].iter().enumerate() {
            if let Some(c) = c {
                add(&mut g, i, nr + j, i64::MAX / 4, *c);
            }
        }
    }
    for (j, &c) in caps.iter().enumerate() {
        add(&mut g, nr + j, sink, c as i64, 0.0);
    }
    let (mut flow, mut total) = (0u64, 0.0);
    loop {
        let mut dist = vec![f64::INFINITY; n];
        let mut pred: Vec<Option<(usize, usize)>> = vec![None; n];
        dist[src] = 0.0;
        for _ in 0..n {
            let mut changed = false;
            for u in 0..n {
                if dist[u].is_infinite() {
                    continue;
                }
                for (k, &(v, cap, c, _)) in g[u].iter().enumerate() {
                    if cap > 0 && dist[u] + c < dist[v] - 1e-9 {
                        dist[v] = dist[u] + c;
                        pred[v] = Some((u, k));
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        if dist[sink].is_infinite() {
            return (flow, total);
        }
        let mut v = sink;
        while let Some((u, k)) = pred[v] {
            g[u][k].1 -= 1;
            let r = g[u][k].3;
            g[v][r].1 += 1;
            v = u;
        }
        flow += 1;
        total += dist[sink];
    }
}

/// AccessMod's procedure written out: facilities in `order`, each taking
/// the uncovered people in reach nearest first (ties by row).
fn greedy(cost: &[Vec<Option<f64>>], people: &[u64], caps: &[u64], order: &[usize]) -> (u64, f64) {
    let mut left = people.to_vec();
    let (mut covered, mut total) = (0, 0.0);
    for &j in order {
        let mut near: Vec<(f64, usize)> = (0..people.len())
            .filter_map(|i| cost[i][j].map(|c| (c, i)))
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut room = caps[j];
        for (c, i) in near {
            let t = left[i].min(room);
            left[i] -= t;
            room -= t;
            covered += t;
            total += t as f64 * c;
        }
    }
    (covered, total)
}

fn run(inst: &Instance, max_m: f64, extra: &[&str]) -> Value {
    let dir = inst.data.path().to_str().unwrap().to_owned();
    let max = max_m.to_string();
    let mut args = vec!["coverage", &dir, "--kind", "gp", "--max-cost", &max];
    args.extend_from_slice(extra);
    bacino_json(&args)
}

#[test]
fn the_optimum_equals_an_independent_min_cost_max_flow() {
    for (seed, max_m) in [(1u64, 3000.0), (2, 4500.0), (3, 2000.0)] {
        let inst = instance(seed, 70, 7, 25);
        let cost = costs(&inst, max_m);
        let people: Vec<u64> = inst.residents.iter().map(|r| r.2).collect();
        for (supply, caps) in [
            (
                "capacity",
                inst.gps.iter().map(|g| g.2).collect::<Vec<u64>>(),
            ),
            ("spare", inst.gps.iter().map(|g| g.2 - g.3).collect()),
        ] {
            let (flow, total) = min_cost_max_flow(&cost, &people, &caps);
            let doc = run(&inst, max_m, &["--supply", supply]);
            assert_eq!(doc["mode"], "optimal");
            assert_eq!(
                doc["covered"].as_u64().unwrap(),
                flow,
                "seed {seed} {supply}"
            );
            assert_eq!(doc["optimality"]["proven"], true);
            // bacino minimises costs rounded to the millimetre: within a
            // millimetre a person of the exact optimum.
            let got = doc["total_cost"].as_f64().unwrap();
            assert!(
                (got - total).abs() <= 1e-3 * flow as f64 + 1e-6,
                "seed {seed} {supply}: total cost {got} vs {total}"
            );
            let demand: u64 = people.iter().sum();
            assert_eq!(doc["demand_total"].as_u64().unwrap(), demand);
            assert_eq!(doc["uncovered"].as_u64().unwrap(), demand - flow);
            assert_eq!(
                doc["supply_total"].as_u64().unwrap(),
                caps.iter().sum::<u64>()
            );
            let out: u64 = (0..people.len())
                .filter(|&i| cost[i].iter().all(Option::is_none))
                .map(|i| people[i])
                .sum();
            assert_eq!(doc["out_of_reach"].as_u64().unwrap(), out);
            // Facilities' takes add up (none is small enough to hide at
            // min_group_size 0).
            let doc0 = run(&inst, max_m, &["--supply", supply, "--min-group-size", "0"]);
            let taken: u64 = doc0["facilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["taken"].as_u64().unwrap())
                .sum();
            assert_eq!(taken, flow);
        }
    }
}

#[test]
fn accessmod_follows_its_order_and_never_beats_the_optimum() {
    let max_m = 3500.0;
    let inst = instance(7, 80, 8, 50);
    let cost = costs(&inst, max_m);
    let people: Vec<u64> = inst.residents.iter().map(|r| r.2).collect();
    let caps: Vec<u64> = inst.gps.iter().map(|g| g.2).collect();
    let (best, _) = min_cost_max_flow(&cost, &people, &caps);
    let optimum = run(&inst, max_m, &[]);
    assert_eq!(optimum["covered"].as_u64().unwrap(), best);
    let pop_in_reach: Vec<u64> = (0..caps.len())
        .map(|j| {
            (0..people.len())
                .filter(|&i| cost[i][j].is_some())
                .map(|i| people[i])
                .sum()
        })
        .collect();
    let ids: Vec<usize> = (0..caps.len()).collect();
    let by = |key: &dyn Fn(usize) -> u64, desc: bool| {
        let mut o = ids.clone();
        o.sort_by_key(|&j| key(j));
        if desc {
            // Stable on ties: id order within equal keys.
            o.sort_by_key(|&j| std::cmp::Reverse(key(j)));
        }
        o
    };
    let lists = |j: usize| inst.gps[j].3;
    let spare = |j: usize| inst.gps[j].2 - inst.gps[j].3;
    let orders: Vec<(&str, Vec<usize>)> = vec![
        ("population", by(&|j| pop_in_reach[j], true)),
        ("population:asc", by(&|j| pop_in_reach[j], false)),
        ("capacity", by(&|j| caps[j], true)),
        ("capacity:asc", by(&|j| caps[j], false)),
        ("spare:desc", by(&spare, true)),
        ("list_size:asc", by(&lists, false)),
        ("id", ids.clone()),
        ("id:desc", ids.iter().rev().copied().collect()),
        // Other columns of the facilities file: a number, and text (a
        // month, whose text order is its time order).
        ("column:priority", by(&|j| extra_columns(j).0, true)),
        ("column:priority:asc", by(&|j| extra_columns(j).0, false)),
        (
            "column:opened:asc",
            by(
                &|j| {
                    let m = extra_columns(j).1;
                    m[..4].parse::<u64>().unwrap() * 100 + m[5..].parse::<u64>().unwrap()
                },
                false,
            ),
        ),
    ];
    let mut worse = 0;
    for (name, order) in &orders {
        let doc = run(
            &inst,
            max_m,
            &["--accessmod", "--order", name, "--min-group-size", "0"],
        );
        let (covered, total) = greedy(&cost, &people, &caps, order);
        assert_eq!(doc["mode"], "accessmod");
        assert_eq!(doc["covered"].as_u64().unwrap(), covered, "order {name}");
        let got = doc["total_cost"].as_f64().unwrap();
        assert!(
            (got - total).abs() <= 1e-6 * total.max(1.0),
            "order {name}: {got} vs {total}"
        );
        assert!(
            covered <= best,
            "order {name} covers {covered} > optimum {best}"
        );
        worse += usize::from(covered < best);
        // The ranks are the order.
        for (rank, &j) in order.iter().enumerate() {
            let f = doc["facilities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == format!("G{j:02}"))
                .unwrap();
            assert_eq!(f["rank"].as_u64().unwrap(), rank as u64 + 1, "order {name}");
        }
    }
    // The instance is tight enough for the order to matter.
    assert!(
        worse > 0,
        "every order reached the optimum: the test says nothing"
    );
    for seed in 0..6 {
        let o = format!("random:{seed}");
        let doc = run(&inst, max_m, &["--accessmod", "--order", &o]);
        assert!(doc["covered"].as_u64().unwrap() <= best, "order {o}");
        assert_eq!(doc["order"], o);
    }
}

#[test]
fn groups_add_up_and_small_ones_are_suppressed() {
    let dir = fixture_dir();
    let dir = dir.to_str().unwrap();
    let all = bacino_json(&[
        "coverage",
        dir,
        "--kind",
        "gp",
        "--max-cost",
        "8000",
        "--supply",
        "spare",
    ]);
    let by = bacino_json(&[
        "coverage",
        dir,
        "--kind",
        "gp",
        "--max-cost",
        "8000",
        "--supply",
        "spare",
        "--group-by",
        "municipality",
        "--min-group-size",
        "0",
    ]);
    let (mut pop, mut cov) = (0, 0);
    for g in by["groups"].as_array().unwrap() {
        pop += g["population"].as_u64().unwrap();
        cov += g["covered"].as_u64().unwrap();
    }
    assert_eq!(pop, all["demand_total"].as_u64().unwrap());
    assert_eq!(cov, all["covered"].as_u64().unwrap());
    let strict = bacino_json(&[
        "coverage",
        dir,
        "--kind",
        "gp",
        "--max-cost",
        "8000",
        "--supply",
        "spare",
        "--group-by",
        "municipality",
        "--min-group-size",
        "500",
    ]);
    let mut suppressed = 0;
    for g in strict["groups"].as_array().unwrap() {
        if g.get("suppressed").is_some() {
            suppressed += 1;
            assert!(g.get("covered").is_none() && g.get("population").is_none());
        } else {
            assert!(g["population"].as_u64().unwrap() >= 500);
        }
    }
    assert!(suppressed > 0);
    for f in strict["facilities"].as_array().unwrap() {
        if let Some(t) = f["taken"].as_u64() {
            assert!(t == 0 || t >= 500);
        }
    }
    let text = serde_json::to_string(&strict).unwrap();
    assert!(!text.contains("R000"), "a resident id leaked");
}

#[test]
fn bad_arguments_are_named() {
    let dir = fixture_dir();
    let dir = dir.to_str().unwrap();
    let base = ["coverage", dir, "--kind", "gp"];
    for (extra, needle) in [
        (&["--max-cost", "0"][..], "max_cost"),
        (&["--max-cost", "-5"][..], "max_cost"),
        (&["--max-cost", "abc"][..], "max_cost"),
        (&["--max-cost", "1000", "--supply", "one"][..], "supply"),
        (&["--max-cost", "1000", "--supply", "beds"][..], "supply"),
        (
            &["--max-cost", "1000", "--accessmod", "--order", "beds"][..],
            "order",
        ),
        (
            &[
                "--max-cost",
                "1000",
                "--accessmod",
                "--order",
                "capacity:up",
            ][..],
            "order",
        ),
        (
            &["--max-cost", "1000", "--accessmod", "--order", "random:x"][..],
            "order",
        ),
        (
            &["--max-cost", "1000", "--accessmod", "--order", "column:"][..],
            "order",
        ),
        // The bundled facilities have no column the schema does not read.
        (
            &[
                "--max-cost",
                "1000",
                "--accessmod",
                "--order",
                "column:priority",
            ][..],
            "no column `priority`",
        ),
        (&["--max-cost", "1000", "--metric", "bus"][..], "metric"),
        (
            &["--max-cost", "1000", "--group-by", "facility"][..],
            "group_by",
        ),
        (&["--max-cost", "1000", "--format", "xml"][..], "format"),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let err = bacino_fails(&args);
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    // An order without --accessmod is refused by the parser.
    let err = bacino_fails(&[
        "coverage",
        dir,
        "--kind",
        "gp",
        "--max-cost",
        "1000",
        "--order",
        "id",
    ]);
    assert!(err.contains("accessmod"), "{err}");
    // Fractional weights cannot be counted as people.
    let t = TempDataset::csv(
        "id,kind,lon,lat,capacity\nG1,gp,9.6,45.6,10\n",
        "id,lon,lat,weight\nR1,9.6,45.6,1.5\n",
    );
    let err = bacino_fails(&[
        "coverage",
        t.path().to_str().unwrap(),
        "--kind",
        "gp",
        "--max-cost",
        "1000",
    ]);
    assert!(err.contains("whole people"), "{err}");
    // An order by a column some facility leaves empty names it.
    let t = TempDataset::csv(
        "id,kind,lon,lat,capacity,priority\nG1,gp,9.6,45.6,10,2\nG2,gp,9.61,45.6,10,\n",
        "id,lon,lat\nR1,9.6,45.6\n",
    );
    let err = bacino_fails(&[
        "coverage",
        t.path().to_str().unwrap(),
        "--kind",
        "gp",
        "--max-cost",
        "1000",
        "--accessmod",
        "--order",
        "column:priority",
    ]);
    assert!(
        err.contains("order") && err.contains("`G2` has no value in column `priority`"),
        "{err}"
    );
}

/// `--out`: the areas with the coverage of their residents.
#[test]
fn the_area_layer_carries_the_groups_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.geojson");
    let fixture = fixture_dir();
    let report = bacino_json(&[
        "coverage",
        fixture.to_str().unwrap(),
        "--kind",
        "gp",
        "--max-cost",
        "6000",
        "--supply",
        "spare",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(report["group_by"], "area");
    let fc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let features = fc["features"].as_array().unwrap();
    let mut covered = 0;
    for g in report["groups"].as_array().unwrap() {
        let p = &features
            .iter()
            .find(|f| f["properties"]["area_id"] == g["key"])
            .unwrap()["properties"];
        if g["suppressed"] == true {
            assert!(p.get("covered").is_none());
        } else {
            for k in [
                "population",
                "covered",
                "coverage",
                "out_of_reach",
                "mean_cost",
            ] {
                assert_eq!(p[k], g[k], "{k}");
            }
            covered += p["covered"].as_u64().unwrap();
        }
    }
    assert!(covered > 0 && covered <= report["covered"].as_u64().unwrap());
    // No partial file is left when writing fails.
    let bad = dir.path().join("missing/c.geojson");
    let err = bacino_fails(&[
        "coverage",
        fixture.to_str().unwrap(),
        "--kind",
        "gp",
        "--max-cost",
        "6000",
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(err.contains("cannot write"), "{err}");
}
