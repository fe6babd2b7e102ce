//! The real binary: `bacino serve` on port 0 answers exactly what
//! `bacino stats` prints, and never reveals a resident.

mod common;

use std::process::Command;

use common::server::Server;
use common::{bacino_json, fixture_dir, monaco_dir, read_csv};
use serde_json::Value;

#[test]
fn the_server_answers_exactly_what_the_cli_prints() {
    let server = Server::start();
    let dir = fixture_dir();
    let d = dir.to_str().unwrap();
    for (query, args) in [
        (
            "to=nearest&kind=gp",
            vec!["--to", "nearest", "--kind", "gp"],
        ),
        (
            "to=assigned&group_by=group",
            vec!["--to", "assigned", "--group-by", "group"],
        ),
        (
            "to=nearest&kind=cdc&group_by=municipality",
            vec![
                "--to",
                "nearest",
                "--kind",
                "cdc",
                "--group-by",
                "municipality",
            ],
        ),
    ] {
        let (status, body) = server.get(&format!("/v1/datasets/bergamo/distances?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        let mut a = vec!["stats", d];
        a.extend(args);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            bacino_json(&a),
            "{query}"
        );
    }
    // A cessation: the same document over HTTP and from the CLI.
    let (status, body) = server.post(
        "/v1/datasets/bergamo/scenarios",
        r#"{"cease": ["GP0012", "GP0044", "GP0101"], "max_distance_m": 25000}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        common::answer_of(serde_json::from_str::<Value>(&body).unwrap()),
        bacino_json(&[
            "scenario",
            d,
            "--cease",
            "GP0012,GP0044,GP0101",
            "--max-distance-m",
            "25000"
        ])
    );
    // 300 sequential queries, none failing.
    for i in 0..300 {
        let q = [
            "to=nearest&kind=gp",
            "to=assigned&group_by=group",
            "to=nearest&kind=pharmacy&group_by=area",
        ][i % 3];
        assert_eq!(
            server.get(&format!("/v1/datasets/bergamo/distances?{q}")).0,
            200
        );
    }
}

/// No resident id or coordinate appears in any response.
#[test]
fn no_response_reveals_a_resident() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start_with(&[fixture_dir(), monaco_dir()], Some(cache.path()));
    let mut bodies = Vec::new();
    // The road-network metrics of the Monaco dataset.
    for path in [
        "/v1/datasets/monaco/distances?to=nearest&kind=pharmacy&metric=car",
        "/v1/datasets/monaco/distances?to=nearest&kind=pharmacy&metric=foot",
        "/v1/datasets/monaco/distances?to=nearest&kind=pharmacy&metric=car&group_by=facility",
        "/v1/datasets/monaco/distances?to=nearest&kind=pharmacy&metric=foot&group_by=facility",
        "/v1/datasets/monaco/isochrones?metric=foot&kind=pharmacy&minutes=5,10,15",
        "/v1/datasets/monaco/isochrones?metric=car&kind=pharmacy&minutes=5&union=true",
        "/v1/datasets/monaco/catchments?kind=pharmacy&metric=car",
        "/v1/datasets/monaco/catchments?kind=pharmacy&metric=foot",
    ] {
        let (status, body) = server.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        bodies.push(body);
    }
    // Cessations minimising travel time by road; the car one is also
    // what the CLI prints.
    for (metric, extra) in [("car", ""), ("foot", r#", "max_time_s": 1800"#)] {
        let (status, body) = server.post(
            "/v1/datasets/monaco/scenarios",
            &format!(
                r#"{{"cease": ["MGP02", "MGP03"], "metric": "{metric}", "assign_unlisted": true{extra}}}"#
            ),
        );
        assert_eq!(status, 201, "{metric}: {body}");
        let doc: Value = common::answer_of(serde_json::from_str(&body).unwrap());
        assert_eq!(doc["metric"], metric);
        assert_eq!(doc["network"]["profile"], metric);
        assert!(doc["network"]["sha256"].as_str().unwrap().len() == 64);
        if metric == "car" {
            let m = monaco_dir();
            assert_eq!(
                doc,
                bacino_json(&[
                    "--cache-dir",
                    cache.path().to_str().unwrap(),
                    "scenario",
                    m.to_str().unwrap(),
                    "--cease",
                    "MGP02,MGP03",
                    "--metric",
                    "car",
                    "--assign-unlisted",
                ])
            );
        }
        bodies.push(body);
    }
    for path in [
        "/health",
        "/v1/datasets",
        "/openapi.json",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality",
        "/v1/datasets/bergamo/distances?to=assigned&group_by=facility",
        "/v1/datasets/bergamo/distances?to=assigned&group_by=gp_id",
        "/v1/datasets/bergamo/distances?to=nearest&kind=cdc&group_by=area",
        "/v1/datasets/bergamo/distances?to=assigned&group_by=group",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=nothing",
        "/v1/datasets/bergamo/ad?by=week",
        "/v1/datasets/bergamo/ad?by=month",
        "/v1/datasets/bergamo/ad?by=week&match_max_m=10000",
        "/v1/datasets/bergamo/aft",
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/bergamo_areas",
        "/ogc/collections/bergamo_facilities_gp/items/GP0001",
        "/v1/datasets/bergamo/catchments?kind=gp&method=voronoi",
        "/v1/datasets/bergamo/catchments?kind=gp&method=assigned",
        "/v1/datasets/bergamo/catchments?kind=cdc&method=bands",
    ] {
        bodies.push(server.get(path).1);
    }
    bodies.push(
        server
            .post(
                "/v1/datasets/bergamo/scenarios",
                r#"{"cease": ["GP0012", "GP0044"], "assign_unlisted": true}"#,
            )
            .1,
    );
    let (status, body) = server.post(
        "/v1/datasets/bergamo/compare",
        r#"{"plans": [{"name": "levers", "plan": {"cease": ["GP0012", "GP0044"],
            "open": [{"id": "NEW01", "lon": 9.67, "lat": 45.69, "capacity": 150}],
            "capacity": {"*": 185}, "assign_unlisted": true}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    bodies.push(body);
    for req in [
        r#"{"model": "pmedian", "p": 3, "candidates": "kind:cdc"}"#,
        r#"{"model": "pcenter", "p": 20, "candidates": "areas", "demand": "areas"}"#,
        r#"{"model": "mclp", "p": 5, "service_distance": 3000, "candidates": "areas", "demand_group": "no_gp"}"#,
    ] {
        let (status, body) = server.post("/v1/datasets/bergamo/siting", req);
        assert_eq!(status, 201, "{body}");
        bodies.push(body);
    }
    // Every feature of every OGC collection.
    let collections: Value = serde_json::from_str(&server.get("/ogc/collections").1).unwrap();
    for c in collections["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let (status, body) = server.get(&format!("/ogc/collections/{id}/items?limit=10000"));
        assert_eq!(status, 200, "{id}");
        bodies.push(body);
    }
    let all = bodies.join("\n");
    // Every token of every response, and every pair of consecutive numbers
    // (either order) cut to 6 decimals (~10 cm): a leak copies coordinates,
    // perhaps rounded. Single numbers, or 5 decimals (~1 m), are not enough:
    // public facility coordinates and H3 cell vertices fall within a metre
    // of some resident by chance.
    let trunc = |t: &str| -> String {
        match t.find('.') {
            Some(p) => t[..(p + 7).min(t.len())].to_owned(),
            None => t.to_owned(),
        }
    };
    let raw: Vec<&str> = all
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .filter(|t| !t.is_empty())
        .collect();
    let tokens: std::collections::HashSet<&str> = raw.iter().copied().collect();
    let numbers: Vec<String> = raw
        .iter()
        .filter(|t| t.parse::<f64>().is_ok())
        .map(|t| trunc(t))
        .collect();
    let pairs: std::collections::HashSet<(&str, &str)> = numbers
        .windows(2)
        .flat_map(|w| {
            [
                (w[0].as_str(), w[1].as_str()),
                (w[1].as_str(), w[0].as_str()),
            ]
        })
        .collect();
    assert!(pairs.len() > 10_000, "the scan saw the features");
    let (header, mut rows) = read_csv(&fixture_dir().join("residents.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (id, lon, lat) = (col("id"), col("lon"), col("lat"));
    // Monaco's residents (columns id, lon, lat first) in the same layout.
    let (mh, mrows) = read_csv(&monaco_dir().join("residents.csv"));
    assert_eq!(mh[..3], ["id", "lon", "lat"]);
    for r in mrows {
        let mut row = vec![String::new(); header.len()];
        (row[id], row[lon], row[lat]) = (r[0].clone(), r[1].clone(), r[2].clone());
        rows.push(row);
    }
    for r in &rows {
        assert!(
            !tokens.contains(r[id].as_str()),
            "resident id {} leaked",
            r[id]
        );
        let (x, y) = (trunc(&r[lon]), trunc(&r[lat]));
        assert!(
            !pairs.contains(&(x.as_str(), y.as_str())),
            "resident location {x},{y} leaked"
        );
    }
    // Suppression: facility groups smaller than 10 people are suppressed.
    let by_facility: Value = serde_json::from_str(
        &server
            .get("/v1/datasets/bergamo/distances?to=assigned&group_by=facility")
            .1,
    )
    .unwrap();
    for g in by_facility["groups"].as_array().unwrap() {
        match g["count"].as_f64() {
            Some(c) => assert!(c >= 10.0, "{g}"),
            None => assert_eq!(g["suppressed"], true),
        }
    }
}

/// Under a network metric the server answers what the CLI prints, naming
/// the extract and profile.
#[test]
fn network_metrics_over_http_equal_the_cli() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start_with(&[monaco_dir()], Some(cache.path()));
    let d = monaco_dir();
    let c = cache.path().to_str().unwrap();
    for metric in ["car", "foot"] {
        let (status, body) = server.get(&format!(
            "/v1/datasets/monaco/distances?to=nearest&kind=pharmacy&metric={metric}"
        ));
        assert_eq!(status, 200, "{body}");
        let got: Value = serde_json::from_str(&body).unwrap();
        let want = bacino_json(&[
            "--cache-dir",
            c,
            "stats",
            d.to_str().unwrap(),
            "--to",
            "nearest",
            "--kind",
            "pharmacy",
            "--metric",
            metric,
        ]);
        assert_eq!(got, want, "{metric}");
        assert_eq!(got["network"]["profile"], metric);
        assert!(got["network"]["path"]
            .as_str()
            .unwrap()
            .ends_with("monaco.osm.pbf"));
        assert_eq!(got["network"]["sha256"].as_str().unwrap().len(), 64);
        assert!(got["groups"][0]["median_s"].as_f64().unwrap() > 0.0);
    }
    let (status, body) =
        server.get("/v1/datasets/monaco/distances?to=nearest&kind=pharmacy&metric=bus");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"parameter\":\"metric\""), "{body}");
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// GDAL's OGC API – Features driver (what QGIS uses) opens the service,
/// lists the collections and reads every feature through paging.
#[test]
fn gdal_reads_every_collection_through_paging() {
    if !on_path("ogrinfo") {
        // CI installs gdal-bin; elsewhere the test says why it did nothing.
        assert!(
            std::env::var_os("CI").is_none(),
            "ogrinfo (gdal-bin) is required in CI"
        );
        eprintln!("SKIPPED gdal_reads_every_collection_through_paging: ogrinfo not on PATH (apt-get install gdal-bin)");
        return;
    }
    let server = Server::start();
    let url = format!("OAPIF:http://{}/ogc", server.addr);
    let ogrinfo = |args: &[&str]| -> String {
        let out = Command::new("ogrinfo")
            .args(["-ro", "--config", "GDAL_HTTP_TIMEOUT", "60"])
            .args(args)
            .output()
            .expect("run ogrinfo");
        assert!(
            out.status.success(),
            "ogrinfo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Expected counts, read from the dataset files themselves.
    let (header, rows) = read_csv(&fixture_dir().join("facilities.csv"));
    let kind = header.iter().position(|h| h == "kind").unwrap();
    let mut want: Vec<(String, usize)> = Vec::new();
    for r in &rows {
        let layer = format!("bergamo_facilities_{}", r[kind]);
        match want.iter_mut().find(|(l, _)| *l == layer) {
            Some((_, n)) => *n += 1,
            None => want.push((layer, 1)),
        }
    }
    let areas: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("areas.geojson")).unwrap(),
    )
    .unwrap();
    want.push((
        "bergamo_areas".into(),
        areas["features"].as_array().unwrap().len(),
    ));
    for kind in ["gp", "pediatrician"] {
        want.push((
            format!("bergamo_access_{kind}"),
            areas["features"].as_array().unwrap().len(),
        ));
    }
    // Catchments: as many features as the JSON endpoint draws.
    for kind in ["gp", "cdc"] {
        for method in ["voronoi", "assigned", "bands"] {
            let (status, body) = server.get(&format!(
                "/v1/datasets/bergamo/catchments?kind={kind}&method={method}"
            ));
            assert_eq!(status, 200, "{kind} {method}");
            let doc: Value = serde_json::from_str(&body).unwrap();
            want.push((
                format!("bergamo_catchments_{kind}_{method}"),
                doc["features"].as_array().unwrap().len(),
            ));
        }
    }
    let listing = ogrinfo(&["-so", &url]);
    for (layer, _) in &want {
        assert!(
            listing.contains(&format!(": {layer} ")),
            "{layer} missing:\n{listing}"
        );
    }
    // Pages of 40 features: the 597 GP surgeries take 15 requests.
    for (layer, n) in &want {
        let all = ogrinfo(&["-al", "-oo", "PAGE_SIZE=40", &url, layer]);
        let got = all.lines().filter(|l| l.starts_with("OGRFeature(")).count();
        assert_eq!(got, *n, "{layer}");
    }
}
