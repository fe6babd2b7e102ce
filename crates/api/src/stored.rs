//! Stored runs (CONTRACT §10): every scenario and siting run posted is
//! kept with an id, its plan (or siting request), its document, the
//! version of the dataset it ran on and when; `GET`/`DELETE
//! /v1/scenarios/{id}` and `GET /v1/datasets/{name}/scenarios` read and
//! manage scenarios, `/v1/siting/{id}` and `/v1/datasets/{name}/siting`
//! siting runs.
//!
//! A stored document is the answer with `id`, `created`,
//! `dataset_version`, `stale` (the dataset changed since) and `plan` (a
//! siting run: `request`) in front. The store is blocking I/O: every call runs on actix's blocking
//! threads, never on the async workers.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use bacino_store::{Kind, Record, Submission, Summary};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem};
use crate::ogc::parse_usize;
use crate::routes::dataset;
use crate::state::AppState;

/// Runs listed per page without `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// Largest page of a list.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Runs `f` (a store call) on a blocking thread.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> bacino_store::Result<T> + Send + 'static,
    T: Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| ApiError::Internal(format!("store call: {e}")))?
        .map_err(ApiError::from)
}

/// The path of a stored run.
pub(crate) fn location(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Siting => format!("/v1/siting/{id}"),
        _ => format!("/v1/scenarios/{id}"),
    }
}

/// The key the plan goes under in a stored document: a siting answer has
/// a `plan` of its own (the scenario opening its sites).
pub(crate) fn plan_key(kind: Kind) -> &'static str {
    match kind {
        Kind::Siting => "request",
        _ => "plan",
    }
}

/// Whether a stored run was computed on other data than the dataset now
/// served under its name (or the dataset is no longer served).
fn stale(state: &AppState, dataset: &str, version: &str) -> bool {
    state
        .datasets()
        .get(dataset)
        .is_none_or(|e| e.dataset.version() != version)
}

/// The stored document: the answer with the record's fields in front. The
/// answer is spliced, not parsed again (a large scenario's answer runs to
/// megabytes); its keys never clash with these (the API tests count them).
pub(crate) fn document(rec: &Record, stale: bool) -> String {
    let head = format!(
        "{{\"id\":{},\"created\":{},\"dataset_version\":{},\"stale\":{stale},\"{}\":{}",
        serde_json::Value::from(rec.id.as_str()),
        serde_json::Value::from(rec.created()),
        serde_json::Value::from(rec.version.as_str()),
        plan_key(rec.kind),
        rec.plan
    );
    let rest = rec.document.trim_start().strip_prefix('{').unwrap_or("}");
    let sep = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    format!("{head}{sep}{rest}")
}

/// The answer for a stored run: `201 Created` when `created`, else `200`;
/// `Location` names the stored run either way.
pub(crate) fn respond(state: &AppState, rec: &Record, created: bool) -> HttpResponse {
    let stale = stale(state, &rec.dataset, &rec.version);
    let mut res = HttpResponse::build(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    });
    let at = location(rec.kind, &rec.id);
    res.insert_header((header::LOCATION, at.clone()));
    res.insert_header((header::CONTENT_LOCATION, at));
    res.content_type("application/json")
        .body(document(rec, stale))
}

/// Stores a solved run, or finds the identical one a concurrent request
/// (or another replica) stored first.
pub(crate) async fn save(state: &AppState, run: Submission) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let saved = blocking(move || store.save(&run)).await?;
    let created = matches!(saved, bacino_store::Saved::Created(_));
    Ok(respond(state, saved.record(), created))
}

/// The stored run identical to this one, if any.
pub(crate) async fn find(
    state: &AppState,
    kind: Kind,
    dataset: &str,
    version: &str,
    plan: &str,
) -> Result<Option<Record>, ApiError> {
    let store = state.store.clone();
    let (d, v, p) = (dataset.to_owned(), version.to_owned(), plan.to_owned());
    blocking(move || store.find(kind, &d, &v, &p)).await
}

/// Whether `id` can be a stored run's id (a UUID): anything else is no
/// stored run, answered without a store call.
fn is_run_id(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The threshold a stored plan was answered under.
fn stored_threshold(plan: &str) -> Option<f64> {
    serde_json::from_str::<serde_json::Value>(plan)
        .ok()?
        .get("min_group_size")?
        .as_f64()
}

/// A stored run of `kind`, or 404; refused when it was answered under a
/// lower privacy threshold than the server's now.
async fn stored(state: &AppState, kind: Kind, id: &str) -> Result<Record, ApiError> {
    let not_found = || ApiError::NotFound(location(kind, id));
    if !is_run_id(id) {
        return Err(not_found());
    }
    let store = state.store.clone();
    let key = id.to_owned();
    let rec = blocking(move || store.get(&key))
        .await?
        .filter(|r| r.kind == kind)
        .ok_or_else(not_found)?;
    let floor = state.config.min_group_size;
    match stored_threshold(&rec.plan) {
        Some(t) if t >= floor => Ok(rec),
        t => Err(ApiError::Unprocessable(format!(
            "this run was answered under min_group_size {}, below this server's {floor}: \
             post its plan again",
            t.map_or("unknown".to_owned(), |t| t.to_string())
        ))),
    }
}

async fn get_run(state: &AppState, kind: Kind, id: &str) -> Result<HttpResponse, ApiError> {
    let rec = stored(state, kind, id).await?;
    let stale = stale(state, &rec.dataset, &rec.version);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(document(&rec, stale)))
}

async fn delete_run(state: &AppState, kind: Kind, id: &str) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(location(kind, id));
    if !is_run_id(id) {
        return Err(not_found());
    }
    let store = state.store.clone();
    let key = id.to_owned();
    // Only runs of the path's kind go through it.
    let deleted = blocking(move || match store.get(&key)? {
        Some(r) if r.kind == kind => store.delete(&key),
        _ => Ok(false),
    })
    .await?;
    if deleted {
        tracing::info!(id = %id, kind = kind.as_str(), "stored run deleted");
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found())
    }
}

/// Query parameters of a list of stored runs.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 1000 (default 100).
    limit: Option<String>,
    /// Runs to skip, newest first (default 0).
    offset: Option<String>,
}

fn summary(state: &AppState, s: &Summary) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": s.id,
        "href": location(s.kind, &s.id),
        "created": s.created(),
        "dataset_version": s.version,
        "stale": stale(state, &s.dataset, &s.version),
    });
    v[plan_key(s.kind)] = serde_json::from_str(&s.plan).unwrap_or_default();
    v
}

async fn list_runs(
    state: &AppState,
    kind: Kind,
    name: &str,
    params: &ListParams,
) -> Result<HttpResponse, ApiError> {
    dataset(state, name)?;
    let limit = parse_usize("limit", params.limit.as_deref(), DEFAULT_LIST_LIMIT)?;
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(ApiError::BadParameter {
            name: "limit".into(),
            message: format!("expected 1 to {MAX_LIST_LIMIT}, found {limit}"),
        });
    }
    let offset = parse_usize("offset", params.offset.as_deref(), 0)?;
    let store = state.store.clone();
    let key = name.to_owned();
    let (total, page) = blocking(move || {
        Ok((
            store.count(kind, &key)?,
            store.list(kind, &key, limit, offset)?,
        ))
    })
    .await?;
    let mut body = serde_json::json!({
        "dataset": name,
        "total": total,
        "limit": limit,
        "offset": offset,
    });
    body[match kind {
        Kind::Siting => "runs",
        _ => "scenarios",
    }] = page.iter().map(|s| summary(state, s)).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// A stored scenario: the answer as it was posted, with `id`, `created`,
/// `dataset_version`, `plan`, and `stale` (true when the dataset has
/// changed since, or is no longer served: post the plan again for an
/// answer on today's data). Refused (422) when it was answered under a
/// lower `min_group_size` than the server's now.
#[utoipa::path(
    get,
    path = "/v1/scenarios/{id}",
    params(("id" = String, Path, description = "Stored scenario id (a UUID)")),
    responses(
        (status = 200, description = "The stored scenario", content_type = "application/json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/scenarios/{id}")]
pub(crate) async fn get_scenario(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    get_run(&state, Kind::Scenario, &id).await
}

/// Deletes a stored scenario (role `planner`).
#[utoipa::path(
    delete,
    path = "/v1/scenarios/{id}",
    params(("id" = String, Path, description = "Stored scenario id (a UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::delete("/v1/scenarios/{id}")]
pub(crate) async fn delete_scenario(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    delete_run(&state, Kind::Scenario, &id).await
}

/// The dataset's stored scenarios, newest first: `total`, and a page of
/// `scenarios`, each with its `id`, `href`, `created`, `dataset_version`,
/// `stale` and `plan` (`GET` its `href` for the answer).
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/scenarios",
    params(("name" = String, Path, description = "Dataset name"), ListParams),
    responses(
        (status = 200, description = "dataset, total, limit, offset, scenarios", content_type = "application/json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/scenarios")]
pub(crate) async fn list_scenarios(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_runs(&state, Kind::Scenario, &name, &params).await
}

/// A stored siting run: the answer as it was posted, with `id`, `created`,
/// `dataset_version`, `request` (the siting request, canonical) and
/// `stale`. Refused (422) when it was answered under a lower
/// `min_group_size` than the server's now.
#[utoipa::path(
    get,
    path = "/v1/siting/{id}",
    params(("id" = String, Path, description = "Stored siting run id (a UUID)")),
    responses(
        (status = 200, description = "The stored siting run", content_type = "application/json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/siting/{id}")]
pub(crate) async fn get_siting(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    get_run(&state, Kind::Siting, &id).await
}

/// Deletes a stored siting run (role `planner`).
#[utoipa::path(
    delete,
    path = "/v1/siting/{id}",
    params(("id" = String, Path, description = "Stored siting run id (a UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::delete("/v1/siting/{id}")]
pub(crate) async fn delete_siting(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    delete_run(&state, Kind::Siting, &id).await
}

/// The dataset's stored siting runs, newest first: `total`, and a page of
/// `runs`, each with its `id`, `href`, `created`, `dataset_version`,
/// `stale` and `request`.
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/siting",
    params(("name" = String, Path, description = "Dataset name"), ListParams),
    responses(
        (status = 200, description = "dataset, total, limit, offset, runs", content_type = "application/json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/siting")]
pub(crate) async fn list_siting(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_runs(&state, Kind::Siting, &name, &params).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(document: &str) -> Record {
        Record {
            id: "0193a1b2-0000-7000-8000-000000000001".into(),
            kind: Kind::Scenario,
            dataset: "crema".into(),
            version: "abc".into(),
            plan: r#"{"cease":["GP1"],"min_group_size":10.0}"#.into(),
            document: document.into(),
            created_ms: 0,
        }
    }

    #[test]
    fn a_stored_document_is_the_answer_with_the_records_fields_in_front() {
        let d = document(&rec(r#"{"placed":3,"by_gp":[]}"#), true);
        let v: serde_json::Value = serde_json::from_str(&d).unwrap();
        assert_eq!(v["id"], "0193a1b2-0000-7000-8000-000000000001");
        assert_eq!(v["created"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["dataset_version"], "abc");
        assert_eq!(v["stale"], true);
        assert_eq!(v["plan"]["cease"][0], "GP1");
        assert_eq!(v["placed"], 3);
        let empty: serde_json::Value = serde_json::from_str(&document(&rec("{ }"), false)).unwrap();
        assert_eq!(empty.as_object().unwrap().len(), 5);
    }

    #[test]
    fn the_threshold_of_a_stored_plan_is_read_back() {
        assert_eq!(stored_threshold(r#"{"min_group_size":25.0}"#), Some(25.0));
        assert_eq!(stored_threshold("{}"), None);
        assert_eq!(stored_threshold("not json"), None);
    }
}
