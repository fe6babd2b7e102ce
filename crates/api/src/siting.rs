//! `POST /v1/datasets/{name}/siting`: where to open new sites, solved with
//! a proven bound (CONTRACT §7). Candidates come inline (`kind:K`,
//! `areas`, or a list of points), never from the server's files. Only
//! aggregates leave: the demand must hold at least `min_group_size`
//! people, and a site's served population under it is suppressed.

use actix_web::{web, HttpResponse};
use bacino_siting::{siting_report, CandidatesParam, SitingParams};
use bacino_store::{Kind, Site, Submission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::plans::threshold;
use crate::routes::{check_network, dataset};
use crate::state::AppState;
use crate::stored;

/// The siting request.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitingBody {
    /// `pmedian`, `cpmedian`, `mclp`, `lscp`, `lscpb` or `pcenter`.
    model: String,
    /// `"kind:K"` (the active facilities of a kind), `"areas"` (each
    /// area's population centre), or a list of `{id, lon, lat, capacity?}`.
    #[schema(value_type = Object)]
    candidates: serde_json::Value,
    /// `"kind:K"`: those facilities stay open; `p` more are placed.
    existing: Option<String>,
    /// New sites (all models but lscp; lscpb: default the least cover's).
    p: Option<usize>,
    /// Service distance in the metric's unit (mclp, lscp, lscpb).
    service_distance: Option<f64>,
    /// Capacity (people) of candidate sites without their own (cpmedian).
    capacity: Option<u64>,
    /// `geodesic` (default), `car`, `foot` or `table`.
    metric: Option<String>,
    /// Only residents of this group are demand (e.g. `no_gp`).
    demand_group: Option<String>,
    /// `residents` (default) or `areas`.
    demand: Option<String>,
    /// The kind the returned plan opens new sites as (default `gp`).
    site_kind: Option<String>,
    /// Stop at this relative gap (pmedian).
    gap: Option<f64>,
    /// Seconds before returning the best solution with its honest gap
    /// (default and at most 60).
    time_limit_s: Option<f64>,
    /// Privacy threshold in people; not below the server's.
    min_group_size: Option<f64>,
}

/// The longest a request may search.
const MAX_TIME_S: f64 = 60.0;

/// Solves a siting model on the dataset: `objective`, the proven `bound`,
/// `gap`, `proven`, the `selected` sites with the people they serve, the
/// demand's `new_distance` and a scenario `plan` opening the sites — the
/// document `bacino site` prints.
///
/// The run is stored (CONTRACT §10): `201 Created` with `Location:
/// /v1/siting/{id}` and the document with `id`, `created`,
/// `dataset_version`, `stale` and the canonical `request` in front. The
/// same request on unchanged data is answered from the store (`200`, same
/// `id`, nothing searched again).
#[utoipa::path(
    post,
    path = "/v1/datasets/{name}/siting",
    params(("name" = String, Path, description = "Dataset name")),
    request_body = SitingBody,
    responses(
        (status = 201, description = "Solved and stored: id, created, dataset_version, stale, request, model, metric, p, objective, bound, gap, proven, selected, covered, new_distance, sites, plan", content_type = "application/json"),
        (status = 200, description = "The identical request on the same data, from the store", content_type = "application/json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::post("/v1/datasets/{name}/siting")]
pub(crate) async fn siting_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<SitingBody>,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let b = body.into_inner();
    let min_group_size = threshold(b.min_group_size, state.config.min_group_size)?;
    let request = canonical(&b, min_group_size);
    let candidates: CandidatesParam =
        serde_json::from_value(b.candidates).map_err(|e| ApiError::BadParameter {
            name: "candidates".into(),
            message: format!(
                "expected \"kind:K\", \"areas\" or a list of {{id, lon, lat, capacity?}}: {e}"
            ),
        })?;
    let time = match b.time_limit_s {
        None => MAX_TIME_S,
        Some(t) if t.is_finite() && t > 0.0 && t <= MAX_TIME_S => t,
        Some(t) => {
            return Err(ApiError::BadParameter {
                name: "time_limit_s".into(),
                message: format!("expected seconds in (0, {MAX_TIME_S}], found {t}"),
            })
        }
    };
    let params = SitingParams {
        model: Some(b.model),
        candidates: Some(candidates),
        existing: b.existing,
        p: b.p,
        service_distance: b.service_distance,
        capacity: b.capacity,
        metric: b.metric,
        demand_group: b.demand_group,
        demand: b.demand,
        site_kind: b.site_kind,
        gap: b.gap,
        time_limit_s: Some(time),
        min_group_size: Some(min_group_size),
        max_pairs: None,
    };
    let query = params.to_query(min_group_size, false)?;
    check_network(&entry, query.metric)?;
    let version = entry.dataset.version().to_owned();
    if let Some(rec) = stored::find(&state, Kind::Siting, &name, &version, &request).await? {
        return Ok(stored::respond(&state, &rec, false));
    }
    let pool = entry.pool.clone();
    let (document, sites) = pool.run(move |exec| {
        let report = siting_report(&entry.dataset, &query, exec)?;
        if report.demand.people < min_group_size {
            return Err(ApiError::Unprocessable(format!(
                "the demand holds {} people, fewer than {min_group_size}: its figures would describe individual patients",
                report.demand.people
            )));
        }
        let sites = report
            .sites
            .iter()
            .map(|s| Site {
                role: "selected",
                facility_id: s.id.clone(),
                lon: s.lon,
                lat: s.lat,
            })
            .collect::<Vec<_>>();
        let document =
            serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok((document, sites))
    })
    .await?;
    let run = Submission {
        kind: Kind::Siting,
        dataset: name.into_inner(),
        version,
        plan: request,
        document,
        sites,
    };
    stored::save(&state, run).await
}

/// The request as stored and compared: the defaults filled in, the
/// threshold and time limit in force. Two requests asking for the same
/// search give the same text.
fn canonical(b: &SitingBody, min_group_size: f64) -> String {
    let mut c = b.clone();
    c.min_group_size = Some(min_group_size);
    c.time_limit_s = Some(c.time_limit_s.unwrap_or(MAX_TIME_S));
    c.metric.get_or_insert_with(|| "geodesic".to_owned());
    c.demand.get_or_insert_with(|| "residents".to_owned());
    c.site_kind.get_or_insert_with(|| "gp".to_owned());
    serde_json::to_string(&c).unwrap_or_default()
}
