//! `GET /v1/datasets/{name}/access` (CONTRACT §6): accessibility indices by
//! group. Only aggregates leave: groups under `min_group_size` people are
//! suppressed, and no resident's score is ever returned.

use actix_web::{web, HttpRequest, HttpResponse};
use bacino_access::{access_report, AccessParams as Params};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem};
use crate::routes::{cached, check_group_column, check_network, dataset, min_group_size, respond};
use crate::state::AppState;

/// Query parameters of the accessibility endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessParams {
    /// Facility kind offering the supply: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    kind: Option<String>,
    /// `2sfca`, `e2sfca`, `g2sfca`, `3sfca`, `bfca`, `sa`, `huff`,
    /// `gravity` (weighted catchment) or `raam`.
    method: Option<String>,
    /// Reach, inclusive, in the metric's unit (metres; seconds for car/foot). Required.
    max_cost: Option<String>,
    /// `geodesic` (default), `car`, `foot` or `table`.
    metric: Option<String>,
    /// `capacity` (default), `spare` (capacity − list size) or `one`.
    supply: Option<String>,
    /// Step decay `THRESHOLD:WEIGHT,…` (the weight of the smallest threshold ≥ cost).
    weights: Option<String>,
    /// Gaussian decay σ, exp(−c²/2σ²).
    gaussian: Option<String>,
    /// Gravity decay `ALPHA,SCALE,MIN`: (max(c, MIN)/SCALE)^ALPHA, ALPHA ≤ 0.
    gravity: Option<String>,
    /// Logistic decay `MID,WIDTH`: 1/(1 + exp((c − MID)/WIDTH)).
    logistic: Option<String>,
    /// 3SFCA selection weights: `in_reach` (default) or `all_pairs` (PySAL).
    selection: Option<String>,
    /// RAAM τ, the metric's unit (default 3600 s or 60000 m).
    tau: Option<String>,
    /// RAAM ρ (default total demand / total supply).
    rho: Option<String>,
    /// `group`, `municipality`, `area` or a residents column.
    group_by: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
}

/// Accessibility of a kind of facility, by group: the population-weighted
/// mean of residents' scores (`access`), over the all-resident mean
/// (`access_norm`); RAAM reports its equilibrium cost (lower is better)
/// and the duality gap that certifies it.
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/access",
    params(("name" = String, Path, description = "Dataset name"), AccessParams),
    responses(
        (status = 200, description = "Accessibility by group (CONTRACT §6)", content_type = "application/json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/access")]
pub(crate) async fn access_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<AccessParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let min = min_group_size(&state, p.min_group_size.as_deref())?;
    let query = Params {
        kind: p.kind,
        method: p.method,
        max_cost: p.max_cost,
        metric: p.metric,
        supply: p.supply,
        weights: p.weights,
        gaussian: p.gaussian,
        gravity: p.gravity,
        logistic: p.logistic,
        selection: p.selection,
        tau: p.tau,
        rho: p.rho,
        group_by: p.group_by,
    }
    .to_query(min)?;
    check_group_column(&entry, &query.group_by, min)?;
    check_network(&entry, query.metric)?;
    let key = format!("access|{query:?}");
    let doc = cached(entry, key, move |e, exec| {
        let report = access_report(&e.dataset, &query, exec)?;
        serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(respond(&req, &doc))
}
