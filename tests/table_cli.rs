//! The `table` metric: costs a user brings per (resident, facility) pair,
//! checked against the minimum computed here from the same file.

mod common;

use common::{bacino_fails, bacino_json, numpy_percentile, TempDataset};

const FACILITIES: &str = "id,kind,lon,lat,status\n\
G1,gp,9.60,45.60,active\nG2,gp,9.61,45.60,active\nG3,gp,9.62,45.60,ceased\n\
P1,pharmacy,9.60,45.61,active\nP2,pharmacy,9.61,45.61,active\n";

/// 40 residents listed with G1 or G2; a deterministic table where every
/// seventh resident has no pair at all.
fn dataset(unit: &str) -> (TempDataset, Vec<Vec<(String, f64)>>) {
    let mut residents = String::from("id,lon,lat,gp_id\n");
    let mut costs = String::from("origin,dest,cost\n");
    let mut pairs = Vec::new();
    let mut x: u64 = 12345;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..40 {
        residents += &format!(
            "R{i:02},9.60{i:02},45.605,{}\n",
            if i % 2 == 0 { "G1" } else { "G2" }
        );
        let mut mine = Vec::new();
        if i % 7 != 3 {
            for f in ["G1", "G2", "G3", "P1", "P2"] {
                if next() < 0.8 {
                    let c = (next() * 5000.0).round() / 10.0;
                    costs += &format!("R{i:02},{f},{c}\n");
                    mine.push((f.to_owned(), c));
                }
            }
        }
        pairs.push(mine);
    }
    let manifest = format!(
        "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n\
         [costs]\npath = \"costs.csv\"\nunit = \"{unit}\"\n"
    );
    let ds = TempDataset::new(
        &manifest,
        &[
            ("f.csv", FACILITIES),
            ("r.csv", &residents),
            ("costs.csv", &costs),
        ],
    );
    (ds, pairs)
}

#[test]
fn nearest_by_table_is_the_cheapest_listed_active_facility() {
    let (ds, pairs) = dataset("m");
    let d = ds.path().to_str().unwrap();
    let doc = bacino_json(&[
        "stats", d, "--to", "nearest", "--kind", "gp", "--metric", "table",
    ]);
    let mut best = Vec::new();
    let mut missing = 0;
    for mine in &pairs {
        // G3 is ceased: never a nearest.
        match mine
            .iter()
            .filter(|(f, _)| f == "G1" || f == "G2")
            .map(|(_, c)| *c)
            .fold(None, |b: Option<f64>, c| Some(b.map_or(c, |b| b.min(c))))
        {
            Some(c) => best.push(c),
            None => missing += 1,
        }
    }
    assert!(
        missing >= 5,
        "the fixture leaves some residents without a pair"
    );
    assert_eq!(doc["metric"], "table");
    assert_eq!(doc["costs"]["unit"], "m");
    assert_eq!(doc["unreachable"].as_f64().unwrap(), missing as f64);
    let g = &doc["groups"][0];
    assert_eq!(g["count"].as_f64().unwrap(), best.len() as f64);
    for (q, k) in [
        (0.5, "median_m"),
        (0.25, "p25_m"),
        (0.75, "p75_m"),
        (0.9, "p90_m"),
    ] {
        assert!(
            (g[k].as_f64().unwrap() - numpy_percentile(&best, q)).abs() < 1e-9,
            "{k}"
        );
    }
    assert!(g.get("median_s").is_none());
}

#[test]
fn a_table_in_seconds_reports_seconds_and_assigned_uses_the_listed_pair() {
    let (ds, pairs) = dataset("s");
    let d = ds.path().to_str().unwrap();
    let doc = bacino_json(&[
        "stats",
        d,
        "--to",
        "assigned",
        "--metric",
        "table",
        "--min-group-size",
        "1",
    ]);
    let mut want = Vec::new();
    for (i, mine) in pairs.iter().enumerate() {
        let gp = if i % 2 == 0 { "G1" } else { "G2" };
        if let Some((_, c)) = mine.iter().find(|(f, _)| f == gp) {
            want.push(*c);
        }
    }
    let g = &doc["groups"][0];
    assert_eq!(doc["costs"]["unit"], "s");
    assert_eq!(g["count"].as_f64().unwrap(), want.len() as f64);
    assert!((g["median_s"].as_f64().unwrap() - numpy_percentile(&want, 0.5)).abs() < 1e-9);
    assert!(g.get("median_m").is_none(), "{g}");
    assert_eq!(
        doc["unreachable"].as_f64().unwrap(),
        (40 - want.len()) as f64
    );
}

#[test]
fn bad_cost_tables_are_refused_with_their_place() {
    let base = "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n[costs]\npath = \"c.csv\"\n";
    let residents = "id,lon,lat\nR1,9.60,45.60\nR2,9.61,45.60\n";
    for (unit, costs, want) in [
        (
            "m",
            "origin,dest,cost\nR1,G1,10\nR9,G1,5\n",
            vec!["c.csv:3", "column 1 (origin)", "`R9`"],
        ),
        (
            "m",
            "origin,dest,cost\nR1,X1,10\n",
            vec!["c.csv:2", "column 2 (dest)", "`X1`"],
        ),
        (
            "m",
            "origin,dest,cost\nR1,G1,-4\n",
            vec!["c.csv:2", "column 3 (cost)", "`-4`"],
        ),
        (
            "m",
            "origin,dest,cost\nR1,G1,ten\n",
            vec!["column 3 (cost)", "`ten`"],
        ),
        (
            "m",
            "origin,dest,cost\nR1,G1,4\nR2,G1,5\nR1,G1,6\n",
            vec!["(R1, G1) is given twice"],
        ),
        (
            "m",
            "from,to,cost\nR1,G1,4\n",
            vec!["c.csv:1", "missing required column `origin`"],
        ),
        (
            "h",
            "origin,dest,cost\nR1,G1,4\n",
            vec!["costs.unit", "`h`"],
        ),
    ] {
        let ds = TempDataset::new(
            &format!("{base}unit = \"{unit}\"\n"),
            &[
                ("f.csv", FACILITIES),
                ("r.csv", residents),
                ("c.csv", costs),
            ],
        );
        let e = bacino_fails(&[
            "stats",
            ds.path().to_str().unwrap(),
            "--to",
            "nearest",
            "--kind",
            "gp",
            "--metric",
            "table",
        ]);
        for w in want {
            assert!(e.contains(w), "expected `{w}` in: {e}");
        }
    }
    let bergamo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo");
    let e = bacino_fails(&[
        "stats",
        bergamo.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--metric",
        "table",
    ]);
    assert!(e.contains("no [costs]"), "{e}");
}
