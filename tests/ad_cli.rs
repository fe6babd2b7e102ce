//! `bacino ad` (CONTRACT §9) on a hand-made agendas file: weeks that span
//! months, ISO weeks across year boundaries (2020-W53, 2021-W52), a period
//! with nothing offered; the figures below were computed by hand from the
//! rows. Distances of AD users and listed patients against GeographicLib.
//! Bad agenda rows fail the load with their place.

mod common;

use common::{
    bacino_fails, bacino_json, fixture_dir, karney_m, numpy_percentile, read_csv, TempDataset,
};
use serde_json::{json, Value};

const FACILITIES: &str = "id,kind,lon,lat,ad\n\
GP1,gp,9.60,45.60,true\n\
GP2,gp,9.70,45.65,true\n\
GP3,gp,9.65,45.70,false\n\
PH1,pharmacy,9.66,45.66,false\n";

/// (id, lon, lat, municipality, gp_id, group)
const RESIDENTS: [(&str, f64, f64, &str, &str, &str); 7] = [
    ("A1", 9.61, 45.61, "016001", "GP1", "ad_user"),
    ("A2", 9.63, 45.62, "016001", "GP2", "ad_user"),
    ("A3", 9.72, 45.66, "016002", "GP2", "ad_user"),
    ("L1", 9.64, 45.69, "016001", "GP3", "assigned"),
    ("L2", 9.66, 45.72, "016002", "GP3", "assigned"),
    ("L3", 9.60, 45.61, "016002", "GP1", "assigned"),
    ("N1", 9.62, 45.62, "016001", "", "no_gp"),
];

const AGENDAS: &str = "gp_id,date,slots_available,slots_booked\n\
GP1,2020-12-31,10,7\n\
GP2,2021-01-01,5,5\n\
GP1,2021-12-30,8,2\n\
GP1,2022-01-02,4,1\n\
GP2,2022-01-03,6,0\n\
GP1,2022-01-31,3,3\n\
GP2,2022-02-01,9,4\n\
GP2,2022-02-02,0,0\n\
GP1,2022-03-07,0,0\n";

fn dataset(agendas: &str) -> TempDataset {
    let mut residents = String::from("id,lon,lat,municipality,gp_id,group\n");
    for r in RESIDENTS {
        residents += &format!("{},{},{},{},{},{}\n", r.0, r.1, r.2, r.3, r.4, r.5);
    }
    TempDataset::new(
        "name = \"ad\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n\
         [agendas]\npath = \"slots.csv\"\n",
        &[
            ("f.csv", FACILITIES),
            ("r.csv", &residents),
            ("slots.csv", agendas),
        ],
    )
}

fn period(p: &str, available: u64, booked: u64, occupancy: Value, doctors: u64) -> Value {
    json!({"period": p, "slots_available": available, "slots_booked": booked,
           "slots_free": available - booked, "occupancy": occupancy, "doctors_active": doctors})
}

/// The slot figures of each period (reach and matching left out).
fn slots(doc: &Value) -> Value {
    let keys = [
        "period",
        "slots_available",
        "slots_booked",
        "slots_free",
        "occupancy",
        "doctors_active",
    ];
    doc["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Value::Object(keys.iter().map(|k| (k.to_string(), p[k].clone())).collect()))
        .collect()
}

#[test]
fn slots_by_iso_week_and_month_equal_hand_computed_figures() {
    let ds = dataset(AGENDAS);
    let d = ds.path().to_str().unwrap();
    let weeks = bacino_json(&["ad", d, "--by", "week", "--min-group-size", "1"]);
    assert_eq!(weeks["by"], "week");
    assert_eq!(
        slots(&weeks),
        json!([
            period("2020-W53", 15, 12, json!(0.8), 2),
            period("2021-W52", 12, 3, json!(0.25), 1),
            period("2022-W01", 6, 0, json!(0.0), 1),
            period("2022-W05", 12, 7, json!(0.5833), 2),
            period("2022-W10", 0, 0, Value::Null, 0),
        ])
    );
    let months = bacino_json(&["ad", d, "--by", "month", "--min-group-size", "1"]);
    assert_eq!(
        slots(&months),
        json!([
            period("2020-12", 10, 7, json!(0.7), 1),
            period("2021-01", 5, 5, json!(1.0), 1),
            period("2021-12", 8, 2, json!(0.25), 1),
            period("2022-01", 13, 4, json!(0.3077), 2),
            period("2022-02", 9, 4, json!(0.4444), 1),
            period("2022-03", 0, 0, Value::Null, 0),
        ])
    );
}

#[test]
fn ad_users_and_listed_patients_are_measured_to_the_gp_they_name() {
    let ds = dataset(AGENDAS);
    let d = ds.path().to_str().unwrap();
    let doc = bacino_json(&["ad", d, "--min-group-size", "1"]);
    let at = |id: &str| match id {
        "GP1" => (9.60, 45.60),
        "GP2" => (9.70, 45.65),
        _ => (9.65, 45.70),
    };
    for (group, key, muni) in [
        ("ad_user", "ad_user", None),
        ("assigned", "listed", None),
        ("ad_user", "ad_user", Some("016001")),
        ("assigned", "listed", Some("016002")),
    ] {
        let d: Vec<f64> = RESIDENTS
            .iter()
            .filter(|r| r.5 == group && muni.is_none_or(|m| r.3 == m))
            .map(|r| {
                let g = at(r.4);
                karney_m(r.1, r.2, g.0, g.1)
            })
            .collect();
        let got = match muni {
            None => &doc["distances"][key],
            Some(m) => {
                let row = doc["by_municipality"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["key"] == m)
                    .unwrap();
                &row[key]
            }
        };
        assert_eq!(got["count"], d.len(), "{key} {muni:?}: {got}");
        let median = numpy_percentile(&d, 0.5);
        assert!(
            (got["median_m"].as_f64().unwrap() - median).abs() < 1e-3,
            "{key} {muni:?}"
        );
        let max = d.iter().copied().fold(0.0, f64::max);
        assert!((got["max_m"].as_f64().unwrap() - max).abs() < 1e-3);
    }
    // Under the default threshold (10 people) nothing is shown.
    let doc = bacino_json(&["ad", d]);
    assert_eq!(doc["distances"]["ad_user"]["suppressed"], true);
    assert_eq!(doc["distances"]["listed"]["suppressed"], true);
    assert_eq!(
        doc["periods"].as_array().unwrap().len(),
        5,
        "slots are not about residents"
    );
}

#[test]
fn bad_agenda_rows_fail_the_load_with_their_place() {
    for (row, want) in [
        (
            "GP3,2022-01-03,5,1",
            &["slots.csv:2", "gp_id", "ad = false"][..],
        ),
        ("PH1,2022-01-03,5,1", &["slots.csv:2", "kind `pharmacy`"]),
        ("GP9,2022-01-03,5,1", &["slots.csv:2", "GP9"]),
        (
            "GP1,2022-13-01,5,1",
            &["slots.csv:2", "date", "ISO date", "2022-13-01"],
        ),
        ("GP1,03/01/2022,5,1", &["slots.csv:2", "date", "03/01/2022"]),
        (
            "GP1,2022-01-03,5,6",
            &["slots.csv:2", "slots_booked", "at most"],
        ),
        (
            "GP1,2022-01-03,-1,0",
            &["slots.csv:2", "slots_available", "whole number"],
        ),
        ("GP1,2022-01-03,2.5,0", &["slots.csv:2", "slots_available"]),
        (
            "GP1,2022-01-03,5,1\nGP1,2022-01-03,4,0",
            &["slots.csv:3", "given twice", "line 2"],
        ),
    ] {
        let ds = dataset(&format!("gp_id,date,slots_available,slots_booked\n{row}\n"));
        let e = bacino_fails(&["ad", ds.path().to_str().unwrap()]);
        for w in want {
            assert!(e.contains(w), "{row}: {e}");
        }
    }
    let ds = dataset("gp_id,day,slots_available,slots_booked\n");
    let e = bacino_fails(&["ad", ds.path().to_str().unwrap()]);
    assert!(e.contains("missing required column `date`"), "{e}");
    let e = bacino_fails(&["ad", ds.path().to_str().unwrap(), "--by", "year"]);
    assert!(e.contains("expected `week` or `month`"), "{e}");
}

#[test]
fn reach_and_the_weekly_matching_follow_the_free_and_offered_slots() {
    let ds = dataset(AGENDAS);
    let d = ds.path().to_str().unwrap();
    let doc = bacino_json(&["ad", d, "--min-group-size", "1", "--match-max-m", "10000"]);
    assert_eq!(doc["match_max_distance_m"], 10000.0);
    let gp = |id: &str| match id {
        "GP1" => (9.60, 45.60),
        _ => (9.70, 45.65),
    };
    // People without a GP of their own: the AD users and N1.
    let people: Vec<(f64, f64)> = RESIDENTS
        .iter()
        .filter(|r| r.5 == "ad_user" || r.4.is_empty())
        .map(|r| (r.1, r.2))
        .collect();
    assert_eq!(people.len(), 4);
    let to = |p: (f64, f64), g: &str| karney_m(p.0, p.1, gp(g).0, gp(g).1);
    let nearest = |gps: &[&str]| -> Vec<f64> {
        people
            .iter()
            .map(|&p| gps.iter().map(|g| to(p, g)).fold(f64::INFINITY, f64::min))
            .collect()
    };
    let periods = doc["periods"].as_array().unwrap();
    let by: std::collections::HashMap<&str, &Value> = periods
        .iter()
        .map(|p| (p["period"].as_str().unwrap(), p))
        .collect();
    // Free slots by hand: 2020-W53 GP1 3, GP2 0; 2021-W52 GP1 9;
    // 2022-W01 GP2 6; 2022-W05 GP1 0, GP2 5; 2022-W10 none.
    for (week, free) in [
        ("2020-W53", &["GP1"][..]),
        ("2021-W52", &["GP1"]),
        ("2022-W01", &["GP2"]),
        ("2022-W05", &["GP2"]),
    ] {
        let d = nearest(free);
        let got = &by[week]["reach"];
        assert_eq!(got["count"], 4, "{week}");
        assert!(
            (got["median_m"].as_f64().unwrap() - numpy_percentile(&d, 0.5)).abs() < 1e-3,
            "{week}"
        );
    }
    assert_eq!(by["2022-W10"]["reach"]["suppressed"], true);
    // Matching to the slots offered, within 10 km: 2021-W52 has only GP1,
    // and A3 lives more than 10 km from it.
    assert!(to((9.72, 45.66), "GP1") > 10_000.0 && to((9.72, 45.66), "GP2") < 10_000.0);
    let m = &by["2021-W52"]["matching"];
    assert_eq!(
        (
            m["people"].as_u64(),
            m["seen"].as_u64(),
            m["unseen"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(m["proven"], true);
    // 2022-W05 offers GP1 3 and GP2 9 slots: room for everyone at their
    // nearest.
    let m = &by["2022-W05"]["matching"];
    assert_eq!(m["seen"], 4);
    let d = nearest(&["GP1", "GP2"]);
    assert!((m["distance"]["median_m"].as_f64().unwrap() - numpy_percentile(&d, 0.5)).abs() < 1e-3);
    // Nothing offered: nobody seen.
    assert_eq!(by["2022-W10"]["matching"]["seen"], 0);
    assert_eq!(by["2022-W10"]["matching"]["unseen"], 4);
}

#[test]
fn the_bundled_agendas_are_the_reports_128_volunteers() {
    // ATS Bergamo's 2022 report: 128 GPs with AD agendas. The first week's
    // figures are summed here straight from the CSV rows of 2022-W27
    // (Monday 4 to Sunday 10 July 2022).
    let dir = fixture_dir();
    let (h, facilities) = read_csv(&dir.join("facilities.csv"));
    let col = |h: &[String], n: &str| h.iter().position(|c| c == n).unwrap();
    let (id, kind, status, ad) = (
        col(&h, "id"),
        col(&h, "kind"),
        col(&h, "status"),
        col(&h, "ad"),
    );
    let ad_gps: Vec<&str> = facilities
        .iter()
        .filter(|r| r[kind] == "gp" && r[status] == "active" && r[ad] == "true")
        .map(|r| r[id].as_str())
        .collect();
    assert_eq!(ad_gps.len(), 128);
    let (h, slots_rows) = read_csv(&dir.join("ad_slots.csv"));
    let (gp, date, avail, booked) = (
        col(&h, "gp_id"),
        col(&h, "date"),
        col(&h, "slots_available"),
        col(&h, "slots_booked"),
    );
    let mut week = (0u64, 0u64, std::collections::BTreeSet::new());
    for r in &slots_rows {
        assert!(
            ad_gps.contains(&r[gp].as_str()),
            "{} is not an AD GP",
            r[gp]
        );
        if ("2022-07-04".."2022-07-11").contains(&r[date].as_str()) {
            let a: u64 = r[avail].parse().unwrap();
            week.0 += a;
            week.1 += r[booked].parse::<u64>().unwrap();
            if a > 0 {
                week.2.insert(r[gp].clone());
            }
        }
    }
    let doc = bacino_json(&["ad", dir.to_str().unwrap()]);
    let first = &doc["periods"][0];
    assert_eq!(first["period"], "2022-W27");
    assert_eq!(first["slots_available"], week.0);
    assert_eq!(first["slots_booked"], week.1);
    assert_eq!(first["doctors_active"], week.2.len() as u64);
    assert_eq!(
        week.2.len(),
        128,
        "every volunteer offers slots in the first week"
    );
}
