//! `bacino isochrones` on the real Monaco extract (© OpenStreetMap
//! contributors, ODbL): populations against a Dijkstra per resident and
//! against `stats --per-resident`, valid disjoint bands, bad requests.

mod common;

use std::path::{Path, PathBuf};

use bacino_network::{NetworkSpec, Profile, ProfileName, RoadNetwork, Search, Target};
use common::{
    bacino_fails, bacino_json, monaco_dir, monaco_sample, multipolygon, read_csv, TempDataset,
};
use geo::{BooleanOps, GeodesicArea, MultiPolygon, Validation};

fn monaco() -> PathBuf {
    monaco_dir()
}

fn sample(step: usize) -> TempDataset {
    monaco_sample(step, "", "")
}

fn band(t_s: f64, edges: &[f64]) -> Option<usize> {
    let m = t_s / 60.0;
    let b = edges.partition_point(|&e| e < m);
    (b < edges.len()).then_some(b)
}

#[test]
fn band_populations_equal_each_residents_own_time_by_dijkstra() {
    let ds = sample(53);
    let cache = tempfile::tempdir().unwrap();
    let edges = [4.0, 9.0, 15.0];
    let doc = bacino_json(&[
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "isochrones",
        ds.path().to_str().unwrap(),
        "--metric",
        "foot",
        "--kind",
        "pharmacy",
        "--minutes",
        "4,9,15",
        "--min-group-size",
        "0",
    ]);
    assert_eq!(doc["type"], "FeatureCollection");
    assert_eq!(doc["network"]["profile"], "foot");
    let net = RoadNetwork::build(&NetworkSpec {
        path: monaco().join("monaco.osm.pbf"),
        profile: Profile::builtin(ProfileName::Foot),
        snap_max_m: 1000.0,
    })
    .unwrap();
    let (_, mut facilities) = read_csv(&ds.path().join("facilities.csv"));
    facilities.retain(|f| f[1] == "pharmacy");
    let (_, residents) = read_csv(&ds.path().join("residents.csv"));
    let targets: Vec<Target> = facilities
        .iter()
        .enumerate()
        .map(|(i, f)| Target {
            label: i as u32,
            snap: net
                .snap([f[3].parse().unwrap(), f[4].parse().unwrap()])
                .unwrap(),
        })
        .collect();
    // want[facility][band]: people whose own walking time is in the band.
    let mut want = vec![[0.0f64; 3]; facilities.len()];
    let mut search = Search::new(net.graph().node_count());
    for r in &residents {
        let Some(snap) = net.snap([r[1].parse().unwrap(), r[2].parse().unwrap()]) else {
            continue;
        };
        for (f, c) in net
            .costs_from(&mut search, &snap, &targets)
            .iter()
            .enumerate()
        {
            if let Some(b) = c.is_finite().then(|| band(c.time_s(), &edges)).flatten() {
                want[f][b] += 1.0;
            }
        }
    }
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), facilities.len() * 3);
    let mut nonempty = 0;
    for f in features {
        let p = &f["properties"];
        let fi = facilities
            .iter()
            .position(|x| x[0] == p["facility_id"].as_str().unwrap())
            .unwrap();
        let b = edges
            .iter()
            .position(|&e| e == p["minutes_max"].as_f64().unwrap())
            .unwrap();
        let lo = if b == 0 { 0.0 } else { edges[b - 1] };
        assert_eq!(p["minutes_min"].as_f64().unwrap(), lo);
        assert_eq!(p["population"].as_f64().unwrap(), want[fi][b], "{p}");
        if !f["geometry"].is_null() {
            nonempty += 1;
            let mp = multipolygon(&f["geometry"]);
            assert!(mp.is_valid(), "{p}");
            let km2 = mp.geodesic_area_unsigned() / 1e6;
            assert!(
                (km2 - p["area_km2"].as_f64().unwrap()).abs() < 1e-3 + 1e-3 * km2,
                "{p}"
            );
        }
    }
    assert!(nonempty > 40, "{nonempty}");
    // A facility's bands do not overlap.
    for fid in facilities.iter().map(|f| &f[0]) {
        let mine: Vec<MultiPolygon<f64>> = features
            .iter()
            .filter(|f| f["properties"]["facility_id"] == fid.as_str() && !f["geometry"].is_null())
            .map(|f| multipolygon(&f["geometry"]))
            .collect();
        for i in 0..mine.len() {
            for j in i + 1..mine.len() {
                let overlap = mine[i].intersection(&mine[j]).geodesic_area_unsigned();
                assert!(overlap < 1.0, "{fid}: bands overlap by {overlap} m²");
            }
        }
    }
}

#[test]
fn the_union_counts_people_by_their_time_to_the_nearest_pharmacy() {
    let ds = sample(7);
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path().to_str().unwrap();
    let d = ds.path().to_str().unwrap();
    let per = ds.path().join("per.csv");
    bacino_json(&[
        "--cache-dir",
        c,
        "stats",
        d,
        "--to",
        "nearest",
        "--kind",
        "pharmacy",
        "--metric",
        "car",
        "--per-resident",
        per.to_str().unwrap(),
    ]);
    let (_, rows) = read_csv(&per);
    let edges = [1.0, 2.0, 5.0];
    let mut want = [0.0f64; 3];
    for r in &rows {
        if let Some(b) = band(r[3].parse().unwrap(), &edges) {
            want[b] += 1.0;
        }
    }
    let doc = bacino_json(&[
        "--cache-dir",
        c,
        "isochrones",
        d,
        "--metric",
        "car",
        "--kind",
        "pharmacy",
        "--minutes",
        "1,2,5",
        "--union",
    ]);
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    for (b, f) in features.iter().enumerate() {
        assert!(f["properties"]["facility_id"].is_null());
        assert_eq!(
            f["properties"]["population"].as_f64().unwrap(),
            want[b],
            "band {b}"
        );
        assert!(multipolygon(&f["geometry"]).is_valid());
    }
    // One facility alone.
    let one = bacino_json(&[
        "--cache-dir",
        c,
        "isochrones",
        d,
        "--metric",
        "car",
        "--kind",
        "pharmacy",
        "--facility",
        &rows[0][1],
    ]);
    assert_eq!(one["features"].as_array().unwrap().len(), 3);
    assert!(one["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["facility_id"] == rows[0][1].as_str()));
}

#[test]
fn isochrones_refuse_what_they_cannot_draw() {
    let m = monaco();
    let d = m.to_str().unwrap();
    let e = bacino_fails(&[
        "isochrones",
        d,
        "--metric",
        "geodesic",
        "--kind",
        "pharmacy",
    ]);
    assert!(e.contains("road-network metric"), "{e}");
    let e = bacino_fails(&[
        "isochrones",
        d,
        "--metric",
        "foot",
        "--kind",
        "pharmacy",
        "--minutes",
        "10,5",
    ]);
    assert!(e.contains("minutes"), "{e}");
    let e = bacino_fails(&[
        "isochrones",
        d,
        "--metric",
        "foot",
        "--kind",
        "pharmacy",
        "--minutes",
        "ten",
    ]);
    assert!(e.contains("expected minutes"), "{e}");
    let e = bacino_fails(&[
        "isochrones",
        d,
        "--metric",
        "foot",
        "--kind",
        "pharmacy",
        "--facility",
        "PH0",
    ]);
    assert!(e.contains("PH0"), "{e}");
    let e = bacino_fails(&["isochrones", d, "--metric", "foot", "--kind", "cdc"]);
    assert!(e.contains("no active facility of kind `cdc`"), "{e}");
    let bergamo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo");
    let e = bacino_fails(&[
        "isochrones",
        bergamo.to_str().unwrap(),
        "--metric",
        "car",
        "--kind",
        "gp",
    ]);
    assert!(e.contains("no [network]"), "{e}");
}
