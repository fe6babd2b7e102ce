//! Shared by the in-process tests: the bundled dataset and the service on it.
#![allow(dead_code)]

use bacino_core::Dataset;

/// The repository's default dataset.
pub fn fixture() -> Dataset {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bergamo");
    Dataset::load(dir).expect("fixture loads")
}

/// The service on the default dataset with the default settings.
#[macro_export]
macro_rules! app {
    () => {{
        let state =
            bacino_api::AppState::new(vec![common::fixture()], bacino_api::Config::default())
                .unwrap();
        actix_web::test::init_service(actix_web::App::new().configure(bacino_api::configure(state)))
            .await
    }};
}

/// A dataset named `t` in a temporary folder from facilities and residents
/// CSV text (lon/lat).
pub fn tiny_dataset(facilities: &str, residents: &str) -> Dataset {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dataset.toml"),
        "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("f.csv"), facilities).unwrap();
    std::fs::write(dir.path().join("r.csv"), residents).unwrap();
    Dataset::load(dir.path()).expect("tiny dataset loads")
}

/// The service on [`tiny_dataset`].
#[macro_export]
macro_rules! tiny_app {
    ($facilities:expr, $residents:expr) => {{
        let state = bacino_api::AppState::new(
            vec![common::tiny_dataset($facilities, $residents)],
            bacino_api::Config::default(),
        )
        .unwrap();
        actix_web::test::init_service(actix_web::App::new().configure(bacino_api::configure(state)))
            .await
    }};
}

/// The fields a stored run's document puts in front of the answer.
pub const RECORD_KEYS: [&str; 5] = ["id", "created", "dataset_version", "stale", "plan"];

/// A stored run's document without the record's fields: the answer as
/// computed. Panics when a record field is missing.
/// A stored siting run keeps its request under `request` (its answer has
/// a `plan` of its own).
pub fn answer_of(mut stored: serde_json::Value) -> serde_json::Value {
    let map = stored.as_object_mut().expect("a JSON object");
    let siting = map.contains_key("request");
    for k in RECORD_KEYS {
        let k = if siting && k == "plan" { "request" } else { k };
        assert!(map.remove(k).is_some(), "the stored document has no `{k}`");
    }
    stored
}
