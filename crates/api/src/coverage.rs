//! `GET /v1/datasets/{name}/coverage`: how many people the facilities of a
//! kind can take within reach given their capacities, exactly (min-cost
//! maximum flow) or by AccessMod's order-dependent procedure. Only
//! aggregates leave: groups, and a facility's count, under
//! `min_group_size` people are suppressed.

use actix_web::{web, HttpRequest, HttpResponse};
use bacino_access::{coverage_report, CoverageParams as Params};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem};
use crate::routes::{cached, check_group_column, check_network, dataset, min_group_size, respond};
use crate::state::AppState;

/// Query parameters of the coverage endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageParams {
    /// Facility kind covering: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    kind: Option<String>,
    /// Reach, inclusive, in the metric's unit (metres; seconds for car/foot). Required.
    max_cost: Option<String>,
    /// `geodesic` (default), `car`, `foot` or `table`.
    metric: Option<String>,
    /// A facility's room: `capacity` (default) or `spare` (capacity − list size).
    supply: Option<String>,
    /// `optimal` (default: min-cost maximum flow, no order) or `accessmod`.
    mode: Option<String>,
    /// AccessMod's facility order (mode `accessmod` only): `population`,
    /// `capacity`, `spare`, `list_size`, `id` or `column:NAME` (another
    /// column of the facilities file), each with `:asc` or `:desc`; or
    /// `random:SEED`. Default `population:desc`.
    order: Option<String>,
    /// `group`, `municipality`, `area` or a residents column.
    group_by: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
}

/// Coverage with capacities: people covered (placed with a facility of the
/// kind within reach, each facility up to its room), by group, with each
/// facility's take; in the optimal mode, the certificate of optimality.
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/coverage",
    params(("name" = String, Path, description = "Dataset name"), CoverageParams),
    responses(
        (status = 200, description = "Coverage by group and facility", content_type = "application/json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/coverage")]
pub(crate) async fn coverage_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<CoverageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let min = min_group_size(&state, p.min_group_size.as_deref())?;
    let query = Params {
        kind: p.kind,
        max_cost: p.max_cost,
        metric: p.metric,
        supply: p.supply,
        mode: p.mode,
        order: p.order,
        group_by: p.group_by,
    }
    .to_query(min)?;
    check_group_column(&entry, &query.group_by, min)?;
    check_network(&entry, query.metric)?;
    let key = format!("coverage|{query:?}");
    let doc = cached(entry, key, move |e, exec| {
        let report = coverage_report(&e.dataset, &query, exec)?;
        serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(respond(&req, &doc))
}
