//! GP-cessation scenarios under road metrics, on the real Monaco extract
//! (© OpenStreetMap contributors, ODbL) with capacities that bind: every
//! patient's cost to every receiving GP recomputed by a plain Dijkstra, the
//! answer checked feasible and **optimal by an independent certificate**
//! (no negative cycle in the residual graph, by Bellman–Ford; no augmenting
//! path while someone is unplaced), the same optimum reached through a
//! `table` of those Dijkstra times, and limits and off-network patients.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use bacino_network::{Cost, NetworkSpec, Profile, ProfileName, RoadNetwork, Search, Target};
use common::{bacino_fails, certify_transport, monaco_dir, monaco_pbf, read_csv, TempDataset};
use serde_json::Value;

const CEASE: [&str; 2] = ["MGP02", "MGP03"];

/// Residents kept: every `STEP`-th of the fixture.
const STEP: usize = 5;

/// The sampled Monaco dataset: GPs other than the ceasing ones get a spare
/// capacity that varies from GP to GP and adds up to a little more than
/// the ceasing GPs' patients, so that room binds and the optimum is not
/// "everyone to their fastest GP". `extra` adds resident lines.
fn tight(extra: &str, manifest_extra: &str, files: &[(&str, &str)]) -> TempDataset {
    let (rh, rows) = read_csv(&monaco_dir().join("residents.csv"));
    assert_eq!(rh, ["id", "lon", "lat", "gp_id", "group"]);
    let mut residents = String::from("id,lon,lat,gp_id,group\n");
    let mut lists: HashMap<String, u32> = HashMap::new();
    let mut patients = 0u32;
    for r in rows.iter().step_by(STEP) {
        residents += &format!("{},{},{},{},{}\n", r[0], r[1], r[2], r[3], r[4]);
        *lists.entry(r[3].clone()).or_default() += 1;
        patients += u32::from(CEASE.contains(&r[3].as_str()));
    }
    residents += extra;
    let (_, fac) = read_csv(&monaco_dir().join("facilities.csv"));
    let mut facilities = String::from("id,kind,name,lon,lat,capacity\n");
    let receivers = fac
        .iter()
        .filter(|f| f[1] == "gp" && !CEASE.contains(&f[0].as_str()))
        .count() as u32;
    let mut j = 0u32;
    for f in &fac {
        let cap = if f[1] != "gp" {
            String::new()
        } else {
            let list = lists.get(&f[0]).copied().unwrap_or(0);
            if CEASE.contains(&f[0].as_str()) {
                list.to_string()
            } else {
                // Weights 0.25..1.75, mean about 1; total spare ≈ 1.1 × patients.
                j += 1;
                let w = 0.25 + 1.5 * f64::from((j * 11) % receivers) / f64::from(receivers - 1);
                let spare = (1.1 * f64::from(patients) / f64::from(receivers) * w).ceil() as u32;
                (list + spare).to_string()
            }
        };
        facilities += &format!("{},{},{},{},{},{cap}\n", f[0], f[1], f[2], f[3], f[4]);
    }
    let manifest = format!(
        "name = \"mt\"\n[facilities]\npath = \"facilities.csv\"\n[residents]\npath = \"residents.csv\"\n\
         [network]\npath = {:?}\n{manifest_extra}",
        monaco_pbf().to_str().unwrap()
    );
    let mut all = vec![
        ("facilities.csv", facilities.as_str()),
        ("residents.csv", residents.as_str()),
    ];
    all.extend_from_slice(files);
    TempDataset::new(&manifest, &all)
}

/// Runs `bacino batch` with one scenario line; returns its summary and
/// reassignment rows.
fn batch(ds: &Path, cache: &Path, line: &str) -> (Value, Vec<String>, Vec<Vec<String>>) {
    let out = tempfile::tempdir().unwrap();
    let lines = out.path().join("scenarios.jsonl");
    std::fs::write(&lines, line).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(["--cache-dir", cache.to_str().unwrap(), "batch"])
        .arg(ds)
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
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("o/index.json")).unwrap())
            .unwrap();
    let entry = &index["scenarios"][0];
    assert_eq!(entry["status"], "ok", "{index}");
    let name = entry["name"].as_str().unwrap();
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("o").join(name).join("summary.json")).unwrap(),
    )
    .unwrap();
    let (header, rows) = read_csv(&out.path().join("o").join(name).join("reassignments.csv"));
    (summary, header, rows)
}

/// The oracle: every patient's cost to every receiving GP by one plain
/// forward Dijkstra per patient.
struct Oracle {
    /// Patient ids, in file order.
    patients: Vec<String>,
    /// Receiving GP ids and spare places.
    gps: Vec<(String, u32)>,
    /// `cost[p][g]` (legs included; infinite where no route or unsnapped).
    cost: Vec<Vec<Cost>>,
}

fn oracle(ds: &Path, profile: ProfileName) -> Oracle {
    let net = RoadNetwork::build(&NetworkSpec {
        path: monaco_pbf(),
        profile: Profile::builtin(profile),
        snap_max_m: 1000.0,
    })
    .unwrap();
    let (_, res) = read_csv(&ds.join("residents.csv"));
    let (_, fac) = read_csv(&ds.join("facilities.csv"));
    let mut lists: HashMap<&str, u32> = HashMap::new();
    for r in &res {
        *lists.entry(r[3].as_str()).or_default() += 1;
    }
    let gps: Vec<(String, u32, [f64; 2])> = fac
        .iter()
        .filter(|f| f[1] == "gp" && !CEASE.contains(&f[0].as_str()))
        .map(|f| {
            let cap: u32 = f[5].parse().unwrap();
            let spare = cap - lists.get(f[0].as_str()).copied().unwrap_or(0);
            (
                f[0].clone(),
                spare,
                [f[3].parse().unwrap(), f[4].parse().unwrap()],
            )
        })
        .filter(|g| g.1 > 0)
        .collect();
    let targets: Vec<Target> = gps
        .iter()
        .enumerate()
        .map(|(j, g)| Target {
            label: j as u32,
            snap: net.snap(g.2).unwrap(),
        })
        .collect();
    let mut search = Search::new(net.graph().node_count());
    let mut patients = Vec::new();
    let mut cost = Vec::new();
    for r in res.iter().filter(|r| CEASE.contains(&r[3].as_str())) {
        patients.push(r[0].clone());
        cost.push(
            match net.snap([r[1].parse().unwrap(), r[2].parse().unwrap()]) {
                Some(s) => net.costs_from(&mut search, &s, &targets),
                None => vec![Cost::INFINITE; targets.len()],
            },
        );
    }
    Oracle {
        patients,
        gps: gps.into_iter().map(|g| (g.0, g.1)).collect(),
        cost,
    }
}

/// Checks `rows` (one per person) feasible under the limits and optimal
/// for the oracle's costs; returns the total time in ms of the placed.
fn certify(o: &Oracle, header: &[String], rows: &[Vec<String>], max_m: f64, max_s: f64) -> u64 {
    assert_eq!(
        header,
        ["resident_id", "from_id", "to_id", "distance_m", "time_s"]
    );
    let p_of: HashMap<&str, usize> = o
        .patients
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let g_of: HashMap<&str, usize> = o
        .gps
        .iter()
        .enumerate()
        .map(|(j, g)| (g.0.as_str(), j))
        .collect();
    let ok = |c: Cost| c.is_finite() && c.length_m() <= max_m + 1e-9 && c.time_s() <= max_s + 1e-9;
    let (np, ng) = (o.patients.len(), o.gps.len());
    // Each patient once: to a GP (at the oracle's cost) or nowhere.
    let mut to: Vec<Option<usize>> = vec![None; np];
    let mut seen = vec![false; np];
    let mut load = vec![0u32; ng];
    let mut total_ms = 0u64;
    for r in rows {
        let i = p_of[r[0].as_str()];
        assert!(!seen[i], "{} twice", r[0]);
        seen[i] = true;
        assert!(CEASE.contains(&r[1].as_str()));
        if r[2].is_empty() {
            assert!(r[3].is_empty() && r[4].is_empty());
            continue;
        }
        let j = g_of[r[2].as_str()];
        let c = o.cost[i][j];
        assert!(ok(c), "{} → {}: {c:?} beyond the limits", r[0], r[2]);
        assert_eq!(r[3], format!("{:.3}", c.length_m()), "{}", r[0]);
        assert_eq!(r[4], format!("{:.3}", c.time_s()), "{}", r[0]);
        to[i] = Some(j);
        load[j] += 1;
        total_ms += u64::from(c.time_ms());
    }
    assert!(seen.iter().all(|&s| s), "every patient is listed");
    for (j, g) in o.gps.iter().enumerate() {
        assert!(load[j] <= g.1, "{} over its spare places", g.0);
    }
    let cost: Vec<Vec<Option<i64>>> = o
        .cost
        .iter()
        .map(|row| {
            row.iter()
                .map(|&c| ok(c).then(|| i64::from(c.time_ms())))
                .collect()
        })
        .collect();
    let spare: Vec<u64> = o.gps.iter().map(|g| u64::from(g.1)).collect();
    certify_transport(&cost, &spare, &to);
    total_ms
}

#[test]
fn a_car_scenario_is_feasible_and_certified_optimal_against_plain_dijkstra() {
    let ds = tight("", "", &[]);
    let cache = tempfile::tempdir().unwrap();
    let o = oracle(ds.path(), ProfileName::Car);
    assert!(o.gps.len() > 16, "more receiving GPs than first candidates");
    let (summary, header, rows) = batch(
        ds.path(),
        cache.path(),
        r#"{"name": "car", "cease": ["MGP02", "MGP03"], "metric": "car"}"#,
    );
    let total_ms = certify(&o, &header, &rows, 30_000.0, f64::INFINITY);
    assert_eq!(summary["metric"], "car");
    assert_eq!(summary["network"]["profile"], "car");
    assert_eq!(summary["orphans"], 0, "room was made for everyone");
    assert_eq!(
        summary["patients"].as_u64().unwrap() as usize,
        o.patients.len()
    );
    let t = summary["total_time_s"].as_f64().unwrap();
    assert!(
        (t - total_ms as f64 / 1000.0).abs() < 1e-6,
        "{t} vs {total_ms} ms"
    );
    assert!(summary["optimality"]["proven"].as_bool().unwrap());
    assert_eq!(summary["optimality"]["cost_resolution_s"], 0.001);
    eprintln!("car optimality: {}", summary["optimality"]);

    // The same optimum from a `table` of the oracle's times in seconds: a
    // second path (no network, no pruning) to the same integer objective.
    let mut costs = String::from("origin,dest,cost\n");
    for (i, p) in o.patients.iter().enumerate() {
        for (j, g) in o.gps.iter().enumerate() {
            let c = o.cost[i][j];
            if c.is_finite() && c.length_m() <= 30_000.0 {
                costs += &format!("{p},{},{:.3}\n", g.0, c.time_s());
            }
        }
    }
    let table = tight(
        "",
        "[costs]\npath = \"costs.csv\"\nunit = \"s\"\n",
        &[("costs.csv", &costs)],
    );
    let (tsum, theader, trows) = batch(
        table.path(),
        cache.path(),
        r#"{"name": "table", "cease": ["MGP02", "MGP03"], "metric": "table"}"#,
    );
    assert_eq!(tsum["metric"], "table");
    assert_eq!(tsum["total_time_s"], summary["total_time_s"]);
    assert!(
        tsum.get("new_distance").is_none(),
        "a table in seconds has no metres"
    );
    assert_eq!(theader[4], "time_s");
    assert!(trows.iter().all(|r| r[3].is_empty()));
}

#[test]
fn limits_bind_on_route_length_and_time_and_orphans_are_proven_unplaceable() {
    let ds = tight("", "", &[]);
    let cache = tempfile::tempdir().unwrap();
    let o = oracle(ds.path(), ProfileName::Foot);
    let (summary, header, rows) = batch(
        ds.path(),
        cache.path(),
        r#"{"name": "foot", "cease": ["MGP02", "MGP03"], "metric": "foot", "max_distance_m": 2500, "max_time_s": 1500}"#,
    );
    certify(&o, &header, &rows, 2500.0, 1500.0);
    let orphans = summary["orphans"].as_u64().unwrap();
    assert!(orphans > 0, "the limits leave some patients without a GP");
    assert_eq!(
        rows.iter().filter(|r| r[2].is_empty()).count() as u64,
        orphans
    );
    assert_eq!(summary["max_time_s"], 1500.0);
    assert_eq!(summary["new_time"]["count"], summary["placed"]);
    assert!(summary["new_time"]["max_s"].as_f64().unwrap() <= 1500.0);
    assert!(summary["new_distance"]["max_m"].as_f64().unwrap() <= 2500.0);
}

#[test]
fn a_patient_off_the_network_is_an_unreachable_orphan_and_bad_limits_are_refused() {
    // At sea, ~3 km south of the coast, listed with a ceasing GP.
    let ds = tight("SEA1,7.43,43.70,MGP02,assigned\n", "", &[]);
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path().to_str().unwrap();
    let d = ds.path().to_str().unwrap();
    let doc = common::bacino_json(&[
        "--cache-dir",
        c,
        "scenario",
        d,
        "--cease",
        "MGP02,MGP03",
        "--metric",
        "car",
    ]);
    assert_eq!(doc["unreachable"], 1);
    assert!(doc["orphans"].as_u64().unwrap() >= 1);
    assert_eq!(
        doc["placed"].as_u64().unwrap() + doc["orphans"].as_u64().unwrap(),
        doc["patients"].as_u64().unwrap()
    );
    // Under the geodesic the same patient is placed: nothing unreachable.
    let geo = common::bacino_json(&["scenario", d, "--cease", "MGP02,MGP03"]);
    assert!(geo.get("unreachable").is_none());
    assert_eq!(geo["metric"], "geodesic");
    for (flag, value, want) in [
        ("--max-time-s", "0", "max_time_s"),
        ("--max-time-s", "NaN", "max_time_s"),
        (
            "--metric",
            "bus",
            "expected `geodesic`, `car`, `foot` or `table`",
        ),
        ("--metric", "table", "no [costs]"),
    ] {
        let mut args = vec![
            "--cache-dir",
            c,
            "scenario",
            d,
            "--cease",
            "MGP02",
            flag,
            value,
        ];
        if flag != "--metric" {
            args.extend(["--metric", "car"]);
        }
        let e = bacino_fails(&args);
        assert!(e.contains(want), "{flag} {value}: {e}");
    }
}
