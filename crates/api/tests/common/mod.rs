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
