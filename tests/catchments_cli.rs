//! `bacino catchments` as a user runs it on the Bergamo fixture: output
//! valid RFC 7946 polygons, populations that agree with `bacino stats`,
//! FlatGeobuf readable by GDAL.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{fixture_dir, read_csv};
use geo::{MultiPolygon, Validation};
use serde_json::Value;

fn bacino(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(args)
        .output()
        .expect("run bacino")
}

fn json_of(args: &[&str]) -> Value {
    let out = bacino(args);
    assert!(
        out.status.success(),
        "bacino {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn fixture() -> String {
    fixture_dir().to_string_lossy().into_owned()
}

/// Total weight of the fixture's residents, read from the CSV.
fn fixture_people() -> f64 {
    let (header, rows) = read_csv(&fixture_dir().join("residents.csv"));
    let w = header.iter().position(|h| h == "weight").unwrap();
    rows.iter().map(|r| r[w].parse::<f64>().unwrap()).sum()
}

fn polygons(fc: &Value) -> Vec<MultiPolygon<f64>> {
    let fc: geojson::FeatureCollection = serde_json::from_value(fc.clone()).unwrap();
    fc.features
        .into_iter()
        .filter_map(|f| f.geometry)
        .map(|g| g.try_into().expect("a (multi)polygon"))
        .collect()
}

#[test]
fn voronoi_populations_sum_to_the_residents_and_match_stats_to_nearest() {
    let fixture = fixture();
    let fc = json_of(&[
        "catchments",
        &fixture,
        "--kind",
        "gp",
        "--method",
        "voronoi",
    ]);
    assert_eq!(fc["type"], "FeatureCollection");
    let features = fc["features"].as_array().unwrap();
    let total: f64 = features
        .iter()
        .map(|f| f["properties"]["population"].as_f64().unwrap_or(0.0))
        .sum();
    let suppressed: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["suppressed"] == true)
        .collect();
    assert!(suppressed
        .iter()
        .all(|f| f["properties"].get("population").is_none()));
    let stats = json_of(&[
        "stats",
        &fixture,
        "--to",
        "nearest",
        "--kind",
        "gp",
        "--group-by",
        "facility",
    ]);
    let by_facility: BTreeMap<String, &Value> = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g))
        .collect();
    let mut hidden = 0.0;
    for f in features {
        let p = &f["properties"];
        let id = p["facility_id"].as_str().unwrap();
        match by_facility.get(id) {
            Some(g) if g.get("count").is_some() => {
                assert_eq!(p["population"], g["count"], "{id}");
                assert_eq!(p["median_m"], g["median_m"], "{id}");
                assert_eq!(p["p90_m"], g["p90_m"], "{id}");
            }
            Some(_) => assert_eq!(p["suppressed"], true, "{id}"),
            None => assert_eq!(p["suppressed"], true, "{id} serves nobody"),
        }
        // Shared buildings: the other ids of a feature are never anyone's nearest.
        for other in p["facility_ids"].as_array().unwrap().iter().skip(1) {
            assert!(!by_facility.contains_key(other.as_str().unwrap()));
        }
        if p["suppressed"] == true {
            hidden += by_facility
                .get(id)
                .and_then(|g| g["count"].as_f64())
                .unwrap_or(0.0);
        }
    }
    assert_eq!(hidden, 0.0, "stats and catchments suppress the same groups");
    let in_suppressed = fixture_people() - total;
    assert!(in_suppressed >= 0.0 && in_suppressed <= 10.0 * suppressed.len() as f64);
    // The total is given only when nothing is suppressed (it would give the
    // suppressed populations back by subtraction).
    match fc.get("total_population") {
        Some(t) => {
            assert!(suppressed.is_empty());
            assert_eq!(t.as_f64().unwrap(), fixture_people());
        }
        None => assert!(!suppressed.is_empty()),
    }
    assert!(features
        .iter()
        .any(|f| f["properties"]["facility_ids"].as_array().unwrap().len() > 1));
    assert!(polygons(&fc).iter().all(|g| g.is_valid()));
}

#[test]
fn assigned_and_bands_are_valid_for_gps_and_case_di_comunita() {
    let fixture = fixture();
    for kind in ["gp", "cdc"] {
        for method in ["assigned", "bands"] {
            let fc = json_of(&["catchments", &fixture, "--kind", kind, "--method", method]);
            let polys = polygons(&fc);
            assert!(!polys.is_empty(), "{kind} {method}: no geometry");
            assert!(
                polys.iter().all(|g| g.is_valid()),
                "{kind} {method}: invalid"
            );
        }
    }
    let bands = json_of(&[
        "catchments",
        &fixture,
        "--kind",
        "cdc",
        "--method",
        "bands",
        "--bands",
        "1000,3000",
    ]);
    let edges: Vec<(Value, Value)> = bands["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["band_min_m"].clone(),
                f["properties"]["band_max_m"].clone(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        vec![
            (Value::from(0), Value::from(1000)),
            (Value::from(1000), Value::from(3000)),
            (Value::from(3000), Value::Null)
        ]
    );
}

#[test]
fn a_bad_method_fails_naming_the_parameter() {
    let out = bacino(&[
        "catchments",
        &fixture(),
        "--kind",
        "gp",
        "--method",
        "delaunay",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("method") && err.contains("delaunay"), "{err}");
}

#[test]
fn flatgeobuf_output_is_read_by_gdal_when_ogrinfo_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let fgb = dir.path().join("gp.fgb");
    let geojson = dir.path().join("gp.geojson");
    let fixture = fixture();
    for out in [&fgb, &geojson] {
        let out_arg = out.to_string_lossy().into_owned();
        let run = bacino(&["catchments", &fixture, "--kind", "gp", "--out", &out_arg]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let fc: Value = serde_json::from_slice(&std::fs::read(&geojson).unwrap()).unwrap();
    let with_geometry = polygons(&fc).len();
    let bytes = std::fs::read(&fgb).unwrap();
    assert_eq!(&bytes[..3], b"fgb", "FlatGeobuf magic bytes");
    let ogrinfo = Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(&fgb)
        .output();
    let Ok(ogrinfo) = ogrinfo else {
        println!("SKIPPED: ogrinfo is not on PATH (apt-get install gdal-bin to run this check)");
        return;
    };
    assert!(
        ogrinfo.status.success(),
        "{}",
        String::from_utf8_lossy(&ogrinfo.stderr)
    );
    let text = String::from_utf8_lossy(&ogrinfo.stdout);
    assert!(text.contains("Geometry: Multi Polygon"), "{text}");
    assert!(
        text.contains(&format!("Feature Count: {with_geometry}")),
        "{text}"
    );
    assert!(text.contains("ID[\"EPSG\",4326]"), "{text}");
    for column in ["facility_id: String", "population: Real", "median_m: Real"] {
        assert!(text.contains(column), "{column} missing in {text}");
    }
}

/// The ISTAT boundaries of the province's 243 municipalities, when the
/// project's shared data is beside the repository (it is not committed).
fn province_boundaries() -> Option<std::path::PathBuf> {
    let rel = "data/istat-municipalities/bergamo_016.geojson";
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("BACINO_PROVINCE_GEOJSON")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([
            repo.join("../shared").join(rel),
            std::path::Path::new("/work/shared").join(rel),
        ])
        .find(|p| p.is_file())
}

fn km2(mp: &MultiPolygon<f64>) -> f64 {
    use geo::GeodesicArea;
    mp.0.iter()
        .map(|p| p.geodesic_area_signed().abs())
        .fold(0.0, |a, b| a + b)
        / 1e6
}

#[test]
fn voronoi_cells_tile_the_real_province_boundary() {
    let Some(boundaries) = province_boundaries() else {
        println!("SKIPPED: bergamo_016.geojson not found (set BACINO_PROVINCE_GEOJSON)");
        return;
    };
    let fixture = fixture_dir();
    let manifest = format!(
        "name = \"province\"\n[facilities]\npath = \"{}\"\n[residents]\npath = \"{}\"\n\
         [areas]\npath = \"{}\"\nid_property = \"com_istat_code\"\nname_property = \"name\"\n",
        fixture.join("facilities.csv").display(),
        fixture.join("residents.csv").display(),
        boundaries.display()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dataset.toml"), manifest).unwrap();
    let fc = json_of(&["catchments", &dir.path().to_string_lossy(), "--kind", "gp"]);
    let cells = polygons(&fc);
    assert!(cells.iter().all(|g| g.is_valid()));
    let municipalities: geojson::FeatureCollection = std::fs::read_to_string(&boundaries)
        .unwrap()
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    let parts: Vec<MultiPolygon<f64>> = municipalities
        .features
        .into_iter()
        .map(
            |f| match geo::Geometry::<f64>::try_from(f.geometry.unwrap()).unwrap() {
                geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                other => panic!("unexpected {other:?}"),
            },
        )
        .collect();
    assert_eq!(parts.len(), 243);
    let province_km2 = km2(&geo::unary_union(&parts));
    let union_km2 = km2(&geo::unary_union(&cells));
    let sum_km2: f64 = cells.iter().map(km2).sum();
    assert!(
        (union_km2 / province_km2 - 1.0).abs() < 0.005,
        "{union_km2} vs {province_km2}"
    );
    assert!(
        sum_km2 - union_km2 < 1e-3 * province_km2,
        "cells overlap by {} km²",
        sum_km2 - union_km2
    );
    let total: f64 = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["population"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(total, fixture_people());
}

#[test]
fn catchments_do_not_depend_on_the_number_of_threads() {
    let fixture = fixture();
    for method in ["voronoi", "assigned", "bands"] {
        let one = json_of(&[
            "--threads",
            "1",
            "catchments",
            &fixture,
            "--kind",
            "gp",
            "--method",
            method,
        ]);
        let two = json_of(&[
            "--threads",
            "2",
            "catchments",
            &fixture,
            "--kind",
            "gp",
            "--method",
            method,
        ]);
        assert!(one == two, "{method} differs between 1 and 2 threads");
    }
}
