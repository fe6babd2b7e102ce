//! Scenario plans and comparisons over HTTP: the core documents, and bad
//! plans as client errors naming their parameter.

use actix_web::test;
use bacino_core::{compare, scenario, ScenarioQuery, Sequential};
use serde_json::{json, Value};

mod common;
use common::fixture;

fn plan() -> Value {
    json!({
        "cease": ["GP0055", "GP0058"],
        "open": [{"id": "NEW01", "lon": 9.654, "lat": 45.697, "capacity": 150}],
        "capacity": {"*": 185, "GP0057": 190},
        "assign_unlisted": true,
        "max_distance_m": 10000
    })
}

#[actix_rt::test]
async fn a_plan_and_a_comparison_are_the_core_documents() {
    let app = app!();
    let post = |uri: &str, body: &Value| {
        test::TestRequest::post()
            .uri(uri)
            .set_json(body)
            .to_request()
    };
    let resp = test::call_service(&app, post("/v1/datasets/bergamo/scenarios", &plan())).await;
    assert_eq!(resp.status(), 201);
    let body: Value = common::answer_of(test::read_body_json(resp).await);
    let query: ScenarioQuery = serde_json::from_value(plan()).unwrap();
    let want = scenario(&fixture(), &query, &Sequential).unwrap();
    assert_eq!(body, serde_json::to_value(&want).unwrap());
    assert_eq!(body["opened"], json!(["NEW01"]));

    let req = json!({"plans": [{"name": "levers", "plan": plan()},
                               {"name": "cease", "plan": {"cease": ["GP0055", "GP0058"]}}]});
    let resp = test::call_service(&app, post("/v1/datasets/bergamo/compare", &req)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = test::read_body_json(resp).await;
    let cease: ScenarioQuery =
        serde_json::from_value(json!({"cease": ["GP0055", "GP0058"]})).unwrap();
    let want = compare(
        &fixture(),
        &[("levers".into(), query), ("cease".into(), cease)],
        10.0,
        &Sequential,
    )
    .unwrap();
    assert_eq!(body, serde_json::to_value(&want).unwrap());
    assert_eq!(body["plans"][0]["name"], "baseline");
}

#[actix_rt::test]
async fn bad_plans_are_client_errors_naming_their_parameter() {
    let app = app!();
    let with = |k: &str, v: Value| {
        let mut p = plan();
        p[k] = v;
        p
    };
    for (uri, body, parameter) in [
        (
            "scenarios",
            with("open", json!([{"id": "GP0001", "lon": 9.6, "lat": 45.6}])),
            "open",
        ),
        (
            "scenarios",
            with(
                "open",
                json!([{"id": "N", "kind": "castle", "lon": 9.6, "lat": 45.6}]),
            ),
            "open",
        ),
        ("scenarios", with("capacity", json!({"*": 100})), "capacity"),
        ("scenarios", with("capacity", json!({"*": -1})), "body"),
        (
            "scenarios",
            with("capacity", json!({"PH0001": 100})),
            "capacity",
        ),
        ("compare", json!({"plans": []}), "plans"),
        (
            "compare",
            json!({"plans": [{"name": "baseline", "plan": plan()}]}),
            "plans",
        ),
        (
            "compare",
            json!({"plans": [{"name": "a", "plan": plan(), "x": 1}]}),
            "body",
        ),
        (
            "compare",
            json!({"plans": [{"name": "a", "plan": plan()},
                             {"name": "b", "plan": with("metric", json!("table"))}]}),
            "metric",
        ),
    ] {
        let req = test::TestRequest::post()
            .uri(&format!("/v1/datasets/bergamo/{uri}"))
            .set_json(&body)
            .to_request();
        let resp = test::call_service(&app, req).await;
        let status = resp.status().as_u16();
        let doc: Value = test::read_body_json(resp).await;
        assert_eq!(status, 400, "{uri} {body}: {doc}");
        assert_eq!(doc["parameter"], parameter, "{uri} {body}: {doc}");
    }
}
