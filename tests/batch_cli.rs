//! `bacino batch` as a user runs it: one failing scenario does not stop the
//! others, outputs agree with `bacino scenario`, and nothing depends on the
//! number of threads.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{fixture_dir, read_csv, tree};
use serde_json::Value;

const SCENARIOS: &str = r#"{"name": "city", "cease": ["GP0055", "GP0058"], "max_distance_m": 30000}
{"name": "ghost", "cease": ["GP9999"]}
{"name": "broken", "cease": [
{"name": "city", "cease": ["GP0001"]}
{"name": "wave", "random_cease": {"count": 2, "draws": 3, "seed": 1}, "max_distance_m": 20000}
{"name": "leaky", "cease": ["GP0001"], "min_group_size": -1}
"#;

fn run(threads: &str, scenarios: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args([
            "--threads",
            threads,
            "batch",
            fixture_dir().to_str().unwrap(),
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("run bacino")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_failing_scenario_is_reported_and_the_others_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scenarios.jsonl");
    std::fs::write(&file, SCENARIOS).unwrap();
    let out = tmp.path().join("out");
    let res = run("2", &file, &out);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let index = read_json(&out.join("index.json"));
    let status: Vec<(u64, &str, &str)> = index["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["name"].as_str().unwrap_or(""),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![
            (1, "city", "ok"),
            (2, "ghost", "error"),
            (3, "", "error"),
            (4, "city", "error"),
            (5, "wave", "ok"),
            (6, "leaky", "error"),
        ]
    );
    let msg = |i: usize| {
        index["scenarios"][i]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(msg(1).contains("GP9999"), "{}", msg(1));
    assert!(msg(3).contains("duplicate"), "{}", msg(3));
    assert_eq!(
        (index["ok"].as_u64(), index["errors"].as_u64()),
        (Some(2), Some(4))
    );
    assert!(msg(5).contains("min_group_size"), "{}", msg(5));
    assert!(!out.join("ghost").exists());

    // The summary is the `bacino scenario` document.
    let summary = read_json(&out.join("city/summary.json"));
    let direct = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args([
            "scenario",
            fixture_dir().to_str().unwrap(),
            "--cease",
            "GP0055,GP0058",
        ])
        .output()
        .unwrap();
    let direct: Value = serde_json::from_slice(&direct.stdout).unwrap();
    assert_eq!(summary, direct);

    // One CSV line per patient; the new GPs agree with by_gp and the
    // residents are the ceasing GPs' listed ones.
    let (header, rows) = read_csv(&out.join("city/reassignments.csv"));
    assert_eq!(header, ["resident_id", "from_id", "to_id", "distance_m"]);
    assert_eq!(rows.len() as u64, summary["patients"].as_u64().unwrap());
    let mut to: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        assert!(r[1] == "GP0055" || r[1] == "GP0058", "{r:?}");
        *to.entry(r[2].clone()).or_default() += 1;
    }
    // Receiving GPs with fewer than 10 new patients show no count.
    let mut shown = 0;
    for g in summary["by_gp"].as_array().unwrap() {
        let n = to[g["id"].as_str().unwrap()];
        match g["new_patients"].as_u64() {
            Some(got) => {
                assert_eq!(got, n);
                assert!(n >= 10);
                shown += 1;
            }
            None => {
                assert!(n < 10, "{g}");
                assert_eq!(g["suppressed"], true);
                assert!(g["list_size"].is_null());
            }
        }
    }
    assert!(shown > 0);
    let total: f64 = rows.iter().map(|r| r[3].parse::<f64>().unwrap()).sum();
    assert!(
        (total - summary["total_distance_m"].as_f64().unwrap()).abs() < rows.len() as f64 * 0.0005
    );
    let (rh, residents) = read_csv(&fixture_dir().join("residents.csv"));
    let (id, gp) = (
        rh.iter().position(|c| c == "id").unwrap(),
        rh.iter().position(|c| c == "gp_id").unwrap(),
    );
    let listed: BTreeMap<&str, &str> = residents
        .iter()
        .map(|r| (r[id].as_str(), r[gp].as_str()))
        .collect();
    for r in &rows {
        assert_eq!(listed[r[0].as_str()], r[1]);
    }

    // Catchments after the change: the ceased GPs are gone, and each
    // receiving GP's patients are its old list plus the reassigned ones.
    let cells = read_json(&out.join("city/catchments.geojson"));
    assert_eq!(cells["type"], "FeatureCollection");
    assert_eq!(cells["method"], "assigned");
    let features = cells["features"].as_array().unwrap();
    let ids: Vec<&str> = features
        .iter()
        .flat_map(|f| f["properties"]["facility_ids"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"GP0055") && !ids.contains(&"GP0058"));
    let mut listed_after: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &residents {
        if !r[gp].is_empty() && r[gp] != "GP0055" && r[gp] != "GP0058" {
            *listed_after.entry(r[gp].as_str()).or_default() += 1;
        }
    }
    for (to_id, n) in &to {
        if !to_id.is_empty() {
            *listed_after.entry(to_id.as_str()).or_default() += n;
        }
    }
    let mut checked = 0;
    for f in features {
        let p = &f["properties"];
        let fids = p["facility_ids"].as_array().unwrap();
        if fids.len() == 1 && p["suppressed"] != true {
            let id = fids[0].as_str().unwrap();
            assert_eq!(p["population"].as_u64(), Some(listed_after[id]), "{id}");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");

    // Random draws: a distribution over 3 draws of 2 GPs each.
    let wave = read_json(&out.join("wave/summary.json"));
    assert_eq!(wave["draws"].as_array().unwrap().len(), 3);
    assert_eq!(wave["orphans"]["n"], 3);
    assert_eq!(wave["reassignments_draw"], 0);
    assert_eq!(wave["max_distance_m"], 20000.0);
    let p50 = wave["total_distance_m"]["p50"].as_f64().unwrap();
    let p5 = wave["total_distance_m"]["p5"].as_f64().unwrap();
    let p95 = wave["total_distance_m"]["p95"].as_f64().unwrap();
    assert!(p5 <= p50 && p50 <= p95);
    let (_, draw0) = read_csv(&out.join("wave/reassignments.csv"));
    let first: Vec<&str> = wave["draws"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(draw0.iter().all(|r| first.contains(&r[1].as_str())));
}

#[test]
fn outputs_do_not_depend_on_the_number_of_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scenarios.jsonl");
    std::fs::write(&file, SCENARIOS).unwrap();
    let (a, b) = (tmp.path().join("one"), tmp.path().join("two"));
    assert!(run("1", &file, &a).status.success());
    assert!(run("2", &file, &b).status.success());
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    assert!(ta.keys().all(|k| !k.contains(".tmp")), "{:?}", ta.keys());
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs");
    }
}

#[test]
fn an_unreadable_scenarios_file_fails_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let res = run(
        "1",
        &tmp.path().join("missing.jsonl"),
        &tmp.path().join("out"),
    );
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("missing.jsonl"));
}
