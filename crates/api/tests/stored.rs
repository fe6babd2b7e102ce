//! Stored scenarios (CONTRACT §10) in process: 201 with Location, a repeat
//! answered from the store without solving, list, get, delete, `stale`
//! after the data change, the store shared by two servers (a restart),
//! the privacy floor of stored answers, and a failing store.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::test;
use bacino_api::{AppState, Config};
use bacino_core::Dataset;
use bacino_store::{Kind, Record, Saved, Store, Submission, Summary};
use serde_json::{json, Value};

mod common;

const FACILITIES: &str = "id,kind,lon,lat,capacity\nGP1,gp,9.60,45.60,100\nGP2,gp,9.62,45.60,100\n";

/// `n` residents listed with GP1, on a line between the two GPs.
fn residents(n: usize) -> String {
    let mut s = String::from("id,lon,lat,gp_id\n");
    for i in 0..n {
        s += &format!("R{i},{:.5},45.6005,GP1\n", 9.6 + 0.0005 * i as f64);
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

fn post(uri: &str, body: &Value) -> actix_http::Request {
    test::TestRequest::post()
        .uri(uri)
        .set_json(body)
        .to_request()
}

fn get(uri: &str) -> actix_http::Request {
    test::TestRequest::get().uri(uri).to_request()
}

const SCENARIOS: &str = "/v1/datasets/t/scenarios";

async fn solved<S>(app: &S) -> u64
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >,
{
    let health: Value = test::call_and_read_body_json(app, get("/health")).await;
    health["pool"]["completed"]
        .as_u64()
        .expect("pool.completed")
}

#[actix_rt::test]
async fn a_posted_scenario_is_stored_listed_read_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &residents(30));
    let state = AppState::new(vec![Dataset::load(dir.path()).unwrap()], Config::default()).unwrap();
    let app =
        test::init_service(actix_web::App::new().configure(bacino_api::configure(state))).await;

    // Solved and stored: 201, Location, the document with its id.
    let plan = json!({"cease": ["GP1"], "max_distance_m": 10000});
    let resp = test::call_service(&app, post(SCENARIOS, &plan)).await;
    assert_eq!(resp.status(), 201);
    let at = resp
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let first: Value = test::read_body_json(resp).await;
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(at, format!("/v1/scenarios/{id}"));
    assert_eq!(first["stale"], false);
    assert_eq!(first["placed"], 30);
    assert_eq!(first["plan"]["cease"], json!(["GP1"]));
    assert_eq!(first["plan"]["min_group_size"], 10.0);
    assert_eq!(solved(&app).await, 1);

    // The same plan, written otherwise (defaults spelled out): the stored
    // document, and nothing solved.
    let same = json!({"cease": ["GP1"], "max_distance_m": 10000.0, "metric": "geodesic",
                      "assign_unlisted": false, "min_group_size": 10});
    let resp = test::call_service(&app, post(SCENARIOS, &same)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap(),
        at
    );
    let again: Value = test::read_body_json(resp).await;
    assert_eq!(again, first);
    assert_eq!(solved(&app).await, 1, "a repeat was solved again");

    // Read back.
    let back: Value = test::call_and_read_body_json(&app, get(&at)).await;
    assert_eq!(back, first);

    // Another plan (a different threshold is a different answer).
    let other = json!({"cease": ["GP1"], "max_distance_m": 10000, "min_group_size": 15});
    let resp = test::call_service(&app, post(SCENARIOS, &other)).await;
    assert_eq!(resp.status(), 201);
    let second: Value = test::read_body_json(resp).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(solved(&app).await, 2);

    // Listed newest first, paged.
    let list: Value = test::call_and_read_body_json(&app, get(SCENARIOS)).await;
    assert_eq!(list["total"], 2);
    let ids: Vec<&str> = list["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second["id"].as_str().unwrap(), id.as_str()]);
    assert_eq!(list["scenarios"][1]["href"], at.as_str());
    assert_eq!(list["scenarios"][1]["plan"], first["plan"]);
    assert_eq!(list["scenarios"][1]["stale"], false);
    let page: Value =
        test::call_and_read_body_json(&app, get(&format!("{SCENARIOS}?limit=1&offset=1"))).await;
    assert_eq!(page["scenarios"].as_array().unwrap().len(), 1);
    assert_eq!(page["scenarios"][0]["id"], id.as_str());
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "offset=-1",
        "colour=red",
    ] {
        let resp = test::call_service(&app, get(&format!("{SCENARIOS}?{bad}"))).await;
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let resp = test::call_service(&app, get("/v1/datasets/nowhere/scenarios")).await;
    assert_eq!(resp.status(), 404);

    // Deleted: gone, and a second delete is 404.
    let delete = || test::TestRequest::delete().uri(&at).to_request();
    assert_eq!(test::call_service(&app, delete()).await.status(), 204);
    assert_eq!(test::call_service(&app, get(&at)).await.status(), 404);
    assert_eq!(test::call_service(&app, delete()).await.status(), 404);
    for bad in [
        "/v1/scenarios/nope",
        "/v1/scenarios/00000000-0000-7000-8000-000000000000",
    ] {
        let resp = test::call_service(&app, get(bad)).await;
        assert_eq!(resp.status(), 404, "{bad}");
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }
    // Posting the deleted plan again solves and stores it anew.
    let resp = test::call_service(&app, post(SCENARIOS, &plan)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(solved(&app).await, 3);
}

#[actix_rt::test]
async fn a_scenario_on_changed_data_is_stale_and_the_plan_is_solved_anew() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &residents(30));
    let state = AppState::new(vec![Dataset::load(dir.path()).unwrap()], Config::default()).unwrap();
    let reloader = state.clone();
    let app =
        test::init_service(actix_web::App::new().configure(bacino_api::configure(state))).await;
    let plan = json!({"cease": ["GP1"]});
    let first: Value = test::call_and_read_body_json(&app, post(SCENARIOS, &plan)).await;
    let at = format!("/v1/scenarios/{}", first["id"].as_str().unwrap());
    assert_eq!(first["placed"], 30);

    // Five more patients: a new version of the dataset.
    write_dataset(dir.path(), &residents(35));
    let changed = reloader.reload().unwrap();
    assert!(changed[0].changed);
    let back: Value = test::call_and_read_body_json(&app, get(&at)).await;
    assert_eq!(back["stale"], true);
    assert_eq!(back["placed"], 30, "the stored answer is kept as it was");
    assert_eq!(back["dataset_version"], first["dataset_version"]);
    let list: Value = test::call_and_read_body_json(&app, get(SCENARIOS)).await;
    assert_eq!(list["scenarios"][0]["stale"], true);

    // The same plan now is a new run on the new data.
    let resp = test::call_service(&app, post(SCENARIOS, &plan)).await;
    assert_eq!(resp.status(), 201);
    let fresh: Value = test::read_body_json(resp).await;
    assert_eq!(fresh["placed"], 35);
    assert_eq!(fresh["stale"], false);
    assert_ne!(fresh["dataset_version"], first["dataset_version"]);
    assert_eq!(fresh["dataset_version"], changed[0].version.as_str());
}

#[actix_rt::test]
async fn two_servers_on_one_store_file_share_scenarios_and_a_higher_floor_hides_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &residents(30));
    let file = dir.path().join("store.sqlite");
    let open = || -> Arc<dyn Store> {
        bacino_store::open(&bacino_store::StoreUrl::Sqlite(file.clone())).unwrap()
    };
    let serve = |min_group_size: f64| {
        let config = Config {
            min_group_size,
            ..Config::default()
        };
        AppState::new(vec![Dataset::load(dir.path()).unwrap()], config)
            .unwrap()
            .with_store(open())
    };
    let a = test::init_service(actix_web::App::new().configure(bacino_api::configure(serve(10.0))))
        .await;
    let doc: Value =
        test::call_and_read_body_json(&a, post(SCENARIOS, &json!({"cease": ["GP1"]}))).await;
    let at = format!("/v1/scenarios/{}", doc["id"].as_str().unwrap());

    // Another server (or this one restarted) on the same file.
    let b = test::init_service(actix_web::App::new().configure(bacino_api::configure(serve(10.0))))
        .await;
    let back: Value = test::call_and_read_body_json(&b, get(&at)).await;
    assert_eq!(back, doc);
    let resp = test::call_service(&b, post(SCENARIOS, &json!({"cease": ["GP1"]}))).await;
    assert_eq!(resp.status(), 200, "the other server's answer is reused");
    assert_eq!(solved(&b).await, 0);

    // A server with a higher privacy floor does not hand out answers made
    // under the lower one.
    let c = test::init_service(actix_web::App::new().configure(bacino_api::configure(serve(20.0))))
        .await;
    let resp = test::call_service(&c, get(&at)).await;
    assert_eq!(resp.status(), 422);
    let problem: Value = test::read_body_json(resp).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("min_group_size 10"),
        "{problem}"
    );
}

/// A store that is down.
#[derive(Debug)]
struct Down;

impl Down {
    fn error() -> bacino_store::Error {
        "postgres://bacino:s3cret@10.0.0.1:5432/ats"
            .parse::<bacino_store::StoreUrl>()
            .map(|u| bacino_store::Error::Unreachable {
                location: u.to_string(),
                message: "connection refused".into(),
            })
            .unwrap()
    }
}

impl Store for Down {
    fn save(&self, _: &Submission) -> bacino_store::Result<Saved> {
        Err(Down::error())
    }
    fn find(&self, _: Kind, _: &str, _: &str, _: &str) -> bacino_store::Result<Option<Record>> {
        Err(Down::error())
    }
    fn get(&self, _: &str) -> bacino_store::Result<Option<Record>> {
        Err(Down::error())
    }
    fn list(&self, _: Kind, _: &str, _: usize, _: usize) -> bacino_store::Result<Vec<Summary>> {
        Err(Down::error())
    }
    fn count(&self, _: Kind, _: &str) -> bacino_store::Result<u64> {
        Err(Down::error())
    }
    fn delete(&self, _: &str) -> bacino_store::Result<bool> {
        Err(Down::error())
    }
    fn location(&self) -> String {
        "down".into()
    }
}

#[actix_rt::test]
async fn a_store_that_is_down_is_503_on_its_routes_and_everything_else_answers() {
    let state = AppState::new(vec![common::fixture()], Config::default())
        .unwrap()
        .with_store(Arc::new(Down));
    let app =
        test::init_service(actix_web::App::new().configure(bacino_api::configure(state))).await;
    let stored_routes = [
        post(
            "/v1/datasets/bergamo/scenarios",
            &json!({"cease": ["GP0055"]}),
        ),
        get("/v1/datasets/bergamo/scenarios"),
        get("/v1/scenarios/0193a1b2-0000-7000-8000-000000000001"),
        test::TestRequest::delete()
            .uri("/v1/scenarios/0193a1b2-0000-7000-8000-000000000001")
            .to_request(),
    ];
    for req in stored_routes {
        let path = req.path().to_owned();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 503, "{path}");
        assert!(resp.headers().contains_key(header::RETRY_AFTER), "{path}");
        let problem: Value = test::read_body_json(resp).await;
        assert_eq!(
            problem["type"],
            "https://bacino.dev/problems/store-unavailable"
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("connection refused"), "{detail}");
        assert!(!detail.contains("s3cret"), "{detail}");
    }
    for ok in [
        "/health",
        "/v1/datasets",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp",
    ] {
        assert_eq!(
            test::call_service(&app, get(ok)).await.status(),
            200,
            "{ok}"
        );
    }
    let resp = test::call_service(
        &app,
        post(
            "/v1/datasets/bergamo/compare",
            &json!({"plans": [{"name": "a", "plan": {"cease": ["GP0055"]}}]}),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200, "comparisons are not stored");
}

#[actix_rt::test]
async fn a_siting_run_is_stored_under_its_own_path() {
    let app = test::init_service(actix_web::App::new().configure(bacino_api::configure(
        AppState::new(vec![common::fixture()], Config::default()).unwrap(),
    )))
    .await;
    let req = json!({"model": "pmedian", "p": 3, "candidates": "kind:cdc", "demand": "areas"});
    let resp = test::call_service(&app, post("/v1/datasets/bergamo/siting", &req)).await;
    assert_eq!(resp.status(), 201);
    let at = resp
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let doc: Value = test::read_body_json(resp).await;
    let id = doc["id"].as_str().unwrap();
    assert_eq!(at, format!("/v1/siting/{id}"));
    // The request under `request`, canonical; the answer's own `plan` kept.
    assert_eq!(doc["request"]["model"], "pmedian");
    assert_eq!(doc["request"]["metric"], "geodesic");
    assert_eq!(doc["request"]["min_group_size"], 10.0);
    assert!(doc.get("plan").is_some());
    assert_eq!(solved(&app).await, 1);

    // The same request with its defaults spelled out: from the store.
    let same = json!({"model": "pmedian", "p": 3, "candidates": "kind:cdc", "demand": "areas",
                      "metric": "geodesic", "time_limit_s": 60, "min_group_size": 10});
    let resp = test::call_service(&app, post("/v1/datasets/bergamo/siting", &same)).await;
    assert_eq!(resp.status(), 200);
    let again: Value = test::read_body_json(resp).await;
    assert_eq!(again, doc);
    assert_eq!(solved(&app).await, 1);

    assert_eq!(
        test::call_and_read_body_json::<_, _, Value>(&app, get(&at)).await,
        doc
    );
    let list: Value = test::call_and_read_body_json(&app, get("/v1/datasets/bergamo/siting")).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["runs"][0]["href"], at.as_str());
    assert_eq!(list["runs"][0]["request"], doc["request"]);
    // Not a scenario: not under the scenarios' paths.
    let scenarios: Value =
        test::call_and_read_body_json(&app, get("/v1/datasets/bergamo/scenarios")).await;
    assert_eq!(scenarios["total"], 0);
    let as_scenario = format!("/v1/scenarios/{id}");
    assert_eq!(
        test::call_service(&app, get(&as_scenario)).await.status(),
        404
    );
    let delete = |uri: &str| test::TestRequest::delete().uri(uri).to_request();
    assert_eq!(
        test::call_service(&app, delete(&as_scenario))
            .await
            .status(),
        404
    );
    assert_eq!(test::call_service(&app, delete(&at)).await.status(), 204);
    assert_eq!(test::call_service(&app, get(&at)).await.status(), 404);
}
