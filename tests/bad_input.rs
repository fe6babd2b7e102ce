//! Every kind of bad input is reported with file, line, column and what was
//! expected, and nothing is loaded.

mod common;

use bacino_batch::Parallel;
use bacino_core::Dataset;
use common::TempDataset;

const FACILITIES: &str = "id,kind,name,lon,lat,capacity,list_size,status\n\
GP1,gp,A,9.67,45.69,1500,,active\n\
GP2,gp,B,9.70,45.70,1500,,\n\
CDC1,cdc,C,9.66,45.70,,,active\n";

const RESIDENTS: &str = "id,lon,lat,weight,gp_id,group\n\
R1,9.671,45.691,1,GP1,assigned\n\
R2,9.672,45.692,1,GP2,assigned\n\
R3,9.673,45.693,1,,no_gp\n";

fn load_err(ds: &TempDataset) -> String {
    let e = Dataset::load(ds.path()).expect_err("load must fail");
    e.to_string()
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error `{msg}` should mention `{p}`");
    }
}

#[test]
fn the_valid_baseline_loads() {
    let ds = TempDataset::csv(FACILITIES, RESIDENTS);
    let d = Dataset::load(ds.path()).unwrap();
    assert_eq!(d.residents().len(), 3);
    assert_eq!(d.facilities().len(), 3);
}

#[test]
fn a_row_with_too_few_fields_is_reported_at_its_line() {
    let r = RESIDENTS.replace("R2,9.672,45.692,1,GP2,assigned", "R2,9.672,45.692");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(&msg, &["residents.csv:3", "expected 6 fields", "found 3"]);
}

#[test]
fn a_longitude_out_of_range_names_line_and_column() {
    let r = RESIDENTS.replace("R3,9.673", "R3,190.5");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(
        &msg,
        &["residents.csv:4", "column 2 (lon)", "[-180, 180]", "190.5"],
    );
}

#[test]
fn a_latitude_that_is_not_a_number_names_line_and_column() {
    let r = RESIDENTS.replace("45.692", "north");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(
        &msg,
        &[
            "residents.csv:3",
            "column 3 (lat)",
            "expected a latitude",
            "`north`",
        ],
    );
}

#[test]
fn an_unknown_facility_kind_lists_the_valid_ones() {
    let f = FACILITIES.replace("CDC1,cdc", "CDC1,hospital");
    let msg = load_err(&TempDataset::csv(&f, RESIDENTS));
    assert_mentions(
        &msg,
        &[
            "facilities.csv:4",
            "column 2 (kind)",
            "`hospital`",
            "gp, pediatrician, cdc",
        ],
    );
}

#[test]
fn a_duplicate_facility_id_is_reported_at_the_second_occurrence() {
    let f = FACILITIES.replace("GP2,gp", "GP1,gp");
    let msg = load_err(&TempDataset::csv(&f, RESIDENTS));
    assert_mentions(&msg, &["facilities.csv:3", "duplicate facility id `GP1`"]);
}

#[test]
fn a_duplicate_resident_id_names_both_lines() {
    let r = RESIDENTS.replace("R3,", "R1,");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(
        &msg,
        &[
            "residents.csv:4",
            "duplicate resident id `R1`",
            "first seen at line 2",
        ],
    );
}

#[test]
fn a_gp_id_naming_no_facility_is_rejected() {
    let r = RESIDENTS.replace("GP2,assigned", "GP9,assigned");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(&msg, &["residents.csv:3", "column 5 (gp_id)", "`GP9`"]);
}

#[test]
fn a_negative_weight_is_rejected() {
    let r = RESIDENTS.replace("R1,9.671,45.691,1", "R1,9.671,45.691,-2");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(
        &msg,
        &["residents.csv:2", "column 4 (weight)", "≥ 0", "`-2`"],
    );
}

#[test]
fn an_invalid_status_and_capacity_are_rejected() {
    let f = FACILITIES.replace(",,active\nGP2", ",,retired\nGP2");
    let msg = load_err(&TempDataset::csv(&f, RESIDENTS));
    assert_mentions(
        &msg,
        &[
            "facilities.csv:2",
            "(status)",
            "`active` or `ceased`",
            "`retired`",
        ],
    );
    let f = FACILITIES.replace("9.70,45.70,1500", "9.70,45.70,many");
    let msg = load_err(&TempDataset::csv(&f, RESIDENTS));
    assert_mentions(&msg, &["facilities.csv:3", "(capacity)", "`many`"]);
}

#[test]
fn a_bad_facilities_file_is_reported_before_a_bad_residents_file() {
    // The residents' first pass runs while the facilities load; whichever
    // ends first, on one thread or several, the facilities' error is the
    // one reported, as when they loaded first.
    let f = FACILITIES.replace("CDC1,cdc", "CDC1,hospital");
    let r = RESIDENTS.replace("id,lon,lat", "id,long,lat");
    let ds = TempDataset::csv(&f, &r);
    let parallel = Dataset::load_with(ds.path(), &Parallel)
        .expect_err("load must fail")
        .to_string();
    for msg in [load_err(&ds), parallel] {
        assert_mentions(&msg, &["facilities.csv:4", "`hospital`"]);
    }
}

#[test]
fn a_missing_coordinate_column_is_reported_on_the_header_line() {
    let r = RESIDENTS.replace("id,lon,lat", "id,long,lat");
    let msg = load_err(&TempDataset::csv(FACILITIES, &r));
    assert_mentions(&msg, &["residents.csv:1", "`lon`,`lat` or `x`,`y`"]);
}

#[test]
fn an_unknown_crs_in_the_manifest_is_rejected() {
    let ds = TempDataset::new(
        "name = \"t\"\ncrs = \"EPSG:99999\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
        &[("f.csv", FACILITIES), ("r.csv", RESIDENTS)],
    );
    let msg = load_err(&ds);
    assert_mentions(
        &msg,
        &[
            "dataset.toml",
            "field `crs`",
            "EPSG:99999",
            "unknown EPSG code",
        ],
    );
}

#[test]
fn manifest_errors_name_line_and_column() {
    let ds = TempDataset::new(
        "name = \"t\"\n[facilities]\npath = \"f.csv\"\nsep = \";\"\n[residents]\npath = \"r.csv\"\n",
        &[],
    );
    let msg = load_err(&ds);
    assert_mentions(&msg, &["dataset.toml:4", "unknown field `sep`"]);
    let ds = TempDataset::new(
        "name = \"Bad Name\"\n[facilities]\npath = \"f\"\n[residents]\npath = \"r\"\n",
        &[],
    );
    assert_mentions(
        &load_err(&ds),
        &["dataset.toml", "[a-z0-9-]+", "`Bad Name`"],
    );
    let dir = tempfile::tempdir().unwrap();
    let e = Dataset::load(dir.path()).unwrap_err().to_string();
    assert_mentions(&e, &["dataset.toml", "cannot read"]);
}

#[test]
fn a_missing_data_file_is_named() {
    let ds = TempDataset::new(
        "name = \"t\"\n[facilities]\npath = \"nowhere.csv\"\n[residents]\npath = \"r.csv\"\n",
        &[("r.csv", RESIDENTS)],
    );
    assert_mentions(&load_err(&ds), &["nowhere.csv", "cannot read"]);
}

#[test]
fn a_geojson_facility_that_is_not_a_point_is_rejected_by_feature_number() {
    let gj = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"GP1","kind":"gp"},"geometry":{"type":"Point","coordinates":[9.67,45.69]}},
 {"type":"Feature","properties":{"id":"GP2","kind":"gp"},"geometry":{"type":"LineString","coordinates":[[9.6,45.6],[9.7,45.7]]}}]}"#;
    let ds = TempDataset::new(
        "name = \"t\"\n[facilities]\npath = \"f.geojson\"\n[residents]\npath = \"r.csv\"\n",
        &[("f.geojson", gj), ("r.csv", "id,lon,lat\nR1,9.6,45.6\n")],
    );
    assert_mentions(
        &load_err(&ds),
        &["f.geojson", "feature #1", "expected a Point", "LineString"],
    );
    let ds = TempDataset::new(
        "name = \"t\"\n[facilities]\npath = \"f.geojson\"\n[residents]\npath = \"r.csv\"\n",
        &[
            (
                "f.geojson",
                "{\"type\": \"FeatureCollection\",\n \"features\": [}",
            ),
            ("r.csv", "id,lon,lat\n"),
        ],
    );
    assert_mentions(&load_err(&ds), &["f.geojson:2", "malformed JSON"]);
}

/// Files big enough to be parsed in several parallel pieces still report
/// the physical line of the bad row.
#[test]
fn a_malformed_row_deep_in_a_large_file_is_reported_at_its_line() {
    let mut r = String::from("id,lon,lat,weight,gp_id,group\n");
    let bad_line = 300_000;
    for i in 2..=400_000u32 {
        if i == bad_line {
            r.push_str("R-bad,9.67,not-a-latitude,1,GP1,assigned\n");
        } else {
            r.push_str(&format!(
                "R{i},9.{:06},45.{:06},1,GP1,assigned\n",
                i % 999_999,
                i % 777_777
            ));
        }
    }
    assert!(r.len() > 3 * (4 << 20), "file must span several pieces");
    let ds = TempDataset::csv(FACILITIES, &r);
    let msg = Dataset::load_with(ds.path(), &Parallel)
        .unwrap_err()
        .to_string();
    assert_mentions(
        &msg,
        &[
            &format!("residents.csv:{bad_line}:"),
            "(lat)",
            "`not-a-latitude`",
        ],
    );
    // A duplicate id far apart, in different pieces.
    let r2 = r.replace("R-bad,9.67,not-a-latitude", "R17,9.67,45.5");
    let ds = TempDataset::csv(FACILITIES, &r2);
    let msg = Dataset::load_with(ds.path(), &Parallel)
        .unwrap_err()
        .to_string();
    assert_mentions(
        &msg,
        &[
            &format!("residents.csv:{bad_line}"),
            "duplicate resident id `R17`",
            "first seen at line 17",
        ],
    );
}

#[test]
fn the_cli_exits_non_zero_with_the_location_on_stderr() {
    let r = RESIDENTS.replace("45.692", "north");
    let ds = TempDataset::csv(FACILITIES, &r);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(["stats", ds.path().to_str().unwrap(), "--to", "assigned"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no half output on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("residents.csv:3: column 3 (lat)"), "{err}");
}

/// Piece boundaries fall anywhere: CRLF line ends, blank lines and a quoted
/// field late in the file (which sends the whole file to the general CSV
/// reader) must give the same rows as the plain file.
#[test]
fn a_large_file_loads_the_same_rows_with_crlf_blank_lines_or_a_late_quoted_field() {
    let mut plain = String::from("id,lon,lat,weight,gp_id,group\n");
    for i in 2..=300_000u32 {
        plain.push_str(&format!(
            "R{i},9.{:06},45.{:06},1,GP1,assigned\n",
            i % 999_999,
            i % 777_777
        ));
    }
    let load = |r: &str| {
        let ds = TempDataset::csv(FACILITIES, r);
        let d = Dataset::load_with(ds.path(), &Parallel).unwrap();
        let r = d.residents();
        let ids: Vec<String> = (0..r.len()).map(|i| r.id(i).to_owned()).collect();
        (ids, r.locations().to_vec())
    };
    let want = load(&plain);
    assert_eq!(want.0.len(), 299_999);
    let crlf = plain.replace('\n', "\r\n").replace("R1000,", "\r\nR1000,");
    assert_eq!(load(&crlf), want);
    let quoted = plain.replace("R299000,", "\"R299000\",");
    assert_eq!(load(&quoted), want);
}

#[test]
fn a_field_that_is_not_utf8_is_reported_at_its_line_and_column() {
    let ds = TempDataset::csv(FACILITIES, RESIDENTS);
    let mut bytes = RESIDENTS.as_bytes().to_vec();
    // Line 3 (R2): its group becomes invalid UTF-8.
    let at = RESIDENTS.find("assigned\nR3").unwrap();
    bytes[at] = 0xff;
    std::fs::write(ds.path().join("residents.csv"), bytes).unwrap();
    assert_mentions(
        &load_err(&ds),
        &[
            "residents.csv:3:",
            "column 6 (group)",
            "expected UTF-8 text",
        ],
    );
}

/// GeoJSON residents go through the same row checks as CSV ones.
#[test]
fn geojson_residents_load_like_csv_and_duplicate_ids_name_both_features() {
    let feature = |id: &str, lon: f64, lat: f64, gp: &str| {
        format!(
            r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},"properties":{{"id":"{id}","weight":1,"gp_id":"{gp}","group":"assigned"}}}}"#
        )
    };
    let collection = |features: &[String]| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        )
    };
    let manifest = "name = \"t\"\n[facilities]\npath = \"facilities.csv\"\n[residents]\npath = \"residents.geojson\"\n";
    let good = collection(&[
        feature("R1", 9.671, 45.691, "GP1"),
        feature("R2", 9.672, 45.692, "GP2"),
    ]);
    let ds = TempDataset::new(
        manifest,
        &[("facilities.csv", FACILITIES), ("residents.geojson", &good)],
    );
    let d = Dataset::load_with(ds.path(), &Parallel).unwrap();
    let r = d.residents();
    assert_eq!((r.len(), r.id(0), r.id(1)), (2, "R1", "R2"));
    assert_eq!(r.locations()[1], bacino_core::LonLat::new(9.672, 45.692));
    assert_eq!(r.group().values(), ["assigned"]);

    let dup = collection(&[
        feature("R1", 9.671, 45.691, "GP1"),
        feature("R2", 9.672, 45.692, "GP2"),
        feature("R1", 9.673, 45.693, "GP1"),
    ]);
    let ds = TempDataset::new(
        manifest,
        &[("facilities.csv", FACILITIES), ("residents.geojson", &dup)],
    );
    assert_mentions(
        &load_err(&ds),
        &[
            "duplicate resident id `R1`",
            "first seen at feature #0",
            "#2",
        ],
    );
}
