//! Road-network metrics from the command line, on the real Monaco extract
//! (© OpenStreetMap contributors, ODbL): `stats --metric car|foot` against
//! a plain Dijkstra per resident, `route`, the graph cache, unreachable
//! residents and every kind of bad network input.

mod common;

use std::path::{Path, PathBuf};

use bacino_network::{NetworkSpec, Profile, ProfileName, RoadNetwork, Search, Target};
use common::{
    bacino_fails, bacino_json, monaco_dir, monaco_pbf, monaco_sample, multipolygon,
    numpy_percentile, read_csv, TempDataset,
};
use serde_json::Value;

fn monaco() -> PathBuf {
    monaco_dir()
}

fn pbf() -> PathBuf {
    monaco_pbf()
}

fn sample(step: usize, extra: &str, network: &str) -> TempDataset {
    monaco_sample(step, extra, network)
}

fn net(profile: ProfileName) -> RoadNetwork {
    RoadNetwork::build(&NetworkSpec {
        path: pbf(),
        profile: Profile::builtin(profile),
        snap_max_m: 1000.0,
    })
    .unwrap()
}

fn stats(ds: &Path, cache: &Path, metric: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "--cache-dir",
        cache.to_str().unwrap(),
        "stats",
        ds.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "pharmacy",
        "--metric",
        metric,
    ];
    args.extend(extra);
    bacino_json(&args)
}

#[test]
fn nearest_pharmacy_by_road_equals_a_dijkstra_per_resident() {
    let ds = sample(97, "", "");
    let cache = tempfile::tempdir().unwrap();
    let (_, mut facilities) = read_csv(&ds.path().join("facilities.csv"));
    facilities.retain(|f| f[1] == "pharmacy");
    let (_, residents) = read_csv(&ds.path().join("residents.csv"));
    for (metric, profile) in [("car", ProfileName::Car), ("foot", ProfileName::Foot)] {
        let per = ds.path().join(format!("{metric}.csv"));
        let doc = stats(
            ds.path(),
            cache.path(),
            metric,
            &["--per-resident", per.to_str().unwrap()],
        );
        // The oracle: one forward Dijkstra from each resident to every
        // pharmacy, keeping the fastest (ties to the earlier pharmacy).
        let net = net(profile);
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
        let mut search = Search::new(net.graph().node_count());
        let (_, rows) = read_csv(&per);
        assert_eq!(rows.len(), residents.len());
        let (mut times, mut lengths) = (Vec::new(), Vec::new());
        for (r, row) in residents.iter().zip(&rows) {
            assert_eq!(row[0], r[0]);
            let snap = net
                .snap([r[1].parse().unwrap(), r[2].parse().unwrap()])
                .unwrap();
            let costs = net.costs_from(&mut search, &snap, &targets);
            let (best, i) = costs
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, i))
                .min()
                .unwrap();
            assert_eq!(row[1], facilities[i][0], "{metric}: resident {}", r[0]);
            assert_eq!(row[2], format!("{:.3}", best.length_m()), "{metric}");
            assert_eq!(row[3], format!("{:.3}", best.time_s()), "{metric}");
            times.push(best.time_s());
            lengths.push(best.length_m());
        }
        let g = &doc["groups"][0];
        assert_eq!(doc["metric"], metric);
        assert_eq!(doc["unreachable"], 0);
        assert_eq!(g["count"].as_f64().unwrap(), residents.len() as f64);
        for (q, k) in [(0.5, "median"), (0.25, "p25"), (0.9, "p90")] {
            let t = numpy_percentile(&times, q);
            let l = numpy_percentile(&lengths, q);
            assert!(
                (g[format!("{k}_s")].as_f64().unwrap() - t).abs() < 1e-3,
                "{metric} {k}"
            );
            assert!(
                (g[format!("{k}_m")].as_f64().unwrap() - l).abs() < 1e-3,
                "{metric} {k}"
            );
        }
        let max = times.iter().copied().fold(0.0, f64::max);
        assert!((g["max_s"].as_f64().unwrap() - max).abs() < 1e-3);
        // Walking is slower than driving and follows no one-way streets.
        if metric == "foot" {
            assert!(g["median_s"].as_f64().unwrap() > 120.0);
        }
    }
}

#[test]
fn residents_at_sea_are_unreachable_and_counted() {
    // Three people 3 km out to sea, two of them at one point.
    let ds = sample(
        211,
        "SEA1,7.43,43.70,,no_gp\nSEA2,7.44,43.70,,no_gp\nSEA3,7.44,43.70,,no_gp\n",
        "",
    );
    let cache = tempfile::tempdir().unwrap();
    let geo = bacino_json(&[
        "stats",
        ds.path().to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "pharmacy",
    ]);
    let car = stats(ds.path(), cache.path(), "car", &[]);
    assert_eq!(car["unreachable"], 3);
    assert_eq!(car["unmeasured"], 0);
    let n = geo["groups"][0]["count"].as_f64().unwrap();
    assert_eq!(car["groups"][0]["count"].as_f64().unwrap(), n - 3.0);
    assert!(
        geo.get("unreachable").is_none(),
        "geodesic reaches everyone"
    );
    // A tighter snap limit makes more people unreachable, never fewer.
    let tight = sample(211, "SEA1,7.43,43.70,,no_gp\n", "snap_max_m = 30\n");
    let t = stats(tight.path(), cache.path(), "foot", &[]);
    assert!(t["unreachable"].as_f64().unwrap() > 1.0, "{t}");
}

#[test]
fn a_route_is_a_line_with_the_fastest_duration_and_its_length() {
    let cache = tempfile::tempdir().unwrap();
    let (from, to) = ([7.4197, 43.7311], [7.4287, 43.7392]);
    let doc = bacino_json(&[
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "route",
        monaco().to_str().unwrap(),
        "--metric",
        "car",
        "--from",
        "7.4197,43.7311",
        "--to",
        "7.4287,43.7392",
    ]);
    assert_eq!(doc["type"], "Feature");
    assert_eq!(doc["geometry"]["type"], "LineString");
    let coords = doc["geometry"]["coordinates"].as_array().unwrap();
    assert!(coords.len() > 5);
    assert_eq!(coords[0][0].as_f64().unwrap(), from[0]);
    assert_eq!(coords.last().unwrap()[1].as_f64().unwrap(), to[1]);
    let net = net(ProfileName::Car);
    let mut search = Search::new(net.graph().node_count());
    let t = Target {
        label: 0,
        snap: net.snap(to).unwrap(),
    };
    let c = net.costs_from(&mut search, &net.snap(from).unwrap(), &[t])[0];
    assert_eq!(
        doc["properties"]["duration_s"].as_f64().unwrap(),
        c.time_s()
    );
    assert_eq!(
        doc["properties"]["distance_m"].as_f64().unwrap(),
        c.length_m()
    );
    assert_eq!(doc["properties"]["network"]["profile"], "car");
    // The drawn line is as long as the route (it follows its segments).
    let drawn: f64 = coords
        .windows(2)
        .map(|w| {
            let p = |v: &Value| [v[0].as_f64().unwrap(), v[1].as_f64().unwrap()];
            bacino_network::segment_length_m(p(&w[0]), p(&w[1]))
        })
        .sum();
    let snaps: f64 = doc["properties"]["snap_m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!(
        (drawn - c.length_m()).abs() < 1.0 + 1e-6 * drawn,
        "{drawn} vs {}",
        c.length_m()
    );
    assert!(snaps < 100.0);

    let e = bacino_fails(&[
        "route",
        monaco().to_str().unwrap(),
        "--from",
        "7.43,43.70",
        "--to",
        "7.4287,43.7392",
    ]);
    assert!(e.contains("from the nearest usable road"), "{e}");
    let bergamo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo");
    let e = bacino_fails(&[
        "route",
        bergamo.to_str().unwrap(),
        "--from",
        "9.67,45.69",
        "--to",
        "9.68,45.70",
    ]);
    assert!(e.contains("no [network]"), "{e}");
    let e = bacino_fails(&[
        "route",
        monaco().to_str().unwrap(),
        "--from",
        "7.43",
        "--to",
        "7.4,43.7",
    ]);
    assert!(e.contains("expected LON,LAT"), "{e}");
}

#[test]
fn the_graph_is_cached_and_a_corrupt_cache_is_rebuilt() {
    let ds = sample(500, "", "");
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
            .args(["--cache-dir", cache.path().to_str().unwrap(), "stats"])
            .arg(ds.path())
            .args(["--to", "nearest", "--kind", "pharmacy", "--metric", "car"])
            .output()
            .unwrap();
        assert!(out.status.success());
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (first, log) = run();
    assert!(log.contains("built and cached"), "{log}");
    let (second, log) = run();
    assert!(log.contains("read from cache"), "{log}");
    assert_eq!(first, second);
    let file = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "graph"))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 100);
    std::fs::write(&file, &bytes).unwrap();
    let (third, log) = run();
    assert!(log.contains("rebuilt"), "{log}");
    assert_eq!(first, third);
    let (_, log) = run();
    assert!(log.contains("read from cache"), "{log}");
    // The cache directory is the one asked for, never the repository.
    assert!(!monaco().read_dir().unwrap().any(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "graph")));
}

#[test]
fn bad_network_input_is_refused_with_its_place() {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path().to_str().unwrap();
    let fail = |ds: &TempDataset, metric: &str| {
        bacino_fails(&[
            "--cache-dir",
            c,
            "stats",
            ds.path().to_str().unwrap(),
            "--to",
            "nearest",
            "--kind",
            "pharmacy",
            "--metric",
            metric,
        ])
    };
    let e = fail(
        &sample(500, "", "[network.car.speed_kmh]\nprimray = 50\n"),
        "car",
    );
    assert!(
        e.contains("dataset.toml")
            && e.contains("network.car.speed_kmh")
            && e.contains("`primray`"),
        "{e}"
    );
    let e = fail(
        &sample(500, "", "[network.foot.speed_kmh]\nfootway = -2\n"),
        "foot",
    );
    assert!(
        e.contains("network.foot.speed_kmh") && e.contains("positive speed"),
        "{e}"
    );
    let e = fail(&sample(500, "", "snap_max_m = 0\n"), "car");
    assert!(e.contains("network.snap_max_m"), "{e}");
    let e = fail(&sample(500, "", "turns = true\n"), "car");
    assert!(e.contains("dataset.toml") && e.contains("turns"), "{e}");
    // The manifest names a file that is not there.
    let missing = TempDataset::new(
        "name = \"m\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n[network]\npath = \"roads.osm.pbf\"\n",
        &[("f.csv", "id,kind,lon,lat\nP1,pharmacy,7.42,43.73\n"), ("r.csv", "id,lon,lat\nR1,7.42,43.73\n")],
    );
    let e = fail(&missing, "car");
    assert!(
        e.contains("network.path") && e.contains("roads.osm.pbf"),
        "{e}"
    );
    // A truncated extract: named, and nothing cached from it.
    let bytes = std::fs::read(pbf()).unwrap();
    std::fs::write(
        missing.path().join("roads.osm.pbf"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let e = fail(&missing, "car");
    assert!(
        e.contains("roads.osm.pbf") && e.contains("expected an OpenStreetMap PBF extract"),
        "{e}"
    );
    // Not a PBF at all.
    std::fs::write(
        missing.path().join("roads.osm.pbf"),
        "<?xml version='1.0'?><osm/>",
    )
    .unwrap();
    let e = fail(&missing, "foot");
    assert!(e.contains("expected an OpenStreetMap PBF extract"), "{e}");
    // An extract that does not cover the residents (Monaco roads, Bergamo people).
    let elsewhere = TempDataset::new(
        &format!(
            "name = \"m\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n[network]\npath = {:?}\n",
            pbf().to_str().unwrap()
        ),
        &[
            ("f.csv", "id,kind,lon,lat\nP1,pharmacy,9.67,45.69\n"),
            ("r.csv", "id,lon,lat\nR1,9.67,45.69\nR2,9.68,45.70\nR3,9.66,45.71\n"),
        ],
    );
    let e = fail(&elsewhere, "car");
    assert!(
        e.contains("expected an extract covering the residents") && e.contains("0 of 3"),
        "{e}"
    );
    // A network metric without a network, and an unknown metric.
    let bergamo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo");
    let e = bacino_fails(&[
        "stats",
        bergamo.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--metric",
        "car",
    ]);
    assert!(e.contains("metric") && e.contains("no [network]"), "{e}");
    let e = bacino_fails(&[
        "stats",
        bergamo.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--metric",
        "bus",
    ]);
    assert!(
        e.contains("expected `geodesic`, `car`, `foot` or `table`"),
        "{e}"
    );
    assert!(!cache.path().read_dir().unwrap().any(|e| {
        let p = e.unwrap().path();
        p.extension().is_some_and(|x| x == "graph") && std::fs::metadata(&p).unwrap().len() == 0
    }));
}

#[test]
fn network_voronoi_divides_the_area_by_the_fastest_pharmacy() {
    let ds = sample(13, "", "");
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path().to_str().unwrap();
    let d = ds.path().to_str().unwrap();
    for metric in ["car", "foot"] {
        let doc = bacino_json(&[
            "--cache-dir",
            c,
            "catchments",
            d,
            "--kind",
            "pharmacy",
            "--metric",
            metric,
            "--min-group-size",
            "0",
        ]);
        assert_eq!(doc["metric"], metric);
        assert_eq!(doc["network"]["profile"], metric);
        let by_facility = stats(
            ds.path(),
            cache.path(),
            metric,
            &["--group-by", "facility", "--min-group-size", "0"],
        );
        let want: std::collections::BTreeMap<String, (f64, f64, f64)> = by_facility["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().unwrap().to_owned(),
                    (
                        g["count"].as_f64().unwrap(),
                        g["median_m"].as_f64().unwrap(),
                        g["median_s"].as_f64().unwrap(),
                    ),
                )
            })
            .collect();
        let features = doc["features"].as_array().unwrap();
        let mut polygons = Vec::new();
        for f in features {
            let p = &f["properties"];
            let id = p["facility_id"].as_str().unwrap();
            match want.get(id) {
                Some(&(n, m, s)) => {
                    assert_eq!(p["population"].as_f64().unwrap(), n, "{metric} {id}");
                    assert_eq!(p["median_m"].as_f64().unwrap(), m, "{metric} {id}");
                    assert_eq!(p["median_s"].as_f64().unwrap(), s, "{metric} {id}");
                }
                None => assert_eq!(p["population"].as_f64().unwrap(), 0.0, "{metric} {id}"),
            }
            if !f["geometry"].is_null() {
                let mp = multipolygon(&f["geometry"]);
                assert!(geo::Validation::is_valid(&mp), "{metric} {id}");
                polygons.push(mp);
            }
        }
        assert!(polygons.len() >= 15, "{metric}: {}", polygons.len());
        for i in 0..polygons.len() {
            for j in i + 1..polygons.len() {
                let o = geo::GeodesicArea::geodesic_area_unsigned(&geo::BooleanOps::intersection(
                    &polygons[i],
                    &polygons[j],
                ));
                assert!(o < 1.0, "{metric}: catchments overlap by {o} m²");
            }
        }
    }
    let e = bacino_fails(&[
        "--cache-dir",
        c,
        "catchments",
        d,
        "--kind",
        "pharmacy",
        "--metric",
        "car",
        "--method",
        "bands",
    ]);
    assert!(e.contains("geodesic") && e.contains("voronoi"), "{e}");
}

#[test]
fn the_assigned_gp_by_road_equals_a_dijkstra_per_resident() {
    // Three GP surgeries in Monaco; every 150th resident listed with one.
    let gps = [
        ("GPA", 7.4201, 43.7318),
        ("GPB", 7.4262, 43.7395),
        ("GPC", 7.4105, 43.7278),
    ];
    let mut facilities = String::from("id,kind,lon,lat\n");
    for (id, lon, lat) in gps {
        facilities += &format!("{id},gp,{lon},{lat}\n");
    }
    let all = std::fs::read_to_string(monaco().join("residents.csv")).unwrap();
    let mut residents = String::from("id,lon,lat,gp_id\n");
    let mut rows = Vec::new();
    for (i, line) in all
        .lines()
        .skip(1)
        .enumerate()
        .filter(|(i, _)| i % 150 == 0)
    {
        let f: Vec<&str> = line.split(',').collect();
        let gp = gps[i % 3];
        residents += &format!("{},{},{},{}\n", f[0], f[1], f[2], gp.0);
        rows.push((
            f[0].to_owned(),
            [f[1].parse::<f64>().unwrap(), f[2].parse().unwrap()],
            gp,
        ));
    }
    let manifest = format!(
        "name = \"g\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n[network]\npath = {:?}\n",
        pbf().to_str().unwrap()
    );
    let ds = TempDataset::new(&manifest, &[("f.csv", &facilities), ("r.csv", &residents)]);
    let cache = tempfile::tempdir().unwrap();
    let per = ds.path().join("per.csv");
    let doc = bacino_json(&[
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "stats",
        ds.path().to_str().unwrap(),
        "--to",
        "assigned",
        "--metric",
        "car",
        "--per-resident",
        per.to_str().unwrap(),
    ]);
    assert_eq!(doc["unreachable"], 0);
    let net = net(ProfileName::Car);
    let mut search = Search::new(net.graph().node_count());
    let (_, got) = read_csv(&per);
    assert_eq!(got.len(), rows.len());
    for ((id, p, gp), row) in rows.iter().zip(&got) {
        assert_eq!(&row[0], id);
        assert_eq!(row[1], gp.0);
        let t = Target {
            label: 0,
            snap: net.snap([gp.1, gp.2]).unwrap(),
        };
        let c = net.costs_from(&mut search, &net.snap(*p).unwrap(), &[t])[0];
        assert_eq!(row[2], format!("{:.3}", c.length_m()), "{id}");
        assert_eq!(row[3], format!("{:.3}", c.time_s()), "{id}");
    }
}
