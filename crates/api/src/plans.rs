//! Scenario plans over HTTP (CONTRACT §4, §8): `POST /v1/datasets/{name}/scenarios`
//! solves one plan, `POST /v1/datasets/{name}/compare` compares several
//! with the do-nothing baseline.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use bacino_core::{
    compare, scenario, FacilityKind, MetricName, OpenFacility, ScenarioQuery,
    DEFAULT_MAX_DISTANCE_M,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::routes::dataset;
use crate::state::AppState;
use crate::stored;
use bacino_store::{Kind, Site, Submission};

/// `max_distance_m` over HTTP is a multiple of this, metres.
pub const MAX_DISTANCE_STEP_M: f64 = 500.0;
/// Largest `max_distance_m` over HTTP, metres.
pub const MAX_DISTANCE_LIMIT_M: f64 = 200_000.0;

/// A facility a plan opens.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// A new id (no facility of the dataset has it).
    pub id: String,
    /// Kind (default `gp`).
    pub kind: Option<String>,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// List cap (massimale); none: the plan's `"*"` cap, or unbounded.
    pub capacity: Option<u32>,
    /// Free-text name.
    pub name: Option<String>,
    /// ISTAT municipality code.
    pub municipality: Option<String>,
}

/// A scenario plan (CONTRACT §4, §8): cessations and levers.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioBody {
    /// Ids of the active GPs that cease (may be empty with `assign_unlisted`).
    #[serde(default)]
    pub cease: Vec<String>,
    /// New GPs (or other facilities) at given points.
    #[serde(default)]
    pub open: Vec<OpenBody>,
    /// New list caps: `"*"` for every GP (*aumento massimali*), or by GP id;
    /// a cap below a GP's current list is refused.
    #[serde(default)]
    pub capacity: BTreeMap<String, u32>,
    /// Nobody is reassigned farther than this, metres: a multiple of 500
    /// from 500 to 200000 (default 30000).
    pub max_distance_m: Option<f64>,
    /// Also place residents of group `no_gp` into spare capacity (default false).
    pub assign_unlisted: Option<bool>,
    /// Privacy threshold in people; not below the server's (default 10).
    pub min_group_size: Option<f64>,
    /// `geodesic` (default: total distance minimised), `car` or `foot`
    /// (total travel time over the dataset's road network; `max_distance_m`
    /// limits the route's length), `table` (the dataset's cost table).
    pub metric: Option<String>,
    /// Nobody is reassigned with a longer travel time than this, seconds: a
    /// multiple of 60 from 60 to 14400 (no limit by default).
    pub max_time_s: Option<f64>,
}

/// `max_time_s` over HTTP is a multiple of this, seconds.
pub const MAX_TIME_STEP_S: f64 = 60.0;
/// Largest `max_time_s` over HTTP, seconds.
pub const MAX_TIME_LIMIT_S: f64 = 14_400.0;

/// Plans compared in one request, at most.
pub const MAX_PLANS: usize = 10;

/// A named plan of a comparison.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedPlan {
    /// The plan's name in the table (not `baseline`).
    pub name: String,
    /// The plan, as the scenario body.
    pub plan: ScenarioBody,
}

/// Plans to compare with the do-nothing baseline, all under one metric.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareBody {
    /// 1 to 10 named plans.
    pub plans: Vec<NamedPlan>,
    /// Privacy threshold in people; not below the server's (default 10).
    pub min_group_size: Option<f64>,
}

/// The privacy threshold of a request: the server's floor or above.
pub(crate) fn threshold(requested: Option<f64>, floor: f64) -> Result<f64, ApiError> {
    match requested {
        None => Ok(floor),
        Some(v) if v.is_finite() && v >= floor => Ok(v),
        Some(v) => Err(ApiError::BadParameter {
            name: "min_group_size".into(),
            message: format!("expected a number ≥ {floor}, found {v}"),
        }),
    }
}

/// Validates a plan body into a query: coarse limits (a fine sweep of
/// `max_distance_m` or `max_time_s`, watching `orphans` change, would
/// measure single patients), a known metric, well-formed levers.
fn query_of(b: ScenarioBody, min_group_size: f64) -> Result<ScenarioQuery, ApiError> {
    let max_distance_m = b.max_distance_m.unwrap_or(DEFAULT_MAX_DISTANCE_M);
    // A coarse grid of distances: sweeping a fine one and watching `orphans`
    // change would measure single patients' distances.
    if !(MAX_DISTANCE_STEP_M..=MAX_DISTANCE_LIMIT_M).contains(&max_distance_m)
        || max_distance_m % MAX_DISTANCE_STEP_M != 0.0
    {
        return Err(ApiError::BadParameter {
            name: "max_distance_m".into(),
            message: format!(
                "expected a multiple of {MAX_DISTANCE_STEP_M} m from {MAX_DISTANCE_STEP_M} to \
                 {MAX_DISTANCE_LIMIT_M}, found {max_distance_m}"
            ),
        });
    }
    // The same for times: a fine sweep would time single patients.
    if let Some(t) = b.max_time_s {
        if !(MAX_TIME_STEP_S..=MAX_TIME_LIMIT_S).contains(&t) || t % MAX_TIME_STEP_S != 0.0 {
            return Err(ApiError::BadParameter {
                name: "max_time_s".into(),
                message: format!(
                    "expected a multiple of {MAX_TIME_STEP_S} s from {MAX_TIME_STEP_S} to \
                     {MAX_TIME_LIMIT_S}, found {t}"
                ),
            });
        }
    }
    let metric: MetricName = b.metric.as_deref().unwrap_or("geodesic").parse()?;
    let mut open = Vec::with_capacity(b.open.len());
    for o in b.open {
        let kind = match o.kind.as_deref() {
            None => FacilityKind::Gp,
            Some(k) => k.parse().map_err(|m: String| ApiError::BadParameter {
                name: "open".into(),
                message: format!("`{}`: {m}", o.id),
            })?,
        };
        open.push(OpenFacility {
            id: o.id,
            kind,
            lon: o.lon,
            lat: o.lat,
            capacity: o.capacity,
            name: o.name,
            municipality: o.municipality,
        });
    }
    Ok(ScenarioQuery {
        cease: b.cease,
        max_distance_m,
        max_time_s: b.max_time_s,
        assign_unlisted: b.assign_unlisted.unwrap_or(false),
        min_group_size,
        metric,
        open,
        capacity: b.capacity,
    })
}

/// The plan in the form it is stored and compared in: every default
/// filled in, the threshold in force, ids in order. Two bodies that ask
/// for the same scenario give the same text, so a repeat is answered from
/// the store.
fn canonical(b: &ScenarioBody, min_group_size: f64) -> String {
    let mut cease = b.cease.clone();
    cease.sort();
    let mut open = b.open.clone();
    open.sort_by(|x, y| x.id.cmp(&y.id));
    for o in &mut open {
        o.kind.get_or_insert_with(|| "gp".to_owned());
    }
    let plan = ScenarioBody {
        cease,
        open,
        capacity: b.capacity.clone(),
        max_distance_m: Some(b.max_distance_m.unwrap_or(DEFAULT_MAX_DISTANCE_M)),
        assign_unlisted: Some(b.assign_unlisted.unwrap_or(false)),
        min_group_size: Some(min_group_size),
        metric: Some(b.metric.clone().unwrap_or_else(|| "geodesic".to_owned())),
        max_time_s: b.max_time_s,
    };
    serde_json::to_string(&plan).unwrap_or_default()
}

/// The facilities a plan opens and closes, where they are (public
/// places, for the store's map layer).
fn sites_of(dataset: &bacino_core::Dataset, b: &ScenarioBody) -> Vec<Site> {
    let facilities = dataset.facilities();
    let ceased = b.cease.iter().filter_map(|id| {
        let f = facilities.get(facilities.index_of(id)?);
        Some(Site {
            role: "ceased",
            facility_id: id.clone(),
            lon: f.location.lon,
            lat: f.location.lat,
        })
    });
    let opened = b.open.iter().map(|o| Site {
        role: "opened",
        facility_id: o.id.clone(),
        lon: o.lon,
        lat: o.lat,
    });
    ceased.chain(opened).collect()
}

/// Refuses figures about fewer people than the threshold.
fn enough_people(what: &str, people: u64, min_group_size: f64) -> Result<(), ApiError> {
    if (people as f64) < min_group_size {
        return Err(ApiError::Unprocessable(format!(
            "{what} concerns {people} people, fewer than {min_group_size}: its figures \
             would describe individual patients"
        )));
    }
    Ok(())
}

/// Solves a scenario plan exactly: the ceasing GPs' listed patients (and,
/// with `assign_unlisted`, people without a GP) are placed with the
/// remaining and newly opened GPs so that the sum of geodesic distances
/// (or, with `metric` `car`/`foot`, of travel times by road) is minimal,
/// within spare capacity (`capacity - list_size`, after the plan's
/// `capacity` caps), `max_distance_m` and `max_time_s`, placing as many
/// people as possible first. Returns the document `bacino scenario`
/// prints; under a network metric it names the extract and profile and
/// counts the `unreachable`.
///
/// The answer is stored (CONTRACT §10): `201 Created` with `Location:
/// /v1/scenarios/{id}` and the document with `id`, `created`,
/// `dataset_version`, `stale` and the canonical `plan` in front. The same
/// plan on unchanged data is answered from the store (`200`, same `id`,
/// nothing solved again).
#[utoipa::path(
    post,
    path = "/v1/datasets/{name}/scenarios",
    params(("name" = String, Path, description = "Dataset name")),
    request_body = ScenarioBody,
    responses(
        (status = 201, description = "Solved and stored: id, created, dataset_version, stale, plan, patients, placed, orphans, total_distance_m, new_distance, by_gp, by_municipality, optimality", content_type = "application/json"),
        (status = 200, description = "The identical plan on the same data, from the store", content_type = "application/json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::post("/v1/datasets/{name}/scenarios")]
pub(crate) async fn scenarios(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<ScenarioBody>,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let b = body.into_inner();
    let min_group_size = threshold(b.min_group_size, state.config.min_group_size)?;
    let plan = canonical(&b, min_group_size);
    let sites = sites_of(&entry.dataset, &b);
    let query = query_of(b, min_group_size)?;
    let version = entry.dataset.version().to_owned();
    if let Some(rec) = stored::find(&state, Kind::Scenario, &name, &version, &plan).await? {
        return Ok(stored::respond(&state, &rec, false));
    }
    let pool = entry.pool.clone();
    let document = pool
        .run(move |exec| {
            let report = scenario(&entry.dataset, &query, exec)?;
            enough_people("the scenario", report.patients, min_group_size)?;
            serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await?;
    let run = Submission {
        kind: Kind::Scenario,
        dataset: name.into_inner(),
        version,
        plan,
        document,
        sites,
    };
    stored::save(&state, run).await
}

/// Compares plans with the do-nothing baseline (first row): people placed,
/// orphans, people without a GP after the plan, distances of the moved and
/// of everyone with a GP, GPs over 95 % of their cap — the document
/// `bacino compare` prints. Each plan must concern at least
/// `min_group_size` people.
#[utoipa::path(
    post,
    path = "/v1/datasets/{name}/compare",
    params(("name" = String, Path, description = "Dataset name")),
    request_body = CompareBody,
    responses(
        (status = 200, description = "plans: baseline first, then each plan's row", content_type = "application/json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::post("/v1/datasets/{name}/compare")]
pub(crate) async fn compare_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<CompareBody>,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let b = body.into_inner();
    let min_group_size = threshold(b.min_group_size, state.config.min_group_size)?;
    if b.plans.is_empty() || b.plans.len() > MAX_PLANS {
        return Err(ApiError::BadParameter {
            name: "plans".into(),
            message: format!("expected 1 to {MAX_PLANS} plans, found {}", b.plans.len()),
        });
    }
    let mut plans = Vec::with_capacity(b.plans.len());
    for p in b.plans {
        plans.push((p.name, query_of(p.plan, min_group_size)?));
    }
    let pool = entry.pool.clone();
    let body = pool
        .run(move |exec| {
            let doc = compare(&entry.dataset, &plans, min_group_size, exec)?;
            for row in doc.plans.iter().skip(1) {
                enough_people(
                    &format!("plan `{}`", row.name),
                    row.placed + row.orphans,
                    min_group_size,
                )?;
            }
            serde_json::to_string(&doc).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
