//! Every format written reads back as written: points through GeoPackage,
//! GeoParquet, GeoJSON and CSV; the GeoPackage's own tables as the
//! specification lays them out; bad inputs named by layer, row and column.

use std::path::Path;

use bacino_formats::{read_points, write, Layer, PointTable, Values};

fn points() -> geojson::FeatureCollection {
    r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.6701, 45.6983]},
       "properties": {"id": "GP0001", "kind": "gp", "capacity": 1500, "municipality": "016024", "ad": true}},
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.7123456789, 45.7]},
       "properties": {"id": "GP0002", "kind": "gp", "capacity": null, "municipality": "016091", "ad": false}},
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.5, -33.25]},
       "properties": {"id": "GP0003", "kind": "pediatrician", "capacity": 800.5, "municipality": null, "ad": null}}]}"#
        .parse()
        .unwrap()
}

/// The table a point layer should read back as.
fn expected(layer: &Layer) -> Vec<(f64, f64, Vec<Option<String>>)> {
    (0..layer.len())
        .map(|i| {
            let Some(geo_types::Geometry::Point(p)) = &layer.geometries[i] else {
                panic!()
            };
            (
                p.x(),
                p.y(),
                layer.columns.iter().map(|(_, v)| v.text(i)).collect(),
            )
        })
        .collect()
}

fn got(t: &PointTable) -> Vec<(f64, f64, Vec<Option<String>>)> {
    t.rows
        .iter()
        .map(|r| (r.x, r.y, r.values.clone()))
        .collect()
}

#[test]
fn points_read_back_exactly_from_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let layer = Layer::from_features("facilities", &points()).unwrap();
    for name in ["f.gpkg", "f.parquet", "f.geojson", "f.csv"] {
        let path = dir.path().join(name);
        write(&path, &layer).unwrap();
        let t = read_points(&path, None).unwrap();
        assert_eq!(
            t.columns,
            ["ad", "capacity", "id", "kind", "municipality"],
            "{name}"
        );
        assert_eq!(t.epsg, Some(4326), "{name}");
        assert_eq!(got(&t), expected(&layer), "{name}");
        // Read back into a layer, the types come back too: 016024 stays
        // text, capacity numbers, ad booleans.
        let again = Layer::from_points(&t, |x, y| (x, y));
        let types: Vec<_> = again.columns.iter().map(|(_, v)| v.column_type()).collect();
        let want: Vec<_> = layer.columns.iter().map(|(_, v)| v.column_type()).collect();
        assert_eq!(types, want, "{name}");
    }
}

#[test]
fn a_large_point_layer_spans_row_groups_and_reads_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let n = 150_000;
    let layer = Layer {
        name: "residents".into(),
        geometries: (0..n)
            .map(|i| {
                Some(geo_types::Geometry::Point(geo_types::Point::new(
                    9.0 + i as f64 * 1e-6,
                    45.0 - i as f64 * 1e-7,
                )))
            })
            .collect(),
        columns: vec![
            (
                "id".into(),
                Values::Text((0..n).map(|i| Some(format!("R{i:07}"))).collect()),
            ),
            (
                "weight".into(),
                Values::Number((0..n).map(|i| Some((i % 7) as f64)).collect()),
            ),
        ],
    };
    for name in ["r.parquet", "r.gpkg"] {
        let path = dir.path().join(name);
        write(&path, &layer).unwrap();
        let t = read_points(&path, None).unwrap();
        assert_eq!(t.rows.len(), n, "{name}");
        assert_eq!(got(&t), expected(&layer), "{name}");
    }
}

#[test]
fn the_geopackage_has_the_tables_the_specification_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.gpkg");
    write(
        &path,
        &Layer::from_features("my facilities", &points()).unwrap(),
    )
    .unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let app: i64 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x4750_4B47, "GPKG");
    let (table, ty, srs): (String, String, i64) = c
        .query_row(
            "SELECT table_name, geometry_type_name, srs_id FROM gpkg_geometry_columns",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (table.as_str(), ty.as_str(), srs),
        ("my_facilities", "POINT", 4326)
    );
    let extent: (f64, f64, f64, f64) = c
        .query_row(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(extent, (-0.5, -33.25, 9.7123456789, 45.7));
    let srs_rows: i64 = c
        .query_row(
            "SELECT count(*) FROM gpkg_spatial_ref_sys WHERE srs_id IN (-1, 0, 4326)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(srs_rows, 3);
}

fn write_gpkg_polygons(path: &Path) {
    let fc: geojson::FeatureCollection = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[9,45],[10,45],[10,46],[9,45]]]},
       "properties": {"name": "a"}}]}"#
        .parse()
        .unwrap();
    write(path, &Layer::from_features("areas", &fc).unwrap()).unwrap();
}

#[test]
fn inputs_that_are_not_point_tables_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let polygons = dir.path().join("areas.gpkg");
    write_gpkg_polygons(&polygons);
    let e = read_points(&polygons, None).unwrap_err().to_string();
    assert!(
        e.contains("layer `areas` holds POLYGON geometries; expected points"),
        "{e}"
    );
    let e = read_points(&polygons, Some("residents"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no feature layer `residents`; it has `areas`"),
        "{e}"
    );

    let polygons = dir.path().join("areas.parquet");
    let fc: geojson::FeatureCollection = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[9,45],[10,45],[10,46],[9,45]]]},
       "properties": {"name": "a"}}]}"#
        .parse()
        .unwrap();
    write(&polygons, &Layer::from_features("areas", &fc).unwrap()).unwrap();
    let e = read_points(&polygons, None).unwrap_err().to_string();
    assert!(
        e.contains("holds Polygon geometries; expected points"),
        "{e}"
    );

    // Not a GeoPackage, not a Parquet file.
    let csv = dir.path().join("x.gpkg");
    std::fs::write(&csv, "id,lon,lat\n").unwrap();
    let e = read_points(&csv, None).unwrap_err().to_string();
    assert!(e.contains("x.gpkg") && e.contains("GeoPackage"), "{e}");
    let csv = dir.path().join("x.parquet");
    std::fs::write(&csv, "id,lon,lat\n").unwrap();
    let e = read_points(&csv, None).unwrap_err().to_string();
    assert!(e.contains("x.parquet") && e.contains("Parquet"), "{e}");

    // A GeoPackage row whose geometry is a polygon in a GEOMETRY layer.
    let mixed = dir.path().join("mixed.gpkg");
    let fc: geojson::FeatureCollection = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9, 45]}, "properties": {"id": "R1"}},
      {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[9,45],[10,45],[10,46],[9,45]]]},
       "properties": {"id": "R2"}}]}"#
        .parse()
        .unwrap();
    write(&mixed, &Layer::from_features("residents", &fc).unwrap()).unwrap();
    let e = read_points(&mixed, None).unwrap_err().to_string();
    assert!(
        e.contains("layer `residents`, fid 2, column `geom`: expected a point, found a Polygon"),
        "{e}"
    );
}

#[test]
fn a_csv_point_error_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    std::fs::write(&path, "id,lon,lat\nR1,9.6,45.6\nR2,9.7,north\n").unwrap();
    let e = read_points(&path, None).unwrap_err().to_string();
    assert!(
        e.contains("line 3, column 3 (`lat`): expected a number, found `north`"),
        "{e}"
    );
    std::fs::write(&path, "id,east,north\nR1,1,2\n").unwrap();
    let e = read_points(&path, None).unwrap_err().to_string();
    assert!(e.contains("expected columns `lon`,`lat` or `x`,`y`"), "{e}");
    std::fs::write(&path, "id,x,y\nR1,551000,5061000\n").unwrap();
    let t = read_points(&path, None).unwrap();
    assert_eq!((t.epsg, t.rows[0].x), (None, 551000.0));
}

/// A point CSV's rows are located by their line, counting blank lines
/// ending in `\n` or `\r\n`.
#[test]
fn point_csv_rows_and_errors_name_their_lines_after_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.csv");
    for eol in ["\n", "\r\n"] {
        let text = [
            "id,lon,lat",
            "A,9.1,45.1",
            "",
            "",
            "B,9.2,45.2",
            "",
            "C,9.3,north",
            "",
        ]
        .join(eol);
        std::fs::write(&path, &text).unwrap();
        let e = read_points(&path, None).unwrap_err().to_string();
        assert!(e.contains("line 7, column 3 (`lat`)"), "{eol:?}: {e}");
        std::fs::write(&path, text.replace("north", "45.3")).unwrap();
        let t = read_points(&path, None).unwrap();
        let lines: Vec<i64> = t.rows.iter().map(|r| r.locator).collect();
        assert_eq!(lines, [2, 5, 7], "{eol:?}");
    }
}

/// Two GeoParquet files that differ from a valid one by a byte (found by
/// fuzzing; committed as fuzz seeds): a column chunk whose start offset is
/// negative, which the parquet crate asserts on, and a page whose
/// definition levels overrun their buffer, which arrow asserts on deep in
/// the decoder. Both fail to load with an error naming the file; neither
/// panics out of the loader. The valid file they come from loads.
#[test]
fn corrupt_geoparquet_fails_with_an_error_not_a_panic() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/residents_gis");
    let dir = tempfile::tempdir().unwrap();
    // A seed's first byte picks the fuzz target's format; the file follows.
    let load = |seed: &str| {
        let bytes = std::fs::read(seeds.join(seed)).unwrap();
        let path = dir.path().join(seed);
        std::fs::write(&path, &bytes[1..]).unwrap();
        bacino_formats::PointChunks::open(&path, None).and_then(|c| c.read_all())
    };
    assert_eq!(load("residents.parquet").unwrap().rows.len(), 120);
    let e = load("negative-column-start.parquet")
        .unwrap_err()
        .to_string();
    assert!(e.contains("negative-column-start.parquet"), "{e}");
    assert!(
        e.contains("row group 0, column `id`") && e.contains("not within the file's"),
        "{e}"
    );
    let e = load("corrupt-def-levels.parquet").unwrap_err().to_string();
    assert!(e.contains("corrupt-def-levels.parquet"), "{e}");
    assert!(
        e.contains("a corrupt Parquet file: decoding row group 0 failed"),
        "{e}"
    );
}
