//! `bacino access`: the identities the indices obey, checked against the
//! dataset's own files; every method and decay from the command line; bad
//! arguments named.

mod common;

use common::{bacino_fails, bacino_json, fixture_dir, read_csv};
use serde_json::Value;

/// Capacity of the active GPs and the residents' total weight, read from
/// the CSV files.
fn totals() -> (f64, f64) {
    let dir = fixture_dir();
    let (h, rows) = read_csv(&dir.join("facilities.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let supply: f64 = rows
        .iter()
        .filter(|r| r[col("kind")] == "gp" && r[col("status")] == "active")
        .map(|r| r[col("capacity")].parse::<f64>().unwrap())
        .sum();
    let (h, rows) = read_csv(&dir.join("residents.csv"));
    let w = h.iter().position(|c| c == "weight").unwrap();
    let demand: f64 = rows.iter().map(|r| r[w].parse::<f64>().unwrap()).sum();
    (supply, demand)
}

#[test]
fn with_every_gp_in_someones_reach_the_mean_is_supply_over_demand() {
    // Every GP has residents within 5 km, so Σ P·A = Σ S for the methods
    // that share out supply (G2SFCA too: its Gaussian weights are the
    // same in both steps and positive in reach) (people out of reach count as 0), and the
    // mean is Σ S / Σ P.
    let (supply, demand) = totals();
    let dir = fixture_dir();
    let dir = dir.to_str().unwrap();
    for (m, decay) in [
        ("2sfca", &[][..]),
        ("e2sfca", &[][..]),
        ("g2sfca", &["--gaussian", "2000"][..]),
        ("3sfca", &[][..]),
        ("huff", &[][..]),
        ("sa", &[][..]),
    ] {
        let mut args = vec![
            "access",
            dir,
            "--kind",
            "gp",
            "--method",
            m,
            "--max-cost",
            "5000",
        ];
        args.extend_from_slice(decay);
        let doc = bacino_json(&args);
        assert_eq!(doc["method"], m);
        assert_eq!(doc["demand_total"].as_f64(), Some(demand));
        assert_eq!(doc["supply_total"].as_f64(), Some(supply));
        let mean = doc["mean"].as_f64().unwrap();
        assert!(
            (mean * demand - supply).abs() <= 1e-9 * supply,
            "{m}: {mean} × {demand} vs {supply}"
        );
    }
    // Spatial availability allots all the supply, group by group.
    let doc = bacino_json(&[
        "access",
        dir,
        "--kind",
        "gp",
        "--method",
        "sa",
        "--max-cost",
        "5000",
        "--group-by",
        "group",
    ]);
    let allotted: f64 = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["allotted"].as_f64().unwrap())
        .sum();
    assert!(
        (allotted - supply).abs() <= 1e-9 * supply,
        "{allotted} vs {supply}"
    );
}

#[test]
fn decays_and_formats_from_the_command_line() {
    let dir = fixture_dir();
    let dir = dir.to_str().unwrap();
    let doc = bacino_json(&[
        "access",
        dir,
        "--kind",
        "gp",
        "--method",
        "gravity",
        "--max-cost",
        "5000",
        "--gravity",
        "-1,1000,100",
    ]);
    assert_eq!(doc["decay"]["alpha"], -1.0);
    assert_eq!(doc["decay"]["min"], 100.0);
    let doc = bacino_json(&[
        "access",
        dir,
        "--kind",
        "cdc",
        "--supply",
        "one",
        "--method",
        "3sfca",
        "--max-cost",
        "5000",
        "--logistic",
        "2500,400",
        "--selection",
        "all_pairs",
    ]);
    assert_eq!(doc["selection"], "all_pairs");
    assert_eq!(doc["decay"]["name"], "logistic");
    let doc = bacino_json(&[
        "access",
        dir,
        "--kind",
        "gp",
        "--method",
        "e2sfca",
        "--max-cost",
        "9000",
    ]);
    // E2SFCA's default steps: a third, two thirds and all of the reach.
    assert_eq!(
        doc["decay"]["weights"],
        serde_json::json!([[3000.0, 1.0], [6000.0, 0.68], [9000.0, 0.22]])
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args([
            "access",
            dir,
            "--kind",
            "gp",
            "--method",
            "bfca",
            "--max-cost",
            "4000",
        ])
        .args(["--group-by", "municipality", "--format", "table"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("bfca to gp within 4000 m (geodesic)"),
        "{text}"
    );
    assert!(text.lines().count() > 200);
}

#[test]
fn bad_arguments_are_named() {
    let dir = fixture_dir();
    let dir = dir.to_str().unwrap();
    for (args, needle) in [
        (vec!["--method", "5sfca", "--max-cost", "100"], "method"),
        (vec!["--method", "2sfca", "--max-cost", "0"], "max_cost"),
        (
            vec![
                "--method",
                "2sfca",
                "--max-cost",
                "100",
                "--weights",
                "10:1,5:1",
            ],
            "weights",
        ),
        (
            vec![
                "--method",
                "2sfca",
                "--max-cost",
                "100",
                "--gravity",
                "2,1,1",
            ],
            "alpha must be ≤ 0",
        ),
        (vec!["--method", "g2sfca", "--max-cost", "100"], "gaussian"),
        (
            vec!["--method", "2sfca", "--max-cost", "100", "--supply", "beds"],
            "supply",
        ),
        (
            vec!["--method", "2sfca", "--max-cost", "100", "--metric", "foot"],
            "network",
        ),
    ] {
        let mut a = vec!["access", dir, "--kind", "gp"];
        a.extend(args.iter());
        let err = bacino_fails(&a);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let err = bacino_fails(&[
        "access",
        dir,
        "--kind",
        "pharmacy",
        "--method",
        "2sfca",
        "--max-cost",
        "100",
    ]);
    assert!(err.contains("capacity") && err.contains("supply"), "{err}");
}

/// `--out`: every area once, with the figures of the report's groups by
/// area; FlatGeobuf read back by GDAL when `ogrinfo` is installed
/// (required under CI).
#[test]
fn area_layers_carry_the_groups_figures() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::fixture_dir();
    let fixture = fixture.to_str().unwrap();
    let geojson = dir.path().join("a.geojson");
    let fgb = dir.path().join("a.fgb");
    let mut report = Value::Null;
    for out in [&geojson, &fgb] {
        report = bacino_json(&[
            "access",
            fixture,
            "--kind",
            "gp",
            "--method",
            "e2sfca",
            "--max-cost",
            "9000",
            "--min-group-size",
            "300",
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    assert_eq!(report["group_by"], "area");
    let fc: Value = serde_json::from_slice(&std::fs::read(&geojson).unwrap()).unwrap();
    let features = fc["features"].as_array().unwrap();
    let areas: Value = serde_json::from_slice(
        &std::fs::read(common::fixture_dir().join("areas.geojson")).unwrap(),
    )
    .unwrap();
    let areas = areas["features"].as_array().unwrap();
    assert_eq!(features.len(), areas.len());
    let (mut shown, mut hidden) = (0, 0);
    for g in report["groups"].as_array().unwrap() {
        let f = features
            .iter()
            .find(|f| f["properties"]["area_id"] == g["key"])
            .unwrap_or_else(|| panic!("no feature for {g}"));
        let p = &f["properties"];
        assert!(f["geometry"]["type"].as_str().unwrap().ends_with("Polygon"));
        if g["suppressed"] == true {
            hidden += 1;
            assert_eq!(p["suppressed"], true);
            assert!(
                p.get("access").is_none() && p.get("population").is_none(),
                "{p}"
            );
        } else {
            shown += 1;
            assert_eq!(p["suppressed"], false);
            for k in ["population", "access", "access_norm", "unreached"] {
                assert_eq!(p[k], g[k], "{k} of {}", g["key"]);
            }
        }
    }
    assert!(shown > 0 && hidden > 0);
    assert_eq!(&std::fs::read(&fgb).unwrap()[..3], b"fgb");
    let Ok(info) = std::process::Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(&fgb)
        .output()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ogrinfo is required under CI"
        );
        println!("SKIPPED: ogrinfo is not on PATH (apt-get install gdal-bin to run this check)");
        return;
    };
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains(&format!("Feature Count: {}", areas.len())),
        "{text}"
    );
    for column in [
        "area_id: String",
        "access: Real",
        "access_norm: Real",
        "suppressed: Integer(Boolean)",
    ] {
        assert!(text.contains(column), "{column} missing in {text}");
    }
    // An area layer is one feature per area: another grouping is refused.
    let err = common::bacino_fails(&[
        "access",
        fixture,
        "--kind",
        "gp",
        "--method",
        "2sfca",
        "--max-cost",
        "9000",
        "--group-by",
        "municipality",
        "--out",
        geojson.to_str().unwrap(),
    ]);
    assert!(err.contains("--group-by area"), "{err}");
}

/// RAAM's passes run in fixed chunks over the thread pool: one thread and
/// three give the same document, and both are certified.
#[test]
fn raam_does_not_depend_on_the_number_of_threads() {
    let dir = fixture_dir();
    let d = dir.to_str().unwrap();
    let run = |threads: &str| {
        bacino_json(&[
            "--threads",
            threads,
            "access",
            d,
            "--kind",
            "gp",
            "--method",
            "raam",
            "--max-cost",
            "3000",
            "--group-by",
            "municipality",
        ])
    };
    let (one, three) = (run("1"), run("3"));
    assert_eq!(one, three);
    let residual = one["raam"]["residual"].as_f64().unwrap();
    assert!((0.0..=1e-9).contains(&residual), "{residual}");
    assert!(one["groups"].as_array().unwrap().len() > 10);
}
