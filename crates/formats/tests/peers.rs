//! What the established tools read: GDAL's `ogrinfo` (hence QGIS) opens
//! the GeoPackage and FlatGeobuf files, geopandas the GeoParquet file (a
//! venv under the target directory; PyPI); and bacino reads the GeoParquet
//! geopandas writes. Skipped with a message when the tool cannot be had;
//! required when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use bacino_formats::{read_points, write, Layer};

fn required() -> bool {
    std::env::var_os("CI").is_some()
}

fn catchments() -> geojson::FeatureCollection {
    r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates":
        [[[[9.6,45.6],[9.7,45.6],[9.7,45.7],[9.6,45.6]]], [[[9.8,45.8],[9.9,45.8],[9.9,45.9],[9.8,45.8]]]]},
       "properties": {"facility_id": "GP0001", "population": 1234, "median_m": 1590.5, "suppressed": false}},
      {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates":
        [[[[9.5,45.5],[9.55,45.5],[9.55,45.55],[9.5,45.5]]]]},
       "properties": {"facility_id": "GP0002", "population": null, "median_m": null, "suppressed": true}}]}"#
        .parse()
        .unwrap()
}

fn ogrinfo(path: &Path) -> Option<String> {
    match Command::new("ogrinfo")
        .args(["-ro", "-al"])
        .arg(path)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(_) if required() => panic!("CI needs ogrinfo (gdal-bin)"),
        Err(_) => {
            eprintln!("skipping: no ogrinfo (apt-get install gdal-bin)");
            None
        }
    }
}

#[test]
fn gdal_reads_the_geopackage_and_flatgeobuf_layers() {
    let dir = tempfile::tempdir().unwrap();
    let layer = Layer::from_features("catchments", &catchments()).unwrap();
    for name in ["c.gpkg", "c.fgb"] {
        let path = dir.path().join(name);
        write(&path, &layer).unwrap();
        let Some(info) = ogrinfo(&path) else { return };
        assert!(info.contains("Geometry: Multi Polygon"), "{name}: {info}");
        assert!(info.contains("Feature Count: 2"), "{name}: {info}");
        assert!(
            info.contains("\"EPSG\",4326")
                || info.contains("EPSG:4326")
                || info.contains("ID[\"EPSG\",4326]"),
            "{name}: {info}"
        );
        assert!(info.contains("population: Real"), "{name}: {info}");
        assert!(info.contains("facility_id: String"), "{name}: {info}");
        assert!(
            info.contains("facility_id (String) = GP0002"),
            "{name}: {info}"
        );
        assert!(info.contains("median_m (Real) = 1590.5"), "{name}: {info}");
        assert!(
            info.contains("Extent: (9.500000, 45.500000) - (9.900000, 45.900000)"),
            "{name}: {info}"
        );
    }
}

/// The Python of a venv with geopandas and pyarrow, made once under the
/// target directory; None (skip) when PyPI cannot be reached outside CI.
fn geopandas() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("geopandas-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".ready");
    if !ready.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "geopandas==1.2.0",
                    "pyarrow==26.0.1",
                ])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                !required(),
                "CI needs python3 -m venv and pip install geopandas pyarrow"
            );
            eprintln!("skipping: cannot make a venv with geopandas and pyarrow");
            return None;
        }
        std::fs::write(&ready, "").unwrap();
    }
    Some(python)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/geoparquet_check.py")
}

#[test]
fn geopandas_reads_our_geoparquet_and_we_read_its() {
    let Some(python) = geopandas() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.parquet");
    let layer = Layer::from_features("catchments", &catchments()).unwrap();
    write(&path, &layer).unwrap();
    let out = Command::new(&python)
        .arg(script())
        .arg("read")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // No `crs` in the metadata: OGC:CRS84, longitude/latitude on WGS84.
    assert_eq!(seen["crs"], "OGC:CRS84");
    assert_eq!(seen["version"], "1.1.0");
    assert_eq!(seen["geometry_types"], serde_json::json!(["MultiPolygon"]));
    assert_eq!(
        seen["covering"]["bbox"]["xmin"],
        serde_json::json!(["bbox", "xmin"])
    );
    let rows = seen["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["type"], "MultiPolygon");
    // The covering column holds each geometry's own bounds.
    assert_eq!(rows[0]["bbox"], rows[0]["bounds"]);
    assert_eq!(rows[0]["bbox"], serde_json::json!([9.6, 45.6, 9.9, 45.9]));
    assert_eq!(rows[1]["bbox"], serde_json::json!([9.5, 45.5, 9.55, 45.55]));
    assert_eq!(rows[0]["props"]["facility_id"], "GP0001");
    assert_eq!(rows[0]["props"]["population"], 1234.0);
    assert_eq!(rows[1]["props"]["population"], serde_json::Value::Null);
    assert_eq!(rows[1]["props"]["suppressed"], true);

    // Theirs, in UTM 32N, read by bacino.
    let theirs = dir.path().join("residents.parquet");
    let out = Command::new(&python)
        .arg(script())
        .arg("write")
        .arg(&theirs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = read_points(&theirs, None).unwrap();
    assert_eq!(t.epsg, Some(32632));
    assert_eq!(t.columns, ["id", "weight", "municipality", "gp_id"]);
    assert_eq!((t.rows[1].x, t.rows[1].y), (552500.5, 5062000.25));
    assert_eq!(
        t.rows[1].values,
        [
            Some("R2".into()),
            Some("3".into()),
            Some("016024".into()),
            None
        ]
    );
}
