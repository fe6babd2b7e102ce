//! `GET /v1/datasets/{name}/ad` (CONTRACT §9): the Ambulatori Diffusi report;
//! `GET /v1/datasets/{name}/aft`: AFT–Casa di Comunità.

use actix_web::{web, HttpRequest, HttpResponse};
use bacino_core::{ad_report, aft_report, AdQuery, MetricName, Period};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem};
use crate::plans::{MAX_DISTANCE_LIMIT_M, MAX_DISTANCE_STEP_M};
use crate::routes::{check_network, dataset, memo, min_group_size, respond};
use crate::state::{AppState, Cached};

/// Query parameters of the AD endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdParams {
    /// `week` (ISO weeks, default) or `month`.
    by: Option<String>,
    /// Metric of the distances: `geodesic` (default), `car`, `foot`, `table`.
    metric: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
    /// Match the people without a GP to each period's slots within this
    /// distance, metres: a multiple of 500 from 500 to 200000.
    match_max_m: Option<String>,
}

/// Ambulatori Diffusi: per ISO week or month the slots available, booked
/// and free, occupancy (booked / available) and doctors with at least one
/// slot; the distances of `ad_user` residents to the AD GP they visited
/// beside those of listed patients to their own GP, overall and by
/// municipality (groups under `min_group_size` suppressed).
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/ad",
    params(("name" = String, Path, description = "Dataset name"), AdParams),
    responses(
        (status = 200, description = "by, periods, distances {ad_user, listed}, by_municipality", content_type = "application/json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/ad")]
pub(crate) async fn ad_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<AdParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let by: Period = p.by.as_deref().unwrap_or("week").parse()?;
    let metric: MetricName = p.metric.as_deref().unwrap_or("geodesic").parse()?;
    check_network(&entry, metric)?;
    let match_max_m = match p.match_max_m.as_deref() {
        None => None,
        Some(t) => {
            let m: f64 = t.trim().parse().map_err(|_| ApiError::BadParameter {
                name: "match_max_m".into(),
                message: format!("expected metres, found `{t}`"),
            })?;
            // A coarse grid: a fine sweep watching `unseen` change would
            // measure single people's distances.
            if !(MAX_DISTANCE_STEP_M..=MAX_DISTANCE_LIMIT_M).contains(&m)
                || m % MAX_DISTANCE_STEP_M != 0.0
            {
                return Err(ApiError::BadParameter {
                    name: "match_max_m".into(),
                    message: format!(
                        "expected a multiple of {MAX_DISTANCE_STEP_M} m from \
                         {MAX_DISTANCE_STEP_M} to {MAX_DISTANCE_LIMIT_M}, found {m}"
                    ),
                });
            }
            Some(m)
        }
    };
    let query = AdQuery {
        by,
        metric,
        min_group_size: min_group_size(&state, p.min_group_size.as_deref())?,
        match_max_m,
    };
    let key = format!("ad|{query:?}");
    let cached = memo(entry, "body", key, move |e, exec| {
        let report = ad_report(&e.dataset, &query, exec)?;
        let body = serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Cached::new(body, "application/json"))
    })
    .await?;
    Ok(respond(&req, &cached))
}

/// Query parameters of the AFT endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AftParams {
    /// Metric of the distances: `geodesic` (default), `car`, `foot`, `table`.
    metric: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
}

/// AFT–CdC: GPs grouped into AFT (the facilities' `aft` column, or each
/// GP's nearest Casa di Comunità), per AFT its CdC, GPs, list sizes, caps
/// and spare room, and the distances of its listed patients to the CdC and
/// to their own GP (groups under `min_group_size` suppressed).
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/aft",
    params(("name" = String, Path, description = "Dataset name"), AftParams),
    responses(
        (status = 200, description = "grouping, afts [{aft, cdc, gps, list_size, capacity, spare, to_cdc, to_gp}]", content_type = "application/json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/aft")]
pub(crate) async fn aft_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<AftParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let metric: MetricName = p.metric.as_deref().unwrap_or("geodesic").parse()?;
    check_network(&entry, metric)?;
    let min = min_group_size(&state, p.min_group_size.as_deref())?;
    let key = format!("aft|{metric}|{min}");
    let cached = memo(entry, "body", key, move |e, exec| {
        let report = aft_report(&e.dataset, metric, min, exec)?;
        let body = serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Cached::new(body, "application/json"))
    })
    .await?;
    Ok(respond(&req, &cached))
}
