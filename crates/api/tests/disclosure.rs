//! Complementary suppression over HTTP: when exactly one group of a
//! partition is under `min_group_size`, the smallest shown group is
//! suppressed too, so that no published total minus the shown groups
//! gives a small group back.

use actix_web::test;
use serde_json::Value;

mod common;

/// Residents in groups of the given sizes (group `g0`, `g1`, …), placed
/// around three GPs: group `k`'s people live by GP `k % 3`.
fn residents(groups: &[usize]) -> String {
    let mut s = String::from("id,lon,lat,group\n");
    let mut n = 0;
    for (g, &size) in groups.iter().enumerate() {
        for i in 0..size {
            let lon = 9.6 + 0.05 * (g % 3) as f64 + 0.0001 * i as f64;
            s += &format!("R{n},{lon:.5},45.6,g{g}\n");
            n += 1;
        }
    }
    s
}

const GPS: &str = "id,kind,lon,lat\nGP0,gp,9.6,45.6\nGP1,gp,9.65,45.6\nGP2,gp,9.7,45.6\n";

async fn shown_groups(groups: &[usize]) -> Vec<(String, Option<f64>)> {
    let app = tiny_app!(GPS, &residents(groups));
    let req = test::TestRequest::get()
        .uri("/v1/datasets/t/distances?to=nearest&kind=gp&group_by=group")
        .to_request();
    let doc: Value = test::call_and_read_body_json(&app, req).await;
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g["count"].as_f64()))
        .collect()
}

#[actix_rt::test]
async fn a_lone_small_group_takes_the_smallest_shown_one_with_it() {
    // g2 (4 people) is under 10; g0 (12) is the smallest shown: both go.
    let got = shown_groups(&[12, 30, 4, 20]).await;
    assert_eq!(
        got,
        vec![
            ("g0".into(), None),
            ("g1".into(), Some(30.0)),
            ("g2".into(), None),
            ("g3".into(), Some(20.0)),
        ]
    );
    // Two small groups already hide each other: nothing more goes.
    let got = shown_groups(&[12, 30, 4, 3]).await;
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        vec![Some(12.0), Some(30.0), None, None]
    );
    // No small group: everything shows.
    let got = shown_groups(&[12, 30]).await;
    assert!(got.iter().all(|g| g.1.is_some()), "{got:?}");
}

#[actix_rt::test]
async fn catchments_and_the_ogc_facilities_follow_the_same_rule() {
    // GP0 serves g0 + g3 = 26, GP1 serves g1 = 15, GP2 serves g2 = 5.
    let app = tiny_app!(GPS, &residents(&[20, 15, 5, 6]));
    let req = test::TestRequest::get()
        .uri("/v1/datasets/t/catchments?kind=gp")
        .to_request();
    let doc: Value = test::call_and_read_body_json(&app, req).await;
    let mut got: Vec<(String, Option<f64>, bool)> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["facility_id"].as_str().unwrap().to_owned(),
                p["population"].as_f64(),
                p["suppressed"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("GP0".into(), Some(26.0), false),
            ("GP1".into(), None, true),
            ("GP2".into(), None, true),
        ]
    );
    assert!(doc.get("total_population").is_none());
}
