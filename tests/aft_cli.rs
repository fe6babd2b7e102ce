//! `bacino aft` (AFT–Casa di Comunità) on a hand-made dataset: GPs grouped
//! by their nearest CdC or by the `aft` column, sums worked out by hand,
//! distances against GeographicLib.

mod common;

use common::{bacino_json, karney_m, numpy_percentile, TempDataset};
use serde_json::Value;

const C1: (f64, f64) = (9.60, 45.60);
const C2: (f64, f64) = (9.80, 45.70);

fn facilities(aft: [&str; 3]) -> String {
    format!(
        "id,kind,lon,lat,capacity,list_size,status,aft\n\
         C1,cdc,9.60,45.60,,,active,\n\
         C2,cdc,9.80,45.70,,,active,\n\
         GPA,gp,9.61,45.61,100,3,active,{}\n\
         GPB,gp,9.62,45.60,50,2,active,{}\n\
         GPC,gp,9.79,45.71,,3,active,{}\n\
         GPD,gp,9.81,45.69,30,0,ceased,\n",
        aft[0], aft[1], aft[2]
    )
}

/// (id, lon, lat, gp_id, group)
const RESIDENTS: [(&str, f64, f64, &str, &str); 9] = [
    ("R1", 9.611, 45.612, "GPA", "assigned"),
    ("R2", 9.615, 45.605, "GPA", "assigned"),
    ("R3", 9.602, 45.615, "GPA", "assigned"),
    ("R4", 9.625, 45.598, "GPB", "assigned"),
    ("R5", 9.630, 45.603, "GPB", "assigned"),
    ("R6", 9.785, 45.712, "GPC", "assigned"),
    ("R7", 9.795, 45.705, "GPC", "assigned"),
    ("R8", 9.700, 45.650, "GPC", "ad_user"),
    ("R9", 9.700, 45.660, "", "no_gp"),
];

fn dataset(aft: [&str; 3]) -> TempDataset {
    let mut residents = String::from("id,lon,lat,gp_id,group\n");
    for r in RESIDENTS {
        residents += &format!("{},{},{},{},{}\n", r.0, r.1, r.2, r.3, r.4);
    }
    TempDataset::new(
        "name = \"aft\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
        &[("f.csv", &facilities(aft)), ("r.csv", &residents)],
    )
}

fn row<'a>(doc: &'a Value, aft: &str) -> &'a Value {
    doc["afts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["aft"] == aft)
        .unwrap_or_else(|| panic!("no AFT {aft}: {doc}"))
}

/// Median distance of the listed patients of `gps` to `to`.
fn median_to(gps: &[&str], to: (f64, f64)) -> f64 {
    let d: Vec<f64> = RESIDENTS
        .iter()
        .filter(|r| gps.contains(&r.3) && r.4 == "assigned")
        .map(|r| karney_m(r.1, r.2, to.0, to.1))
        .collect();
    numpy_percentile(&d, 0.5)
}

#[test]
fn gps_without_an_aft_are_grouped_with_their_nearest_casa_di_comunita() {
    let ds = dataset(["", "", ""]);
    let doc = bacino_json(&["aft", ds.path().to_str().unwrap(), "--min-group-size", "1"]);
    assert_eq!(doc["grouping"], "nearest_cdc");
    assert_eq!(
        doc["afts"].as_array().unwrap().len(),
        2,
        "the ceased GP is in none"
    );
    let a = row(&doc, "cdc:C1");
    assert_eq!(a["cdc"], "C1");
    assert_eq!(a["gps"], 2);
    assert_eq!(a["list_size"], 5.0);
    assert_eq!(a["capacity"], 150);
    assert_eq!(a["spare"], 97 + 48);
    assert_eq!(a["to_cdc"]["count"], 5);
    assert!(
        (a["to_cdc"]["median_m"].as_f64().unwrap() - median_to(&["GPA", "GPB"], C1)).abs() < 1e-3
    );
    let c = row(&doc, "cdc:C2");
    assert_eq!(c["gps"], 1);
    assert_eq!(c["capacity"], Value::Null, "GPC has no cap");
    assert_eq!(c["spare"], 0);
    // The AD user who visits GPC is not one of its listed patients.
    assert_eq!(c["to_gp"]["count"], 2);
    assert!(
        (c["to_gp"]["median_m"].as_f64().unwrap() - median_to(&["GPC"], (9.79, 45.71))).abs()
            < 1e-3
    );
    // Under the default threshold the distances are suppressed.
    let doc = bacino_json(&["aft", ds.path().to_str().unwrap()]);
    assert_eq!(row(&doc, "cdc:C1")["to_cdc"]["suppressed"], true);
}

#[test]
fn the_aft_column_groups_gps_and_ties_each_aft_to_the_cdc_nearest_its_gps() {
    let ds = dataset(["AFT-1", "AFT-2", "AFT-1"]);
    let doc = bacino_json(&["aft", ds.path().to_str().unwrap(), "--min-group-size", "1"]);
    assert_eq!(doc["grouping"], "column");
    // AFT-1 = GPA + GPC: its centre (9.70, 45.66) is nearer C2 than C1.
    let centre = ((9.61 + 9.79) / 2.0, (45.61 + 45.71) / 2.0);
    let (d1, d2) = (
        karney_m(centre.0, centre.1, C1.0, C1.1),
        karney_m(centre.0, centre.1, C2.0, C2.1),
    );
    let (want, at, dist) = if d1 < d2 {
        ("C1", C1, d1)
    } else {
        ("C2", C2, d2)
    };
    let a = row(&doc, "AFT-1");
    assert_eq!(a["cdc"], want);
    assert!((a["cdc_distance_m"].as_f64().unwrap() - dist).abs() < 1e-3);
    assert_eq!(
        (a["gps"].as_u64(), a["list_size"].as_f64()),
        (Some(2), Some(6.0))
    );
    assert!(
        (a["to_cdc"]["median_m"].as_f64().unwrap() - median_to(&["GPA", "GPC"], at)).abs() < 1e-3
    );
    let b = row(&doc, "AFT-2");
    assert_eq!(
        (b["cdc"].as_str(), b["spare"].as_u64()),
        (Some("C1"), Some(48))
    );
    let mixed = dataset(["AFT-1", "", ""]);
    let doc = bacino_json(&["aft", mixed.path().to_str().unwrap()]);
    assert_eq!(doc["grouping"], "mixed");
    assert!(doc["afts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["aft"] == "cdc:C1"));
}
