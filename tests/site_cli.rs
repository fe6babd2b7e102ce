//! `bacino site`: every model equals brute force over all subsets of the
//! candidates, with GeographicLib distances computed here; the plan it
//! prints opens the sites in `bacino scenario`; bad input is named.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

mod common;
use common::{bacino_fails, bacino_json, fixture_dir, karney_m, TempDataset};

struct Case {
    residents: Vec<(f64, f64, f64)>,
    candidates: Vec<(f64, f64)>,
    cdc: (f64, f64),
    data: TempDataset,
}

impl Case {
    fn candidates_csv(&self) -> String {
        self.data
            .path()
            .join("candidates.csv")
            .display()
            .to_string()
    }
    fn dir(&self) -> String {
        self.data.path().display().to_string()
    }
    fn cost(&self, r: usize, c: usize) -> f64 {
        let (a, b) = (self.residents[r], self.candidates[c]);
        karney_m(a.0, a.1, b.0, b.1)
    }
    fn to_cdc(&self, r: usize) -> f64 {
        let a = self.residents[r];
        karney_m(a.0, a.1, self.cdc.0, self.cdc.1)
    }
}

fn case(seed: u64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pt = || {
        (
            9.55 + rng.random::<f64>() * 0.2,
            45.62 + rng.random::<f64>() * 0.14,
        )
    };
    let residents: Vec<(f64, f64, f64)> = (0..45)
        .map(|_| {
            let (x, y) = pt();
            (x, y, 0.0)
        })
        .collect();
    let candidates: Vec<(f64, f64)> = (0..9).map(|_| pt()).collect();
    let cdc = pt();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
    let residents: Vec<(f64, f64, f64)> = residents
        .into_iter()
        .map(|(x, y, _)| (x, y, f64::from(rng.random_range(1..=6u32))))
        .collect();
    let mut r = String::from("id,lon,lat,weight,group\n");
    for (i, (x, y, w)) in residents.iter().enumerate() {
        r += &format!(
            "R{i},{x},{y},{w},{}\n",
            if i % 3 == 0 { "no_gp" } else { "assigned" }
        );
    }
    let f = format!(
        "id,kind,lon,lat,capacity\nGP1,gp,9.6,45.7,100\nC1,cdc,{},{},\n",
        cdc.0, cdc.1
    );
    let mut c = String::from("id,lon,lat\n");
    for (j, (x, y)) in candidates.iter().enumerate() {
        c += &format!("S{j},{x},{y}\n");
    }
    let data = TempDataset::new(
        "name = \"t\"\n[facilities]\npath = \"facilities.csv\"\n[residents]\npath = \"residents.csv\"\n",
        &[("facilities.csv", &f), ("residents.csv", &r), ("candidates.csv", &c)],
    );
    Case {
        residents,
        candidates,
        cdc,
        data,
    }
}

/// Every set of `k` of `m` candidates.
fn subsets(m: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << m)
        .filter(|s| s.count_ones() as usize == k)
        .map(|s| (0..m).filter(|j| s >> j & 1 == 1).collect())
        .collect()
}

fn selected(doc: &Value) -> Vec<String> {
    doc["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn names(s: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = s.iter().map(|j| format!("S{j}")).collect();
    v.sort();
    v
}

#[test]
fn every_model_equals_brute_force_over_the_candidate_sets() {
    for seed in 0..4u64 {
        let c = case(seed);
        let m = c.candidates.len();
        let n = c.residents.len();
        let w = |r: usize| c.residents[r].2;
        let run = |extra: &[&str]| {
            let (dir, cand) = (c.dir(), c.candidates_csv());
            let mut args = vec![
                "site",
                dir.as_str(),
                "--candidates",
                cand.as_str(),
                "--min-group-size",
                "0",
            ];
            args.extend_from_slice(extra);
            bacino_json(&args)
        };
        let nearest = |s: &[usize], r: usize| {
            s.iter()
                .map(|&j| c.cost(r, j))
                .fold(f64::INFINITY, f64::min)
        };
        for p in [1usize, 2, 3] {
            // p-median.
            let best = subsets(m, p)
                .into_iter()
                .map(|s| ((0..n).map(|r| w(r) * nearest(&s, r)).sum::<f64>(), s))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            let doc = run(&["--model", "pmedian", "--p", &p.to_string()]);
            let obj = doc["objective"].as_f64().unwrap();
            assert!(
                (obj - best.0).abs() <= 1e-9 * best.0,
                "seed {seed} p {p}: {obj} vs {}",
                best.0
            );
            assert_eq!(doc["proven"], true);
            assert_eq!(selected(&doc), names(&best.1), "seed {seed} p {p}");
            assert_eq!(doc["instance"]["truncated"], false);
            // The same on truncated rows (each resident's nearer sites).
            let doc = run(&[
                "--model",
                "pmedian",
                "--p",
                &p.to_string(),
                "--max-pairs",
                "1",
            ]);
            assert_eq!(doc["instance"]["truncated"], true, "seed {seed} p {p}");
            assert!(doc["instance"]["pairs"].as_u64().unwrap() < (n * m) as u64);
            let obj = doc["objective"].as_f64().unwrap();
            assert!(
                (obj - best.0).abs() <= 1e-9 * best.0,
                "seed {seed} p {p} truncated: {obj} vs {}",
                best.0
            );
            assert_eq!(doc["proven"], true);
            assert_eq!(
                selected(&doc),
                names(&best.1),
                "seed {seed} p {p} truncated"
            );
            // p-median with the CdC kept open.
            let best = subsets(m, p)
                .into_iter()
                .map(|s| {
                    (0..n)
                        .map(|r| w(r) * nearest(&s, r).min(c.to_cdc(r)))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min);
            let doc = run(&[
                "--model",
                "pmedian",
                "--p",
                &p.to_string(),
                "--existing",
                "kind:cdc",
            ]);
            let obj = doc["objective"].as_f64().unwrap();
            assert!(
                (obj - best).abs() <= 1e-9 * best,
                "seed {seed} p {p} existing: {obj} vs {best}"
            );
            assert_eq!(doc["existing"], 1);
            // p-center.
            let best = subsets(m, p)
                .into_iter()
                .map(|s| (0..n).map(|r| nearest(&s, r)).fold(0.0, f64::max))
                .fold(f64::INFINITY, f64::min);
            let doc = run(&["--model", "pcenter", "--p", &p.to_string()]);
            let obj = doc["objective"].as_f64().unwrap();
            assert!(
                (obj - best).abs() <= 1e-6,
                "seed {seed} p {p} pcenter: {obj} vs {best}"
            );
            assert_eq!(doc["proven"], true);
            // MCLP at 4 km, only the `no_gp` residents as demand.
            let r_m = 4000.0;
            let best = subsets(m, p)
                .into_iter()
                .map(|s| {
                    (0..n)
                        .filter(|r| r % 3 == 0 && nearest(&s, *r) <= r_m)
                        .map(w)
                        .sum::<f64>()
                })
                .fold(0.0, f64::max);
            let doc = run(&[
                "--model",
                "mclp",
                "--p",
                &p.to_string(),
                "--service-distance",
                "4000",
                "--demand-group",
                "no_gp",
            ]);
            assert_eq!(
                doc["objective"].as_f64().unwrap(),
                best,
                "seed {seed} p {p} mclp"
            );
            assert_eq!(doc["covered"].as_f64().unwrap(), best);
            assert_eq!(
                doc["demand"]["people"].as_f64().unwrap(),
                (0..n).filter(|r| r % 3 == 0).map(w).sum::<f64>()
            );
        }
        // LSCP at 9 km: the fewest sites covering everyone.
        let r_m = 9000.0;
        let least = (1..=m).find(|&k| {
            subsets(m, k)
                .iter()
                .any(|s| (0..n).all(|r| nearest(s, r) <= r_m))
        });
        match least {
            Some(k) => {
                let doc = run(&["--model", "lscp", "--service-distance", "9000"]);
                assert_eq!(
                    doc["objective"].as_f64().unwrap(),
                    k as f64,
                    "seed {seed} lscp"
                );
                assert_eq!(selected(&doc).len(), k);
                assert_eq!(doc["covered"].as_f64().unwrap(), (0..n).map(w).sum::<f64>());
                // LSCP-B: k sites covering everyone, the most people twice.
                let twice = |s: &[usize]| {
                    (0..n)
                        .filter(|&r| s.iter().filter(|&&j| c.cost(r, j) <= r_m).count() >= 2)
                        .map(w)
                        .sum::<f64>()
                };
                let best = subsets(m, k)
                    .iter()
                    .filter(|s| (0..n).all(|r| nearest(s, r) <= r_m))
                    .map(|s| twice(s))
                    .fold(0.0, f64::max);
                let doc = run(&["--model", "lscpb", "--service-distance", "9000"]);
                assert_eq!(
                    doc["objective"].as_f64().unwrap(),
                    best,
                    "seed {seed} lscpb"
                );
                assert_eq!(doc["proven"], true);
                assert_eq!(doc["p"], k);
                assert_eq!(doc["covered_twice"].as_f64().unwrap(), best);
                assert_eq!(doc["covered"].as_f64().unwrap(), (0..n).map(w).sum::<f64>());
            }
            None => {
                let err = bacino_fails(&[
                    "site",
                    &c.dir(),
                    "--candidates",
                    &c.candidates_csv(),
                    "--model",
                    "lscp",
                    "--service-distance",
                    "9000",
                ]);
                assert!(err.contains("infeasible"), "{err}");
            }
        }
    }
}

#[test]
fn the_printed_plan_opens_the_chosen_sites_in_a_scenario() {
    let c = case(7);
    let doc = bacino_json(&[
        "site",
        &c.dir(),
        "--candidates",
        &c.candidates_csv(),
        "--model",
        "pmedian",
        "--p",
        "2",
        "--min-group-size",
        "0",
    ]);
    let plan_path = c.data.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string(&doc["plan"]).unwrap()).unwrap();
    let scen = bacino_json(&[
        "scenario",
        &c.dir(),
        "--plan",
        plan_path.to_str().unwrap(),
        "--assign-unlisted",
        "--min-group-size",
        "0",
    ]);
    assert_eq!(scen["opened"], doc["selected"]);
    // The exported instance: every resident × candidate pair, the cost by
    // GeographicLib.
    let costs = c.data.path().join("costs.csv");
    bacino_json(&[
        "site",
        &c.dir(),
        "--candidates",
        &c.candidates_csv(),
        "--model",
        "pmedian",
        "--p",
        "2",
        "--export-costs",
        costs.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&costs).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "demand,weight,site,existing,cost");
    assert_eq!(lines.len() - 1, c.residents.len() * c.candidates.len());
    for l in &lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        let (r, j): (usize, usize) = (f[0][1..].parse().unwrap(), f[2][1..].parse().unwrap());
        assert!(
            (f[4].parse::<f64>().unwrap() - c.cost(r, j)).abs() < 1e-6,
            "{l}"
        );
    }
    // The GeoJSON of the sites.
    let out = c.data.path().join("sites.geojson");
    bacino_json(&[
        "site",
        &c.dir(),
        "--candidates",
        &c.candidates_csv(),
        "--model",
        "pmedian",
        "--p",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(g["features"].as_array().unwrap().len(), 2);
    assert_eq!(g["features"][0]["geometry"]["type"], "Point");
}

#[test]
fn residents_at_one_point_are_one_demand_point() {
    // Every resident written twice at its point: the same sites, twice the
    // objective, as many demand points as before.
    let c = case(3);
    let path = c.data.path().join("residents.csv");
    let body = std::fs::read_to_string(&path).unwrap();
    let mut twice = String::from("id,lon,lat,weight,group\n");
    for line in body.lines().skip(1) {
        twice += &format!("{line}\n");
        twice += &format!("{}\n", line.replacen(',', "b,", 1));
    }
    let run = || {
        bacino_json(&[
            "site",
            &c.dir(),
            "--candidates",
            &c.candidates_csv(),
            "--model",
            "pmedian",
            "--p",
            "2",
            "--min-group-size",
            "0",
        ])
    };
    let once = run();
    std::fs::write(&path, twice).unwrap();
    let doubled = run();
    assert_eq!(once["demand"]["points"], c.residents.len());
    assert_eq!(doubled["demand"]["points"], c.residents.len());
    let people: f64 = c.residents.iter().map(|r| r.2).sum();
    assert_eq!(doubled["demand"]["people"].as_f64().unwrap(), 2.0 * people);
    let (a, b) = (
        once["objective"].as_f64().unwrap(),
        doubled["objective"].as_f64().unwrap(),
    );
    assert!((b - 2.0 * a).abs() <= 1e-9 * b, "{b} vs 2 × {a}");
    assert_eq!(selected(&once), selected(&doubled));
}

#[test]
fn truncated_rows_give_the_full_rows_optimum_on_the_bundled_dataset() {
    // The residents without a GP, each at its point, and the 597 GPs as
    // candidates: solved on every pair, and on each resident's nearer
    // sites only (forced by --max-pairs), both to a proof.
    let dir = fixture_dir().display().to_string();
    let run = |max_pairs: &str| {
        bacino_json(&[
            "site",
            &dir,
            "--model",
            "pmedian",
            "--p",
            "5",
            "--candidates",
            "kind:gp",
            "--demand-group",
            "no_gp",
            "--max-pairs",
            max_pairs,
        ])
    };
    let full = run("100000000");
    let cut = run("1");
    assert_eq!(full["instance"]["truncated"], false);
    assert_eq!(cut["instance"]["truncated"], true);
    let (pf, pc) = (
        full["instance"]["pairs"].as_u64().unwrap(),
        cut["instance"]["pairs"].as_u64().unwrap(),
    );
    assert_eq!(
        pf,
        full["candidates"].as_u64().unwrap() * full["demand"]["points"].as_u64().unwrap()
    );
    assert!(pc < pf / 2, "{pc} of {pf} pairs");
    assert_eq!(full["proven"], true);
    assert_eq!(cut["proven"], true);
    let (a, b) = (
        full["objective"].as_f64().unwrap(),
        cut["objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-9 * a, "{a} vs {b}");
    assert_eq!(selected(&full), selected(&cut));
}

#[test]
fn areas_demand_on_the_bundled_dataset_is_proven_and_consistent() {
    let dir = fixture_dir().display().to_string();
    let doc = bacino_json(&[
        "site",
        &dir,
        "--model",
        "pmedian",
        "--p",
        "5",
        "--candidates",
        "areas",
        "--demand",
        "areas",
    ]);
    assert_eq!(doc["proven"], true);
    assert_eq!(doc["demand"]["at"], "areas");
    assert_eq!(selected(&doc).len(), 5);
    assert!(doc["bound"].as_f64().unwrap() <= doc["objective"].as_f64().unwrap());
    // Served people add up to the demand; the mean cost is the objective.
    let sites = doc["sites"].as_array().unwrap();
    let served: f64 = sites.iter().map(|s| s["served"].as_f64().unwrap()).sum();
    assert_eq!(served, doc["demand"]["people"].as_f64().unwrap());
    let total: f64 = sites
        .iter()
        .map(|s| s["served"].as_f64().unwrap() * s["mean_cost"].as_f64().unwrap())
        .sum();
    let obj = doc["objective"].as_f64().unwrap();
    assert!((total - obj).abs() <= 1e-6 * obj, "{total} vs {obj}");
    assert!((doc["new_distance"]["mean_m"].as_f64().unwrap() - obj / served).abs() < 1e-3);
}

#[test]
fn bad_siting_input_is_named() {
    let c = case(3);
    let (dir, cand) = (c.dir(), c.candidates_csv());
    let fails = |extra: &[&str]| {
        let mut args = vec!["site", dir.as_str()];
        args.extend_from_slice(extra);
        bacino_fails(&args)
    };
    let e = fails(&["--candidates", &cand, "--model", "pmedian", "--p", "0"]);
    assert!(e.contains("`p`"), "{e}");
    let e = fails(&["--candidates", &cand, "--model", "pmedian", "--p", "10"]);
    assert!(e.contains("`p`") && e.contains("only 9"), "{e}");
    let e = fails(&["--candidates", &cand, "--model", "pmedian"]);
    assert!(e.contains("`p`") && e.contains("required"), "{e}");
    let e = fails(&["--candidates", &cand, "--model", "median", "--p", "2"]);
    assert!(e.contains("`model`"), "{e}");
    let e = fails(&[
        "--candidates",
        "kind:hospital",
        "--model",
        "pmedian",
        "--p",
        "2",
    ]);
    assert!(e.contains("`candidates`"), "{e}");
    let e = fails(&[
        "--candidates",
        "kind:pharmacy",
        "--model",
        "pmedian",
        "--p",
        "1",
    ]);
    assert!(e.contains("no active `pharmacy`"), "{e}");
    let e = fails(&["--candidates", &cand, "--model", "mclp", "--p", "2"]);
    assert!(e.contains("`service_distance`"), "{e}");
    let costs = c.data.path().join("costs.csv");
    let e = fails(&[
        "--candidates",
        &cand,
        "--model",
        "mclp",
        "--p",
        "2",
        "--export-costs",
        costs.to_str().unwrap(),
    ]);
    assert!(e.contains("`service_distance`"), "{e}");
    let e = fails(&[
        "--candidates",
        &cand,
        "--model",
        "lscp",
        "--service-distance",
        "10",
    ]);
    assert!(
        e.contains("infeasible") && e.contains("farther than 10"),
        "{e}"
    );
    let e = fails(&[
        "--candidates",
        &cand,
        "--model",
        "pmedian",
        "--p",
        "2",
        "--demand-group",
        "nobody",
    ]);
    assert!(e.contains("`demand_group`"), "{e}");
    // A malformed CSV names its file, line and column.
    let bad = c.data.path().join("bad.csv");
    std::fs::write(&bad, "id,lon,lat\nA,9.6,45.7\nB,9.7,north\n").unwrap();
    let e = fails(&[
        "--candidates",
        bad.to_str().unwrap(),
        "--model",
        "pmedian",
        "--p",
        "1",
    ]);
    assert!(
        e.contains("bad.csv:3") && e.contains("column 3 (lat)") && e.contains("`north`"),
        "{e}"
    );
    std::fs::write(&bad, "id,x,y\nA,9.6,45.7\n").unwrap();
    let e = fails(&[
        "--candidates",
        bad.to_str().unwrap(),
        "--model",
        "pmedian",
        "--p",
        "1",
    ]);
    assert!(e.contains("bad.csv:1") && e.contains("id, lon, lat"), "{e}");
    std::fs::write(&bad, "id,lon,lat\nGP1,9.6,45.7\n").unwrap();
    let e = fails(&[
        "--candidates",
        bad.to_str().unwrap(),
        "--model",
        "pmedian",
        "--p",
        "1",
    ]);
    assert!(e.contains("GP1") && e.contains("exists already"), "{e}");
}

#[test]
fn the_capacitated_p_median_splits_people_within_capacity() {
    let c = case(11);
    let (dir, cand) = (c.dir(), c.candidates_csv());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "site",
            dir.as_str(),
            "--candidates",
            cand.as_str(),
            "--min-group-size",
            "0",
            "--p",
            "3",
        ];
        args.extend_from_slice(extra);
        bacino_json(&args)
    };
    let people: f64 = c.residents.iter().map(|r| r.2).sum();
    // Room for everyone at any site: the uncapacitated optimum.
    let free = run(&["--model", "cpmedian", "--capacity", "100000"]);
    let plain = run(&["--model", "pmedian"]);
    let (a, b) = (
        free["objective"].as_f64().unwrap(),
        plain["objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-3 * people, "{a} vs {b}");
    // A third of the people (and a little) per site: every site near full.
    let cap = (people / 3.0).ceil() as u64 + 2;
    let doc = run(&["--model", "cpmedian", "--capacity", &cap.to_string()]);
    assert_eq!(doc["proven"], true);
    assert!(doc["objective"].as_f64().unwrap() >= a - 1e-6);
    let sites = doc["sites"].as_array().unwrap();
    let served: Vec<f64> = sites
        .iter()
        .map(|s| s["served"].as_f64().unwrap())
        .collect();
    assert_eq!(served.iter().sum::<f64>(), people);
    assert!(
        served.iter().all(|&s| s <= cap as f64),
        "{served:?} over {cap}"
    );
    assert_eq!(doc["plan"]["open"][0]["capacity"], cap);
    // Not enough room, or no capacity at all, is named.
    let e = bacino_fails(&[
        "site",
        &dir,
        "--candidates",
        &cand,
        "--model",
        "cpmedian",
        "--p",
        "3",
        "--capacity",
        "10",
    ]);
    assert!(e.contains("infeasible") && e.contains("places"), "{e}");
    let e = bacino_fails(&[
        "site",
        &dir,
        "--candidates",
        &cand,
        "--model",
        "cpmedian",
        "--p",
        "3",
    ]);
    assert!(e.contains("`capacity`"), "{e}");
    let e = bacino_fails(&[
        "site",
        &dir,
        "--candidates",
        &cand,
        "--model",
        "pmedian",
        "--p",
        "3",
        "--capacity",
        "10",
    ]);
    assert!(e.contains("only cpmedian"), "{e}");
}
