//! Reloading datasets (`POST /v1/admin/reload`): new data swapped in whole
//! with new entity tags; a broken file leaves the old data served and the
//! answer names the file and line; an unchanged reload changes nothing.

use actix_web::http::header;
use actix_web::test;
use bacino_api::{AppState, Config};
use bacino_core::Dataset;
use serde_json::Value;

const FACILITIES: &str = "id,kind,lon,lat\nGP1,gp,9.6,45.6\n";

/// `n` residents on a line eastwards of the GP, 100 m apart (about).
fn residents(n: usize) -> String {
    let mut s = String::from("id,lon,lat\n");
    for i in 0..n {
        s += &format!("R{i},{:.5},45.6\n", 9.6 + 0.0013 * (i + 1) as f64);
    }
    s
}

fn write_dataset(dir: &std::path::Path, residents: &str) {
    std::fs::write(
        dir.join("dataset.toml"),
        "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("f.csv"), FACILITIES).unwrap();
    std::fs::write(dir.join("r.csv"), residents).unwrap();
}

const DISTANCES: &str = "/v1/datasets/t/distances?to=nearest&kind=gp";

#[actix_rt::test]
async fn a_reload_swaps_in_new_data_and_a_broken_one_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &residents(30));
    let state = AppState::new(vec![Dataset::load(dir.path()).unwrap()], Config::default()).unwrap();
    let app =
        test::init_service(actix_web::App::new().configure(bacino_api::configure(state))).await;

    let get = |uri: &str, etag: Option<&str>| {
        let r = test::TestRequest::get().uri(uri);
        match etag {
            Some(t) => r.insert_header((header::IF_NONE_MATCH, t.to_owned())),
            None => r,
        }
        .to_request()
    };
    let version = |list: &Value| list[0]["version"].as_str().unwrap().to_owned();

    let list: Value = test::call_and_read_body_json(&app, get("/v1/datasets", None)).await;
    let v1 = version(&list);
    assert_eq!(v1.len(), 32);
    let resp = test::call_service(&app, get(DISTANCES, None)).await;
    assert_eq!(resp.status(), 200);
    let e1 = resp
        .headers()
        .get(header::ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let doc: Value = test::read_body_json(resp).await;
    assert_eq!(doc["groups"][0]["count"], 30.0);
    let resp = test::call_service(&app, get(DISTANCES, Some(&e1))).await;
    assert_eq!(resp.status(), 304);

    // New data: ten more people further east.
    write_dataset(dir.path(), &residents(40));
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/v1/admin/reload")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let report: Value = test::read_body_json(resp).await;
    let r = &report["datasets"][0];
    assert_eq!(
        (r["name"].as_str(), r["changed"].as_bool()),
        (Some("t"), Some(true))
    );
    assert_eq!(r["previous"].as_str(), Some(v1.as_str()));
    let v2 = r["version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let list: Value = test::call_and_read_body_json(&app, get("/v1/datasets", None)).await;
    assert_eq!(version(&list), v2);
    assert_eq!(list[0]["residents"], 40.0);
    // The old tag no longer matches; the cached answer of the old data is
    // not served for the new.
    let resp = test::call_service(&app, get(DISTANCES, Some(&e1))).await;
    assert_eq!(resp.status(), 200);
    let e2 = resp
        .headers()
        .get(header::ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(e1, e2);
    let doc: Value = test::read_body_json(resp).await;
    assert_eq!(doc["groups"][0]["count"], 40.0);

    // A broken residents file (line 5: a longitude that is not a number).
    let mut broken = residents(40);
    broken = broken.replacen("R3,9.60520", "R3,east", 1);
    assert!(broken.contains("R3,east"));
    write_dataset(dir.path(), &broken);
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/v1/admin/reload")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let p: Value = test::read_body_json(resp).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("r.csv") && detail.contains(":5:"),
        "{detail}"
    );
    assert!(detail.contains("stay served"), "{detail}");
    // The value found in the residents file is not echoed.
    assert!(!detail.contains("east"), "{detail}");
    // Still the second version, same tag, same answer.
    let list: Value = test::call_and_read_body_json(&app, get("/v1/datasets", None)).await;
    assert_eq!(version(&list), v2);
    let resp = test::call_service(&app, get(DISTANCES, Some(&e2))).await;
    assert_eq!(resp.status(), 304);

    // Repaired with the same bytes as before: the same version, unchanged.
    write_dataset(dir.path(), &residents(40));
    let report: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::post()
            .uri("/v1/admin/reload")
            .to_request(),
    )
    .await;
    assert_eq!(report["datasets"][0]["changed"], false);
    assert_eq!(report["datasets"][0]["version"].as_str(), Some(v2.as_str()));
    let resp = test::call_service(&app, get(DISTANCES, Some(&e2))).await;
    assert_eq!(resp.status(), 304);
}
