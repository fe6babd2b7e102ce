//! Scenario plans (CONTRACT §8) from the command line on the bundled
//! Bergamo fixture: a plan pulling every lever (cessations, a new GP, caps
//! raised for every GP and one by id, people without a GP placed) solved
//! by `bacino batch`, its answer certified optimal by an independent
//! residual-graph check on GeographicLib distances; `bacino compare` rows
//! equal the plans' own scenario documents and recomputed figures; bad
//! plans fail with their place.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use common::{
    bacino_fails, bacino_json, certify_transport, fixture_dir, karney_m, numpy_percentile, read_csv,
};
use serde_json::{json, Value};

const MAX_M: f64 = 10_000.0;

/// Every lever at once.
fn full_plan() -> Value {
    json!({
        "cease": ["GP0055", "GP0058"],
        "open": [{"id": "NEW01", "lon": 9.6540, "lat": 45.6970, "capacity": 150,
                  "name": "Nuovo MMG (plan)"}],
        "capacity": {"*": 185, "GP0057": 190},
        "assign_unlisted": true,
        "max_distance_m": MAX_M
    })
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p.to_str().unwrap().to_owned()
}

/// Facilities of the fixture: id → (kind, lon, lat, capacity, list, active).
type Fac = HashMap<String, (String, f64, f64, Option<u64>, u64, bool)>;

fn facilities() -> Fac {
    let (h, rows) = read_csv(&fixture_dir().join("facilities.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    rows.iter()
        .map(|r| {
            (
                r[col("id")].clone(),
                (
                    r[col("kind")].clone(),
                    r[col("lon")].parse().unwrap(),
                    r[col("lat")].parse().unwrap(),
                    r[col("capacity")].parse().ok(),
                    r[col("list_size")].parse().unwrap_or(0),
                    r[col("status")] == "active",
                ),
            )
        })
        .collect()
}

/// Residents: (id, lon, lat, gp_id, group), every weight 1.
fn residents() -> Vec<(String, f64, f64, String, String)> {
    let (h, rows) = read_csv(&fixture_dir().join("residents.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    rows.iter()
        .map(|r| {
            assert_eq!(r[col("weight")], "1");
            (
                r[col("id")].clone(),
                r[col("lon")].parse().unwrap(),
                r[col("lat")].parse().unwrap(),
                r[col("gp_id")].clone(),
                r[col("group")].clone(),
            )
        })
        .collect()
}

fn run_batch(line: &Value) -> (Value, Vec<Vec<String>>) {
    let out = tempfile::tempdir().unwrap();
    let lines = out.path().join("plans.jsonl");
    std::fs::write(&lines, format!("{line}\n")).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("batch")
        .arg(fixture_dir())
        .arg("--scenarios")
        .arg(&lines)
        .arg("--out")
        .arg(out.path().join("o"))
        .args(["--catchments", "none"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dir = out.path().join("o").join(line["name"].as_str().unwrap());
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let (header, rows) = read_csv(&dir.join("reassignments.csv"));
    assert_eq!(header, ["resident_id", "from_id", "to_id", "distance_m"]);
    (summary, rows)
}

#[test]
fn a_plan_with_every_lever_is_certified_optimal_independently() {
    let plan = full_plan();
    let mut line = plan.clone();
    line["name"] = json!("levers");
    let (summary, rows) = run_batch(&line);
    assert_eq!(summary["opened"], json!(["NEW01"]));
    assert_eq!(summary["capacity"], json!({"*": 185, "GP0057": 190}));
    assert!(summary["optimality"]["proven"].as_bool().unwrap());

    // The oracle's problem, from the input files and the plan alone.
    let fac = facilities();
    let ceased = ["GP0055", "GP0058"];
    let mut gps: Vec<(String, f64, f64, u64)> = fac
        .iter()
        .filter(|(id, f)| f.0 == "gp" && f.5 && !ceased.contains(&id.as_str()))
        .map(|(id, f)| {
            let cap = if id == "GP0057" { 190 } else { 185 };
            (id.clone(), f.1, f.2, cap - f.4)
        })
        .collect();
    gps.push(("NEW01".into(), 9.6540, 45.6970, 150));
    gps.retain(|g| g.3 > 0);
    gps.sort_by(|a, b| a.0.cmp(&b.0));
    let res = residents();
    let patients: Vec<&(String, f64, f64, String, String)> = res
        .iter()
        .filter(|r| {
            (ceased.contains(&r.3.as_str()) && r.4 != "ad_user")
                || (r.3.is_empty() && r.4 == "no_gp")
        })
        .collect();
    assert_eq!(
        summary["patients"].as_u64().unwrap() as usize,
        patients.len()
    );
    let cost: Vec<Vec<Option<i64>>> = patients
        .iter()
        .map(|p| {
            gps.iter()
                .map(|g| {
                    let d = karney_m(p.1, p.2, g.1, g.2);
                    (d <= MAX_M).then(|| (d * 1000.0).round() as i64)
                })
                .collect()
        })
        .collect();
    let p_of: HashMap<&str, usize> = patients
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0.as_str(), i))
        .collect();
    let g_of: HashMap<&str, usize> = gps
        .iter()
        .enumerate()
        .map(|(j, g)| (g.0.as_str(), j))
        .collect();
    let mut to = vec![None; patients.len()];
    let mut seen = vec![false; patients.len()];
    for r in &rows {
        let i = p_of[r[0].as_str()];
        assert!(!std::mem::replace(&mut seen[i], true), "{} twice", r[0]);
        if !r[2].is_empty() {
            let j = g_of[r[2].as_str()];
            let d = karney_m(patients[i].1, patients[i].2, gps[j].1, gps[j].2);
            assert!((r[3].parse::<f64>().unwrap() - d).abs() < 1e-3, "{}", r[0]);
            to[i] = Some(j);
        }
    }
    assert!(seen.iter().all(|&s| s));
    let total_mm = certify_transport(&cost, &gps.iter().map(|g| g.3).collect::<Vec<_>>(), &to);
    let placed = to.iter().filter(|t| t.is_some()).count() as u64;
    assert_eq!(summary["placed"].as_u64().unwrap(), placed);
    let total = summary["total_distance_m"].as_f64().unwrap();
    assert!(
        (total - total_mm as f64 / 1000.0).abs() <= 1e-3 * placed as f64,
        "{total} vs {total_mm} mm"
    );
    // The new GP takes people, within its cap.
    let new = to.iter().filter(|t| **t == Some(g_of["NEW01"])).count() as u64;
    assert!(new > 0 && new <= 150, "NEW01 takes {new}");
    let by_gp: BTreeMap<&str, &Value> = summary["by_gp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap(), g))
        .collect();
    assert_eq!(by_gp["NEW01"]["capacity"], 150);
    if new >= 10 {
        assert_eq!(by_gp["NEW01"]["new_patients"], new);
        assert_eq!(by_gp["NEW01"]["list_size"], new);
    }
}

#[test]
fn compare_rows_equal_the_scenario_documents_and_recomputed_figures() {
    let dir = tempfile::tempdir().unwrap();
    let only_cease = json!({"cease": ["GP0055", "GP0058"], "max_distance_m": MAX_M});
    let a = write(dir.path(), "cease.json", &only_cease);
    let b = write(dir.path(), "levers.json", &full_plan());
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let doc = bacino_json(&["compare", d, "--plan", &a, "--plan", &b]);
    let rows = doc["plans"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["baseline", "cease", "levers"]
    );
    for (row, plan) in rows[1..].iter().zip([&a, &b]) {
        let s = bacino_json(&["scenario", d, "--plan", plan]);
        for k in ["placed", "orphans", "total_distance_m"] {
            assert_eq!(row[k], s[k], "{k}");
        }
        assert_eq!(row["moved"], s["new_distance"]);
        assert_eq!(row["proven"], true);
    }

    // Baseline and the full plan recomputed from the files: people without
    // a GP of their own, everyone's distance to theirs, GPs over 95 %.
    let fac = facilities();
    let res = residents();
    let own = |gp: &str, group: &str| !gp.is_empty() && group != "ad_user";
    let mut base: Vec<f64> = res
        .iter()
        .filter(|r| own(&r.3, &r.4))
        .map(|r| {
            let f = &fac[&r.3];
            karney_m(r.1, r.2, f.1, f.2)
        })
        .collect();
    let without = res.iter().filter(|r| !own(&r.3, &r.4)).count() as f64;
    assert_eq!(rows[0]["unlisted_after"], without);
    assert_eq!(rows[0]["placed"], 0);
    let median = numpy_percentile(&base, 0.5);
    assert!((rows[0]["everyone"]["median_m"].as_f64().unwrap() - median).abs() < 1e-3);
    base.clear();
    let over = |list: u64, cap: u64| list as f64 > 0.95 * cap as f64;
    let base_over = fac
        .values()
        .filter(|f| f.0 == "gp" && f.5 && f.3.is_some_and(|c| over(f.4, c)))
        .count();
    assert_eq!(rows[0]["gps_over_95pct"], base_over);

    let mut line = full_plan();
    line["name"] = json!("levers");
    let (_, moved) = run_batch(&line);
    let new_gp: HashMap<&str, &str> = moved
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str()))
        .collect();
    let at = |id: &str| -> (f64, f64) {
        if id == "NEW01" {
            (9.6540, 45.6970)
        } else {
            (fac[id].1, fac[id].2)
        }
    };
    let mut lists: HashMap<&str, u64> = HashMap::new();
    let mut after = Vec::new();
    let mut without = 0.0;
    for r in &res {
        let gp = match new_gp.get(r.0.as_str()) {
            Some(g) => *g,
            None if r.3 == "GP0055" || r.3 == "GP0058" => "",
            None => r.3.as_str(),
        };
        if !own(gp, &r.4) {
            without += 1.0;
            continue;
        }
        if new_gp.contains_key(r.0.as_str()) {
            *lists.entry(gp).or_default() += 1;
        }
        let (lon, lat) = at(gp);
        after.push(karney_m(r.1, r.2, lon, lat));
    }
    let row = &rows[2];
    assert_eq!(row["unlisted_after"], without);
    let median = numpy_percentile(&after, 0.5);
    let p90 = numpy_percentile(&after, 0.9);
    assert!((row["everyone"]["median_m"].as_f64().unwrap() - median).abs() < 1e-3);
    assert!((row["everyone"]["p90_m"].as_f64().unwrap() - p90).abs() < 1e-3);
    assert_eq!(row["everyone"]["count"], after.len());
    let mut nearly = 0;
    for (id, f) in &fac {
        if f.0 != "gp" || !f.5 || id == "GP0055" || id == "GP0058" {
            continue;
        }
        let cap = if id == "GP0057" { 190 } else { 185 };
        if over(f.4 + lists.get(id.as_str()).copied().unwrap_or(0), cap) {
            nearly += 1;
        }
    }
    if over(lists.get("NEW01").copied().unwrap_or(0), 150) {
        nearly += 1;
    }
    assert_eq!(row["gps_over_95pct"], nearly);

    // The table for people names every plan.
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args([
            "compare", d, "--plan", &a, "--plan", &b, "--format", "table",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().count() == 5 && text.contains("baseline") && text.contains("levers"),
        "{text}"
    );
}

#[test]
fn bad_plans_fail_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let case = |name: &str, v: Value, want: &[&str]| {
        let p = write(dir.path(), name, &v);
        let e = bacino_fails(&["scenario", d, "--plan", &p]);
        for w in want {
            assert!(e.contains(w), "{name}: {e}");
        }
    };
    case(
        "exists.json",
        json!({"cease": ["GP0055"], "open": [{"id": "GP0001", "lon": 9.6, "lat": 45.6}]}),
        &["open[0]", "GP0001", "exists already"],
    );
    case(
        "twice.json",
        json!({"cease": ["GP0055"], "open": [{"id": "N1", "lon": 9.6, "lat": 45.6},
                                              {"id": "N1", "lon": 9.7, "lat": 45.6}]}),
        &["open[1]", "opened twice"],
    );
    case(
        "below.json",
        json!({"cease": ["GP0055"], "capacity": {"*": 100}}),
        &["capacity", "below a GP's current list"],
    );
    case(
        "unknown.json",
        json!({"cease": ["GP0055"], "capacity": {"CDC01": 100}}),
        &["capacity", "CDC01", "not an active GP"],
    );
    case(
        "offglobe.json",
        json!({"cease": ["GP0055"], "open": [{"id": "N1", "lon": 190.0, "lat": 45.6}]}),
        &["open[0]", "lon in -180..180"],
    );
    // Not a plan: JSON errors name the file, line and column.
    let p = dir.path().join("negative.json");
    std::fs::write(
        &p,
        "{\n  \"cease\": [\"GP0055\"],\n  \"capacity\": {\"*\": -5}\n}\n",
    )
    .unwrap();
    let e = bacino_fails(&["scenario", d, "--plan", p.to_str().unwrap()]);
    assert!(e.contains("negative.json: line 3, column"), "{e}");
    let p = dir.path().join("typo.json");
    std::fs::write(&p, "{\"cease\": [\"GP0055\"], \"opne\": []}").unwrap();
    let e = bacino_fails(&["scenario", d, "--plan", p.to_str().unwrap()]);
    assert!(e.contains("typo.json: line 1") && e.contains("opne"), "{e}");
    // Plans under different metrics are not compared.
    let a = write(dir.path(), "a.json", &json!({"cease": ["GP0055"]}));
    let b = write(
        dir.path(),
        "b.json",
        &json!({"cease": ["GP0055"], "metric": "table"}),
    );
    let e = bacino_fails(&["compare", d, "--plan", &a, "--plan", &b]);
    assert!(e.contains("another metric"), "{e}");
}
