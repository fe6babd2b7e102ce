//! GIS formats from the command line (CONTRACT §10): `bacino convert` moves
//! a dataset's sources to GeoPackage and GeoParquet and the dataset loads
//! from them with the same figures; projected inputs are transformed;
//! `--out` writes each format by extension (GDAL reads them); a
//! GeoPackage or GeoParquet of polygons as residents is a clear error.

mod common;

use std::path::Path;
use std::process::Command;

use common::fixture_dir;
use serde_json::Value;

fn bacino(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = bacino(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn manifest(dir: &Path, residents: &str, facilities: &str) {
    std::fs::write(
        dir.join("dataset.toml"),
        format!(
            "name = \"bergamo\"\n[facilities]\npath = \"{facilities}\"\n[residents]\npath = \"{residents}\"\n\
             [areas]\npath = \"{}\"\nid_property = \"code\"\nname_property = \"name\"\n",
            fixture_dir().join("areas.geojson").display()
        ),
    )
    .unwrap();
}

#[test]
fn a_dataset_converted_to_geoparquet_and_geopackage_gives_the_same_figures() {
    let f = fixture_dir();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (from, to) in [
        ("residents.csv", "residents.parquet"),
        ("facilities.csv", "facilities.gpkg"),
        ("residents.csv", "residents.gpkg"),
        ("facilities.csv", "facilities.parquet"),
    ] {
        ok(&[
            "convert",
            f.join(from).to_str().unwrap(),
            d.join(to).to_str().unwrap(),
        ]);
    }
    let original = f.to_str().unwrap();
    let query = |dir: &str| -> Value {
        serde_json::from_str(&ok(&[
            "stats",
            dir,
            "--to",
            "assigned",
            "--kind",
            "gp",
            "--group-by",
            "municipality",
        ]))
        .unwrap()
    };
    let want = query(original);
    for (residents, facilities) in [
        ("residents.parquet", "facilities.gpkg"),
        ("residents.gpkg", "facilities.parquet"),
    ] {
        manifest(d, residents, facilities);
        let got = query(d.to_str().unwrap());
        assert_eq!(got["groups"], want["groups"], "{residents} + {facilities}");
        assert_eq!(
            got["overall"], want["overall"],
            "{residents} + {facilities}"
        );
    }
    // And back to CSV: the same rows (numbers in their shortest form).
    ok(&[
        "convert",
        d.join("facilities.gpkg").to_str().unwrap(),
        d.join("back.csv").to_str().unwrap(),
    ]);
    let back = std::fs::read_to_string(d.join("back.csv")).unwrap();
    let first = back.lines().nth(1).unwrap();
    assert!(first.starts_with("9.951399,45.7013425,"), "{first}");
    assert!(
        first.contains(",016001,"),
        "the ISTAT code keeps its zero: {first}"
    );
}

#[test]
fn projected_points_are_transformed_like_a_csv_in_that_crs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Three residents and a GP in UTM 32N (EPSG:32632).
    let facilities = "id,kind,x,y,capacity\nGP1,gp,551000,5061000,100\n";
    let residents =
        "id,x,y,gp_id\nR1,552000,5061500,GP1\nR2,550500,5062500,GP1\nR3,553000,5059000,GP1\n";
    std::fs::write(d.join("f.csv"), facilities).unwrap();
    std::fs::write(d.join("r.csv"), residents).unwrap();
    std::fs::write(
        d.join("dataset.toml"),
        "name = \"utm\"\ncrs = \"EPSG:32632\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
    )
    .unwrap();
    let stats = |dir: &Path| -> Value {
        serde_json::from_str(&ok(&[
            "stats",
            dir.to_str().unwrap(),
            "--to",
            "nearest",
            "--kind",
            "gp",
            "--min-group-size",
            "0",
        ]))
        .unwrap()
    };
    let want = stats(d);
    // A CSV with x,y needs the CRS.
    let out = bacino(&[
        "convert",
        d.join("r.csv").to_str().unwrap(),
        d.join("r.gpkg").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("need --crs"));
    let gp = tempfile::tempdir().unwrap();
    for (from, to) in [("r.csv", "r.gpkg"), ("f.csv", "f.parquet")] {
        ok(&[
            "convert",
            d.join(from).to_str().unwrap(),
            gp.path().join(to).to_str().unwrap(),
            "--crs",
            "EPSG:32632",
        ]);
    }
    std::fs::write(
        gp.path().join("dataset.toml"),
        "name = \"utm\"\n[facilities]\npath = \"f.parquet\"\n[residents]\npath = \"r.gpkg\"\n",
    )
    .unwrap();
    let got = stats(gp.path());
    assert_eq!(got["overall"], want["overall"]);
}

#[test]
fn polygons_as_residents_and_bad_values_are_named() {
    let f = fixture_dir();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The areas (polygons) as a GeoPackage, given as residents.
    ok(&[
        "convert",
        f.join("areas.geojson").to_str().unwrap(),
        d.join("areas.gpkg").to_str().unwrap(),
    ]);
    ok(&[
        "convert",
        f.join("facilities.csv").to_str().unwrap(),
        d.join("facilities.gpkg").to_str().unwrap(),
    ]);
    manifest(d, "areas.gpkg", "facilities.gpkg");
    let out = bacino(&[
        "stats",
        d.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "gp",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("areas.gpkg"), "{err}");
    assert!(
        err.contains("holds MULTIPOLYGON geometries; expected points")
            || err.contains("holds POLYGON geometries; expected points"),
        "{err}"
    );

    // A resident listed with a GP that does not exist, in a GeoParquet
    // file: named by row and column.
    let residents = "id,lon,lat,gp_id\nR1,9.6,45.6,GP0001\nR2,9.61,45.61,NOPE\n";
    std::fs::write(d.join("r.csv"), residents).unwrap();
    ok(&[
        "convert",
        d.join("r.csv").to_str().unwrap(),
        d.join("r.parquet").to_str().unwrap(),
    ]);
    manifest(d, "r.parquet", "facilities.gpkg");
    let out = bacino(&[
        "stats",
        d.to_str().unwrap(),
        "--to",
        "nearest",
        "--kind",
        "gp",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("r.parquet: row 1"), "{err}");
    assert!(err.contains("gp_id"), "{err}");
}

#[test]
fn out_writes_every_format_and_gdal_reads_them() {
    let f = fixture_dir();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["geojson", "fgb", "gpkg", "parquet"] {
        let path = dir.path().join(format!("c.{ext}"));
        ok(&[
            "catchments",
            f.to_str().unwrap(),
            "--kind",
            "cdc",
            "--method",
            "voronoi",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(path.metadata().unwrap().len() > 1000, "{ext}");
        if ext == "parquet" {
            continue; // Debian's GDAL 3.6 has no Parquet driver; geopandas reads it (crates/formats/tests/peers.rs).
        }
        let Ok(info) = Command::new("ogrinfo")
            .args(["-ro", "-so", "-al"])
            .arg(&path)
            .output()
        else {
            assert!(std::env::var_os("CI").is_none(), "CI needs ogrinfo");
            eprintln!("skipping the GDAL half: no ogrinfo");
            continue;
        };
        let text = String::from_utf8_lossy(&info.stdout);
        assert!(info.status.success(), "{ext}: {text}");
        assert!(text.contains("Multi Polygon"), "{ext}: {text}");
        assert!(text.contains("population: "), "{ext}: {text}");
        if ext != "geojson" {
            assert!(text.contains("population: Real"), "{ext}: {text}");
            assert!(
                text.contains("EPSG\",4326") || text.contains("ID[\"EPSG\",4326]"),
                "{ext}: {text}"
            );
        }
    }
    let out = bacino(&[
        "catchments",
        f.to_str().unwrap(),
        "--kind",
        "cdc",
        "--method",
        "voronoi",
        "--out",
        dir.path().join("c.shp").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`shp`"));
}
