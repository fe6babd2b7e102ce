//! # bacino-api
//!
//! The HTTP API of bacino on actix-web: distances and GP-cessation scenarios
//! as JSON (CONTRACT §4), catchments as GeoJSON, OGC API – Features under
//! `/ogc` (facilities, areas with statistics, catchments) for QGIS and GDAL,
//! OpenAPI at `/openapi.json` with Swagger UI at `/docs/`, and every error
//! as RFC 9457 `application/problem+json`. Handlers are thin: they validate,
//! run the core computation in a bounded pool off the async workers (503
//! with `Retry-After` when it is full; abandoned when the client leaves or
//! the deadline passes) and cache
//! results that depend only on the dataset. No resident is ever described
//! individually; aggregates under `min_group_size` people are suppressed.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use bacino_api::{configure, AppState, Config};
//! use bacino_core::Dataset;
//!
//! # async fn run() -> std::io::Result<()> {
//! let dataset = Dataset::load("fixtures/bergamo").expect("loads");
//! let state = AppState::new(vec![dataset], Config::default()).expect("unique names");
//! HttpServer::new(move || App::new().configure(configure(state.clone())))
//!     .bind("127.0.0.1:8080")?
//!     .run()
//!     .await
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access;
mod ad;
mod admin;
pub mod auth;
mod cache;
mod catalog;
mod coverage;
mod error;
mod isochrones;
mod map;
mod ogc;
mod plans;
mod pool;
mod routes;
mod siting;
mod state;
mod stored;

pub use auth::{Role, TokenRule};
pub use error::{ApiError, Problem};
pub use isochrones::MINUTES_STEP;
pub use ogc::{DEFAULT_LIMIT, MAX_LIMIT};
pub use plans::{
    MAX_DISTANCE_LIMIT_M, MAX_DISTANCE_STEP_M, MAX_PLANS, MAX_TIME_LIMIT_S, MAX_TIME_STEP_S,
};
pub use pool::{PoolConfig, PoolStatus, DEFAULT_DEADLINE_S, DEFAULT_QUEUE};
pub use routes::{configure, ApiDoc};
pub use state::{AppState, Config, Loader, ReloadError, Reloaded, DEFAULT_RESULT_CACHE_BYTES};
pub use stored::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
