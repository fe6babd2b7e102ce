//! `bacino scenario` as a user runs it on the bundled dataset, checked
//! against an independent min-cost max-flow: successive shortest paths with
//! a label-correcting (Bellman–Ford queue) search on the *full* bipartite
//! graph, every patient–GP pair within reach, distances by GeographicLib.

mod common;

use std::collections::{BTreeMap, VecDeque};

use common::{bacino_fails, bacino_json, fixture_dir, karney_m, read_csv};
use serde_json::Value;

struct Gp {
    id: String,
    lon: f64,
    lat: f64,
    room: i64,
}

/// The ceasing GPs' listed patients (lon, lat) and the receiving GPs with
/// room, read straight from the fixture CSVs.
fn fixture_problem(cease: &[&str]) -> (Vec<(f64, f64)>, Vec<Gp>) {
    let dir = fixture_dir();
    let (h, rows) = read_csv(&dir.join("facilities.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let gps = rows
        .iter()
        .filter(|r| r[col("kind")] == "gp" && r[col("status")] == "active")
        .filter(|r| !cease.contains(&r[col("id")].as_str()))
        .map(|r| Gp {
            id: r[col("id")].clone(),
            lon: r[col("lon")].parse().unwrap(),
            lat: r[col("lat")].parse().unwrap(),
            room: r[col("capacity")].parse::<i64>().unwrap()
                - r[col("list_size")].parse::<i64>().unwrap(),
        })
        .filter(|g| g.room > 0)
        .collect();
    let (h, rows) = read_csv(&dir.join("residents.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let patients = rows
        .iter()
        .filter(|r| cease.contains(&r[col("gp_id")].as_str()) && r[col("group")] != "ad_user")
        .map(|r| {
            assert_eq!(r[col("weight")], "1");
            (
                r[col("lon")].parse().unwrap(),
                r[col("lat")].parse().unwrap(),
            )
        })
        .collect();
    (patients, gps)
}

/// Min-cost max-flow by successive shortest s–t paths found with a
/// label-correcting search (no potentials): (placed, total metres). Costs
/// are whole millimetres, as in bacino.
fn oracle(patients: &[(f64, f64)], gps: &[Gp], max_d: f64) -> (u64, f64) {
    struct Edge {
        to: usize,
        cap: i64,
        cost: i64,
        metres: f64,
    }
    let (np, ng) = (patients.len(), gps.len());
    let (s, t, n) = (0, np + ng + 1, np + ng + 2);
    let mut edges: Vec<Edge> = Vec::new();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut add = |u: usize, v: usize, cap: i64, metres: f64, adj: &mut Vec<Vec<usize>>| {
        let cost = (metres * 1000.0).round() as i64;
        adj[u].push(edges.len());
        edges.push(Edge {
            to: v,
            cap,
            cost,
            metres,
        });
        adj[v].push(edges.len());
        edges.push(Edge {
            to: u,
            cap: 0,
            cost: -cost,
            metres: -metres,
        });
    };
    for (i, p) in patients.iter().enumerate() {
        add(s, 1 + i, 1, 0.0, &mut adj);
        for (j, g) in gps.iter().enumerate() {
            let d = karney_m(p.0, p.1, g.lon, g.lat);
            if d <= max_d {
                add(1 + i, 1 + np + j, 1, d, &mut adj);
            }
        }
    }
    for (j, g) in gps.iter().enumerate() {
        add(1 + np + j, t, g.room, 0.0, &mut adj);
    }
    loop {
        let mut dist = vec![i64::MAX; n];
        let mut via = vec![usize::MAX; n];
        let mut queued = vec![false; n];
        dist[s] = 0;
        let mut queue = VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            queued[u] = false;
            for &e in &adj[u] {
                let (v, c) = (edges[e].to, edges[e].cost);
                if edges[e].cap > 0 && dist[u] + c < dist[v] {
                    dist[v] = dist[u] + c;
                    via[v] = e;
                    if !queued[v] {
                        queued[v] = true;
                        queue.push_back(v);
                    }
                }
            }
        }
        if dist[t] == i64::MAX {
            break;
        }
        let mut v = t;
        while v != s {
            let e = via[v];
            edges[e].cap -= 1;
            edges[e ^ 1].cap += 1;
            v = edges[e ^ 1].to;
        }
    }
    let (mut placed, mut total) = (0, 0.0);
    for i in 0..np {
        for &e in &adj[1 + i] {
            let to = edges[e].to;
            if to > np && to <= np + ng && edges[e].cap == 0 && edges[e].metres >= 0.0 {
                placed += 1;
                total += edges[e].metres;
            }
        }
    }
    (placed, total)
}

fn check_against_oracle(cease: &[&str], max_d: f64) -> Value {
    let (patients, gps) = fixture_problem(cease);
    let (placed, total) = oracle(&patients, &gps, max_d);
    let doc = bacino_json(&[
        "scenario",
        fixture_dir().to_str().unwrap(),
        "--cease",
        &cease.join(","),
        "--max-distance-m",
        &max_d.to_string(),
        // Every per-GP count, however small, to check room GP by GP.
        "--min-group-size",
        "0",
    ]);
    assert_eq!(doc["patients"].as_u64().unwrap(), patients.len() as u64);
    assert_eq!(doc["placed"].as_u64().unwrap(), placed);
    assert_eq!(
        doc["orphans"].as_u64().unwrap(),
        patients.len() as u64 - placed
    );
    assert_eq!(doc["optimality"]["proven"], true);
    // Two optimal solutions in whole millimetres differ by at most 1 mm a
    // person in metres.
    let got = doc["total_distance_m"].as_f64().unwrap();
    assert!(
        (got - total).abs() <= placed as f64 * 0.001 + 0.001,
        "total {got} vs oracle {total}"
    );
    // Room is respected and the new patients add up.
    let room: BTreeMap<&str, i64> = gps.iter().map(|g| (g.id.as_str(), g.room)).collect();
    let mut sum = 0;
    for g in doc["by_gp"].as_array().unwrap() {
        let n = g["new_patients"].as_u64().unwrap();
        assert!(n as i64 <= room[g["id"].as_str().unwrap()], "{g}");
        sum += n;
    }
    assert_eq!(sum, placed);
    assert_eq!(doc["new_distance"]["count"].as_u64().unwrap(), placed);
    doc
}

#[test]
fn two_ceasing_gps_in_bergamo_are_reassigned_at_the_oracle_minimum() {
    let doc = check_against_oracle(&["GP0055", "GP0058"], 30_000.0);
    assert_eq!(doc["orphans"], 0);
    assert_eq!(doc["ceased"], serde_json::json!(["GP0055", "GP0058"]));
    assert_eq!(doc["max_distance_m"], 30_000.0);
    let keys: Vec<&str> = doc["by_municipality"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"016024"), "{keys:?}");
}

#[test]
fn a_short_maximum_distance_leaves_the_same_orphans_as_the_oracle() {
    let doc = check_against_oracle(&["GP0001", "GP0002", "GP0003"], 4_000.0);
    assert!(doc["orphans"].as_u64().unwrap() > 0, "{}", doc["orphans"]);
}

#[test]
fn bad_cease_lists_are_explained() {
    let dir = fixture_dir();
    let d = dir.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["scenario", d, "--cease", "GP9999"],
            "unknown facility id `GP9999`",
        ),
        (vec!["scenario", d, "--cease", "GP0595"], "not an active GP"),
        (vec!["scenario", d, "--cease", "CDC01"], "not an active GP"),
        (vec!["scenario", d], "cease"),
        (
            vec!["scenario", d, "--cease", "GP0001", "--max-distance-m=-5"],
            "max_distance_m",
        ),
    ] {
        let err = bacino_fails(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn the_answer_does_not_depend_on_the_number_of_threads() {
    let d = fixture_dir();
    let d = d.to_str().unwrap();
    let args = |t: &'static str| {
        vec![
            "--threads",
            t,
            "scenario",
            d,
            "--cease",
            "GP0055,GP0058,GP0059",
            "--assign-unlisted",
        ]
    };
    let one = bacino_json(&args("1"));
    let two = bacino_json(&args("2"));
    assert_eq!(one, two);
    assert!(one["unlisted"].as_u64().unwrap() > 0);
}
