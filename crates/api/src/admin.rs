//! Administration (`admin` role): `POST /v1/admin/reload` loads every
//! dataset again and swaps the new versions in only if all of them load.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::{AppState, ReloadError, Reloaded};

/// The answer to a reload.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadDoc {
    /// Every dataset now served, with its version before and after.
    pub datasets: Vec<Reloaded>,
    /// Seconds the reload took.
    pub took_s: f64,
}

/// Loads every dataset again from its files. The new versions are swapped
/// in at once, and only if every dataset loads; a failure leaves the old
/// ones served and says why (422). Requests already running finish on the
/// version they started with. `SIGHUP` does the same.
#[utoipa::path(
    post,
    path = "/v1/admin/reload",
    responses(
        (status = 200, body = ReloadDoc),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "a reload is already running"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "a dataset did not load: the old data stay served"),
    )
)]
#[actix_web::post("/v1/admin/reload")]
pub(crate) async fn reload_route(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let st = state.get_ref().clone();
    let out = web::block(move || st.reload())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match out {
        Ok(datasets) => Ok(HttpResponse::Ok().json(ReloadDoc {
            datasets,
            took_s: started.elapsed().as_secs_f64(),
        })),
        Err(ReloadError::Busy) => Err(ApiError::Conflict("a reload is already running".into())),
        Err(ReloadError::Failed(why)) => {
            tracing::warn!(error = %why, "reload failed: the old datasets stay served");
            Err(ApiError::Unprocessable(format!(
                "reload failed, the datasets loaded before stay served: {why}"
            )))
        }
    }
}
