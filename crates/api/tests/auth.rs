//! Access control (CONTRACT §11) and the HTTP method rules: 401 without a
//! known token, 403 below the role a route needs, the public paths, `405`
//! with `Allow` on a known path, `HEAD` wherever `GET` is.

use actix_web::http::header;
use actix_web::test;
use bacino_api::{AppState, Config, Role, TokenRule};
use serde_json::{json, Value};

mod common;

fn config() -> Config {
    Config {
        tokens: vec![
            TokenRule::for_token("reader-token", Role::Reader, Some("r".into())),
            TokenRule::for_token("planner-token", Role::Planner, Some("p".into())),
            TokenRule::for_token("admin-token", Role::Admin, None),
        ],
        ..Config::default()
    }
}

macro_rules! guarded_app {
    () => {{
        let state = AppState::new(vec![common::fixture()], config()).unwrap();
        test::init_service(actix_web::App::new().configure(bacino_api::configure(state))).await
    }};
}

fn scenario() -> Value {
    json!({"cease": ["GP0055"]})
}

fn get(path: &str, token: Option<&str>) -> test::TestRequest {
    let r = test::TestRequest::get().uri(path);
    match token {
        Some(t) => r.insert_header((header::AUTHORIZATION, format!("Bearer {t}"))),
        None => r,
    }
}

fn post(path: &str, token: Option<&str>, body: &Value) -> test::TestRequest {
    let r = test::TestRequest::post().uri(path).set_json(body);
    match token {
        Some(t) => r.insert_header((header::AUTHORIZATION, format!("Bearer {t}"))),
        None => r,
    }
}

#[actix_rt::test]
async fn tokens_and_roles_decide_who_may_do_what() {
    let app = guarded_app!();
    let scen = "/v1/datasets/bergamo/scenarios";

    // No token: 401 asking for a bearer token, as problem+json.
    let resp = test::call_service(&app, get("/v1/datasets", None).to_request()).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        r#"Bearer realm="bacino""#
    );
    assert_eq!(
        resp.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    let doc: Value = test::read_body_json(resp).await;
    assert_eq!(doc["status"], 401);
    // An unknown token (one character off a known one): 401, invalid_token.
    let resp =
        test::call_service(&app, get("/v1/datasets", Some("reader-tokem")).to_request()).await;
    assert_eq!(resp.status(), 401);
    assert!(resp
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap()
        .contains(r#"error="invalid_token""#));
    // Another scheme is no token.
    let req = test::TestRequest::get()
        .uri("/v1/datasets")
        .insert_header((header::AUTHORIZATION, "Basic cmVhZGVyLXRva2Vu"))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 401);

    // A reader reads, but may not post a scenario: 403.
    let resp =
        test::call_service(&app, get("/v1/datasets", Some("reader-token")).to_request()).await;
    assert_eq!(resp.status(), 200);
    let resp = test::call_service(
        &app,
        post(scen, Some("reader-token"), &scenario()).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let doc: Value = test::read_body_json(resp).await;
    assert!(doc["detail"].as_str().unwrap().contains("planner"), "{doc}");
    // A planner and an admin may (the first solves and stores it, the
    // second gets the stored answer); no token may not.
    let mut id = String::new();
    for (t, status) in [("planner-token", 201), ("admin-token", 200)] {
        let resp = test::call_service(&app, post(scen, Some(t), &scenario()).to_request()).await;
        assert_eq!(resp.status(), status, "{t}");
        let doc: Value = test::read_body_json(resp).await;
        id = doc["id"].as_str().unwrap().to_owned();
    }
    let resp = test::call_service(&app, post(scen, None, &scenario()).to_request()).await;
    assert_eq!(resp.status(), 401);
    // A reader reads stored scenarios, and may not delete one; a planner may.
    let stored = format!("/v1/scenarios/{id}");
    for path in [stored.as_str(), scen] {
        let resp = test::call_service(&app, get(path, Some("reader-token")).to_request()).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    let delete = |t: &str| {
        test::TestRequest::delete()
            .uri(&stored)
            .insert_header((header::AUTHORIZATION, format!("Bearer {t}")))
            .to_request()
    };
    assert_eq!(
        test::call_service(&app, delete("reader-token"))
            .await
            .status(),
        403
    );
    assert_eq!(
        test::call_service(&app, delete("planner-token"))
            .await
            .status(),
        204
    );
    assert_eq!(
        test::call_service(&app, delete("planner-token"))
            .await
            .status(),
        404
    );
    // The scheme's name is case-insensitive (RFC 9110 §11.1).
    let req = test::TestRequest::get()
        .uri("/v1/datasets")
        .insert_header((header::AUTHORIZATION, "bearer reader-token"))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 200);
    // The admin routes need an admin: a planner gets 403 before any 404.
    let resp = test::call_service(
        &app,
        post("/v1/admin/reload", Some("planner-token"), &json!({})).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 403);

    // Public: the liveness probe, the OpenAPI document, the map page.
    for path in ["/health", "/openapi.json", "/map", "/map/assets/map.js"] {
        let resp = test::call_service(&app, get(path, None).to_request()).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    // ...for reading only.
    let resp = test::call_service(&app, post("/health", None, &json!({})).to_request()).await;
    assert_eq!(resp.status(), 401);
    // A public prefix does not open what lies behind it.
    for path in [
        "/map/../v1/datasets",
        "/map/assets/..%2F..%2Fv1%2Fdatasets",
        "/docs/../v1/datasets",
        "/docs/%2e%2e/v1/datasets",
    ] {
        let resp = test::call_service(&app, get(path, None).to_request()).await;
        assert_ne!(resp.status(), 200, "{path}");
        let body = test::read_body(resp).await;
        assert!(
            !String::from_utf8_lossy(&body).contains("\"people\""),
            "{path} gave data"
        );
    }
}

#[actix_rt::test]
async fn the_openapi_document_names_the_bearer_scheme() {
    let app = guarded_app!();
    let doc: Value = test::read_body_json(
        test::call_service(&app, get("/openapi.json", None).to_request()).await,
    )
    .await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    // The liveness probe needs none.
    assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([{}]));
    // Every other operation documents 401 and 403.
    let mut n = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if path == "/health" {
                assert!(op["responses"].get("401").is_none());
                continue;
            }
            for code in ["401", "403"] {
                assert!(
                    op["responses"].get(code).is_some(),
                    "{method} {path} lacks {code}"
                );
            }
            n += 1;
        }
    }
    assert!(n > 10, "{n} operations");
}

#[actix_rt::test]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let app = app!();
    let cases = [
        (test::TestRequest::delete().uri("/v1/datasets"), "GET, HEAD"),
        (
            test::TestRequest::post().uri("/v1/datasets/bergamo/distances"),
            "GET, HEAD",
        ),
        (
            test::TestRequest::put().uri("/v1/datasets/bergamo/scenarios"),
            "GET, HEAD, POST",
        ),
        (
            test::TestRequest::post().uri("/v1/scenarios/0193a1b2-0000-7000-8000-000000000001"),
            "GET, HEAD, DELETE",
        ),
        (test::TestRequest::put().uri("/health"), "GET, HEAD"),
        (
            test::TestRequest::patch().uri("/ogc/collections/facilities/items"),
            "GET, HEAD",
        ),
    ];
    for (req, allow) in cases {
        let resp = test::call_service(&app, req.to_request()).await;
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers().get(header::ALLOW).unwrap(), allow);
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }
    // An unknown path stays 404, whatever the method.
    for req in [
        test::TestRequest::get().uri("/v2/nothing"),
        test::TestRequest::delete().uri("/v1/datasets/bergamo/nothing"),
    ] {
        assert_eq!(
            test::call_service(&app, req.to_request()).await.status(),
            404
        );
    }
}

#[actix_rt::test]
async fn head_answers_wherever_get_does() {
    let app = app!();
    for path in [
        "/health",
        "/v1/datasets",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp",
        "/ogc/collections",
        "/openapi.json",
    ] {
        let g = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        let h = test::call_service(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(path)
                .to_request(),
        )
        .await;
        assert_eq!(h.status(), 200, "{path}");
        assert_eq!(g.status(), 200, "{path}");
        for name in [header::CONTENT_TYPE, header::ETAG] {
            assert_eq!(
                g.headers().get(&name),
                h.headers().get(&name),
                "{path} {name}"
            );
        }
    }
}
