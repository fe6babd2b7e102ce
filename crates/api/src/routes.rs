//! Routes and handlers. Handlers extract and validate, hand the computation
//! to `bacino-core` on a blocking thread, and serialise.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bacino_core::{
    catchments, distance_report, CatchmentOptions, DistanceQuery, GroupBy, MetricName, Overrides,
    Target,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use bacino_core::Interruptible;

use crate::cache::Weigh;
use crate::error::{ApiError, Problem};
use crate::state::{AppState, Cached, Entry};

/// The OpenAPI document of the service.
#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerScheme),
    info(
        title = "bacino",
        description = "Patient–clinic distances and catchments for primary-care planning"
    ),
    paths(
        health,
        list_datasets,
        distances,
        catchments_route,
        crate::isochrones::isochrones_route,
        crate::access::access_route,
        crate::coverage::coverage_route,
        crate::ad::ad_route,
        crate::ad::aft_route,
        crate::plans::scenarios,
        crate::stored::list_scenarios,
        crate::stored::get_scenario,
        crate::stored::delete_scenario,
        crate::stored::list_siting,
        crate::stored::get_siting,
        crate::stored::delete_siting,
        crate::plans::compare_route,
        crate::siting::siting_route,
        crate::admin::reload_route,
        crate::ogc::landing,
        crate::ogc::conformance,
        crate::ogc::collections,
        crate::ogc::collection,
        crate::ogc::items,
        crate::ogc::item
    ),
    components(schemas(
        Health,
        crate::pool::PoolStatus,
        DatasetInfo,
        DistancesDoc,
        GroupDoc,
        crate::plans::ScenarioBody,
        crate::plans::OpenBody,
        crate::plans::CompareBody,
        crate::siting::SitingBody,
        crate::admin::ReloadDoc,
        crate::state::Reloaded,
        Problem
    ))
)]
pub struct ApiDoc;

/// The `bearer` security scheme, required by every operation but the
/// liveness probe (a server without `[[tokens]]` ignores it).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "A token from `bacino token`; the server keeps its SHA-256 only. Roles: reader (GET), planner (also POST and stored scenarios), admin (also /v1/admin).",
                        ))
                        .build(),
                ),
            );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        // Every guarded operation may answer 401 and 403 (problem+json).
        let problem = |what: &str| {
            utoipa::openapi::ResponseBuilder::new()
                .description(what)
                .content(
                    "application/problem+json",
                    utoipa::openapi::content::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/health" {
                continue;
            }
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses.responses.entry("401".into()).or_insert_with(|| {
                    problem("no token, or one this server does not know (only when it has [[tokens]])").into()
                });
                op.responses
                    .responses
                    .entry("403".into())
                    .or_insert_with(|| problem("the token's role may not do this").into());
            }
        }
    }
}

/// Registers every route, the error handlers and Swagger UI. Used by
/// `bacino serve` and by the tests, so both see the same service.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = state.config.max_body_bytes;
        cfg.app_data(web::Data::new(state))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                let message = err.to_string();
                // serde names an unknown parameter as "unknown field `x`".
                let name = message
                    .split_once("unknown field `")
                    .and_then(|(_, rest)| rest.split_once('`'))
                    .map_or("query", |(name, _)| name)
                    .to_owned();
                ApiError::BadParameter { name, message }.into()
            }))
            .app_data(web::PayloadConfig::new(limit))
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(move |err, _| match err {
                        actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                        | actix_web::error::JsonPayloadError::Overflow { .. } => {
                            ApiError::TooLarge { limit }.into()
                        }
                        other => ApiError::BadParameter {
                            name: "body".into(),
                            message: other.to_string(),
                        }
                        .into(),
                    }),
            )
            .service(
                // One scope around every route, so that access control and
                // HEAD-as-GET run before routing.
                web::scope("")
                    .wrap(actix_web::middleware::from_fn(crate::auth::guard))
                    .service(health)
                    .service(list_datasets)
                    .service(distances)
                    .service(catchments_route)
                    .service(crate::isochrones::isochrones_route)
                    .service(crate::access::access_route)
                    .service(crate::coverage::coverage_route)
                    .service(crate::ad::ad_route)
                    .service(crate::ad::aft_route)
                    .service(crate::plans::scenarios)
                    .service(crate::stored::list_scenarios)
                    .service(crate::stored::get_scenario)
                    .service(crate::stored::delete_scenario)
                    .service(crate::stored::list_siting)
                    .service(crate::stored::get_siting)
                    .service(crate::stored::delete_siting)
                    .service(crate::plans::compare_route)
                    .service(crate::siting::siting_route)
                    .service(crate::admin::reload_route)
                    .configure(crate::ogc::configure)
                    .configure(crate::map::configure)
                    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
                    .default_service(web::to(|req: HttpRequest| async move {
                        let allow = allowed_methods(req.path());
                        Err::<HttpResponse, _>(if allow.is_empty() {
                            ApiError::NotFound(req.path().to_owned())
                        } else {
                            ApiError::MethodNotAllowed {
                                method: req.method().to_string(),
                                allow,
                            }
                        })
                    })),
            );
    }
}

/// The methods a path answers (with `HEAD` wherever `GET` is), from the
/// OpenAPI document's paths and the few routes it leaves out (the map
/// page, Swagger UI, the OpenAPI document itself); empty when no route
/// has the path.
fn allowed_methods(path: &str) -> Vec<String> {
    use actix_web::dev::ResourceDef;
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<(ResourceDef, Vec<&'static str>)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t: Vec<(ResourceDef, Vec<&'static str>)> = ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let mut m = Vec::new();
                if item.get.is_some() {
                    m.extend(["GET", "HEAD"]);
                }
                if item.post.is_some() {
                    m.push("POST");
                }
                if item.put.is_some() {
                    m.push("PUT");
                }
                if item.patch.is_some() {
                    m.push("PATCH");
                }
                if item.delete.is_some() {
                    m.push("DELETE");
                }
                (ResourceDef::new(template.as_str()), m)
            })
            .collect();
        for extra in [
            "/",
            "/map",
            "/map/",
            "/map/assets/{file}",
            "/openapi.json",
            "/docs/{_:.*}",
            "/ogc/",
        ] {
            t.push((ResourceDef::new(extra), vec!["GET", "HEAD"]));
        }
        t
    });
    let mut out: Vec<String> = Vec::new();
    for (def, methods) in table {
        if def.is_match(path) {
            for m in methods {
                if !out.iter().any(|x| x == m) {
                    out.push((*m).to_owned());
                }
            }
        }
    }
    out
}

/// Service status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: &'static str,
    /// Number of loaded datasets.
    pub datasets: usize,
    /// The pool heavy work runs in: a full one answers 503.
    pub pool: crate::pool::PoolStatus,
}

/// Liveness and readiness.
#[utoipa::path(get, path = "/health", security(()), responses((status = 200, body = Health)))]
#[actix_web::get("/health")]
async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        datasets: state.datasets().len(),
        pool: state.pool.status(),
    })
}

/// A loaded dataset, as listed by `/v1/datasets`. Only aggregates: residents
/// are never described individually.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetInfo {
    /// URL-safe name.
    pub name: String,
    /// Version of the data: a hash of the manifest and source files (32
    /// hex digits); changes when a reload brings new data.
    pub version: String,
    /// Title.
    pub title: String,
    /// Active facilities per kind.
    pub facilities: BTreeMap<String, usize>,
    /// Total people (sum of resident weights).
    pub residents: f64,
    /// Number of area polygons (0 without an areas file).
    pub areas: usize,
    /// The metrics the dataset answers: `geodesic`, `car` and `foot` when
    /// it has a road network, `table` when it has a cost table.
    pub metrics: Vec<String>,
    /// The road networks prepared for it (extract and profile).
    pub networks: Vec<NetworkDoc>,
}

/// The loaded datasets.
#[utoipa::path(get, path = "/v1/datasets", responses((status = 200, body = [DatasetInfo])))]
#[actix_web::get("/v1/datasets")]
async fn list_datasets(state: web::Data<AppState>) -> HttpResponse {
    let list: Vec<DatasetInfo> = state
        .datasets()
        .values()
        .map(|e| {
            let d = &e.dataset;
            let mut facilities = BTreeMap::new();
            for f in d.facilities().iter().filter(|f| f.is_active()) {
                *facilities.entry(f.kind.to_string()).or_insert(0) += 1;
            }
            DatasetInfo {
                name: d.name.clone(),
                version: d.version().to_owned(),
                title: d.title.clone(),
                facilities,
                residents: d.residents().total_weight(),
                areas: d.areas().map_or(0, |a| a.len()),
                metrics: MetricName::ALL
                    .into_iter()
                    .filter(|m| match m {
                        MetricName::Table => d.costs().is_some(),
                        m if m.profile().is_some() => d.network_specs().is_some(),
                        _ => true,
                    })
                    .map(|m| m.as_str().to_owned())
                    .collect(),
                networks: bacino_core::network::ProfileName::ALL
                    .into_iter()
                    .filter_map(|p| d.prepared_network(p))
                    .map(|p| {
                        let i = p.network().info();
                        NetworkDoc {
                            path: i.path.clone(),
                            sha256: i.sha256.clone(),
                            timestamp: i.timestamp.clone(),
                            profile: i.profile.to_string(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    HttpResponse::Ok().json(list)
}

/// Query parameters of the distances endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DistancesParams {
    /// `assigned` (to each resident's `gp_id`) or `nearest` (to the nearest
    /// active facility of `kind`).
    to: Option<String>,
    /// Facility kind for `to=nearest`: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    kind: Option<String>,
    /// `group`, `municipality`, `area`, `facility`, `gp_id` or a residents column.
    group_by: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
    /// `geodesic` (default, metres), `car` or `foot` (seconds and route
    /// metres over the dataset's road network).
    metric: Option<String>,
    /// With `n` (2 to 100), every unsuppressed group also carries its
    /// distribution as `n + 1` quantiles from 0 to 100 % (`cdf_m`, and
    /// `cdf_s` under a network metric), for charts.
    cdf: Option<String>,
}

/// Largest `cdf` steps.
pub const MAX_CDF_STEPS: u32 = 100;

/// Statistics of one group (CONTRACT §2); suppressed groups carry only
/// `key`, `name` and `suppressed: true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDoc {
    /// Group key (`all` without grouping; null for residents without a value).
    pub key: Option<String>,
    /// Human name of the key, when known.
    pub name: Option<String>,
    /// People.
    pub count: Option<f64>,
    /// Weighted median, metres.
    pub median_m: Option<f64>,
    /// 25th percentile, metres.
    pub p25_m: Option<f64>,
    /// 75th percentile, metres.
    pub p75_m: Option<f64>,
    /// 90th percentile, metres.
    pub p90_m: Option<f64>,
    /// Weighted mean, metres.
    pub mean_m: Option<f64>,
    /// Maximum, metres.
    pub max_m: Option<f64>,
    /// Weighted median travel time, seconds (network metrics).
    pub median_s: Option<f64>,
    /// 25th percentile, seconds (network metrics).
    pub p25_s: Option<f64>,
    /// 75th percentile, seconds (network metrics).
    pub p75_s: Option<f64>,
    /// 90th percentile, seconds (network metrics).
    pub p90_s: Option<f64>,
    /// Weighted mean, seconds (network metrics).
    pub mean_s: Option<f64>,
    /// Maximum, seconds (network metrics).
    pub max_s: Option<f64>,
    /// True when the group has fewer than `min_group_size` people.
    pub suppressed: Option<bool>,
    /// Quantiles at 0, 1/n, …, 100 % (with `cdf=n`), metres.
    pub cdf_m: Option<Vec<f64>>,
    /// Quantiles at 0, 1/n, …, 100 % (with `cdf=n`), seconds (network metrics).
    pub cdf_s: Option<Vec<f64>>,
}

/// The extract and profile a network figure was computed on.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkDoc {
    /// Extract path as configured on the server.
    pub path: String,
    /// SHA-256 of the extract.
    pub sha256: String,
    /// Extract timestamp (RFC 3339), when known.
    pub timestamp: Option<String>,
    /// `car` or `foot`.
    pub profile: String,
}

/// The distances document (CONTRACT §4).
#[derive(Debug, Serialize, ToSchema)]
pub struct DistancesDoc {
    /// Dataset name.
    pub dataset: String,
    /// `assigned` or `nearest`.
    pub to: String,
    /// Facility kind for `nearest`.
    pub kind: Option<String>,
    /// `geodesic` (WGS84, Karney), `car` or `foot`.
    pub metric: String,
    /// The extract and profile, under a network metric.
    pub network: Option<NetworkDoc>,
    /// People the network could not route (beyond `snap_max_m` of any
    /// usable road, or no facility reachable), under a network metric.
    pub unreachable: Option<f64>,
    /// Grouping used.
    pub group_by: Option<String>,
    /// Privacy threshold applied.
    pub min_group_size: f64,
    /// People without a measurable distance.
    pub unmeasured: f64,
    /// Groups sorted by key.
    pub groups: Vec<GroupDoc>,
}

/// Distance statistics from residents to facilities, grouped. Results are
/// computed once per dataset and parameters, then served from memory.
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/distances",
    params(("name" = String, Path, description = "Dataset name"), DistancesParams),
    responses(
        (status = 200, body = DistancesDoc),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/distances")]
async fn distances(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<DistancesParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let to = p.to.ok_or_else(|| ApiError::BadParameter {
        name: "to".into(),
        message: "required: `assigned` or `nearest`".into(),
    })?;
    let target = Target::from_params(&to, p.kind.as_deref())?;
    let group_by: GroupBy = p.group_by.as_deref().unwrap_or("all").parse()?;
    let min_group_size = min_group_size(&state, p.min_group_size.as_deref())?;
    check_group_column(&entry, &group_by, min_group_size)?;
    let metric: MetricName = p.metric.as_deref().unwrap_or("geodesic").parse()?;
    check_network(&entry, metric)?;
    let cdf_steps = match p.cdf.as_deref() {
        None => 0,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (2..=MAX_CDF_STEPS).contains(n))
            .ok_or_else(|| ApiError::BadParameter {
                name: "cdf".into(),
                message: format!("expected a whole number from 2 to {MAX_CDF_STEPS}, found `{s}`"),
            })?,
    };
    let key = format!(
        "distances|{}|{}|{:?}|{min_group_size}|{metric}|{cdf_steps}",
        to,
        match target {
            Target::Nearest(k) => k.as_str(),
            Target::Assigned => "",
        },
        group_by
    );
    let query = DistanceQuery {
        target,
        group_by,
        min_group_size,
        metric,
        cdf_steps,
    };
    let cached = cached(entry, key, move |e, exec| {
        let report = distance_report(&e.dataset, &query, exec)?;
        serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(respond(&req, &cached))
}

/// Refuses grouping by a column with too many distinct values: keys of
/// suppressed groups are still listed, so a column with nearly one value
/// per person (an address, a fiscal code) would list them.
pub(crate) fn check_group_column(
    entry: &Entry,
    group_by: &GroupBy,
    min_group_size: f64,
) -> Result<(), ApiError> {
    let GroupBy::Column(column) = group_by else {
        return Ok(());
    };
    let residents = entry.dataset.residents();
    if let Some(values) = residents.extra(column).map(|c| c.values().len()) {
        if values as f64 * min_group_size > residents.total_weight() {
            return Err(ApiError::BadParameter {
                name: "group_by".into(),
                message: format!(
                    "column `{column}` has {values} distinct values, too many to group \
                     {} people by in groups of at least {min_group_size}",
                    residents.total_weight()
                ),
            });
        }
    }
    Ok(())
}

/// The privacy threshold of a request: the server's, or a larger one asked for.
pub(crate) fn min_group_size(state: &AppState, asked: Option<&str>) -> Result<f64, ApiError> {
    let floor = state.config.min_group_size;
    match asked {
        None => Ok(floor),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= floor)
            .ok_or_else(|| ApiError::BadParameter {
                name: "min_group_size".into(),
                message: format!("expected a number ≥ {floor}, found `{s}`"),
            }),
    }
}

/// Query parameters of the catchments endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatchmentsParams {
    /// Facility kind: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    kind: Option<String>,
    /// `voronoi` (default; nearest-facility cells clipped to the study area),
    /// `assigned` (H3 cells where each facility's listed patients live) or
    /// `bands` (distance bands to the nearest facility).
    method: Option<String>,
    /// H3 resolution for `assigned` and `bands` (default 8).
    resolution: Option<String>,
    /// Band edges in metres for `bands`, e.g. `2000,5000,10000`.
    bands: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
    /// `geodesic` (default), or `car` / `foot` for `voronoi` by the fastest
    /// facility over the road network.
    metric: Option<String>,
}

/// Catchment polygons of the active facilities of a kind, as an RFC 7946
/// GeoJSON FeatureCollection (WGS84 lon/lat). Computed once per dataset and
/// parameters, then served from memory.
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/catchments",
    params(("name" = String, Path, description = "Dataset name"), CatchmentsParams),
    responses(
        (status = 200, description = "FeatureCollection: one feature per facility (per shared site) or band, with facility_id(s), kind, name, population, median_m, p90_m, capacity, list_size, load", content_type = "application/geo+json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/catchments")]
async fn catchments_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<CatchmentsParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let mut options = CatchmentOptions::from_params(
        p.kind.as_deref(),
        Some(p.method.as_deref().unwrap_or("voronoi")),
    )?;
    options.min_group_size = min_group_size(&state, p.min_group_size.as_deref())?;
    options.metric = p.metric.as_deref().unwrap_or("geodesic").parse()?;
    check_network(&entry, options.metric)?;
    options.resolution = bacino_core::default_resolution(options.metric);
    if let Some(r) = p.resolution.as_deref() {
        options.resolution = r.trim().parse().map_err(|_| ApiError::BadParameter {
            name: "resolution".into(),
            message: format!("expected an H3 resolution (integer), found `{r}`"),
        })?;
    }
    if let Some(b) = p.bands.as_deref() {
        options.bands_m = b
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::BadParameter {
                name: "bands".into(),
                message: format!("expected comma-separated metres, e.g. `2000,5000`, found `{b}`"),
            })?;
    }
    // Band edges on a coarse grid: two requests whose edges differ by a
    // metre would count the few people living in between.
    if p.bands.is_some() && options.bands_m.iter().any(|b| b % BAND_STEP_M != 0.0) {
        return Err(ApiError::BadParameter {
            name: "bands".into(),
            message: format!("band edges must be multiples of {BAND_STEP_M} m"),
        });
    }
    options.validate()?;
    let key = format!("catchments|{options:?}");
    let cached = memo(entry, "body", key, move |e, exec| {
        let drawn = catchments(&e.dataset, &options, Overrides::default(), exec)?;
        Ok(Cached::new(
            drawn.to_geojson_string(),
            "application/geo+json",
        ))
    })
    .await?;
    Ok(respond(&req, &cached))
}

/// Band edges over HTTP are multiples of this, metres.
pub const BAND_STEP_M: f64 = 500.0;

/// A road-network metric on a dataset without `[network]` is a bad
/// `metric` parameter (400), refused before any work.
pub(crate) fn check_network(entry: &Entry, metric: MetricName) -> Result<(), ApiError> {
    if metric.profile().is_some() && entry.dataset.network_specs().is_none() {
        return Err(ApiError::BadParameter {
            name: "metric".into(),
            message: format!(
                "`{metric}` needs a road network: dataset `{}` has no [network]",
                entry.dataset.name
            ),
        });
    }
    Ok(())
}

pub(crate) fn dataset(state: &AppState, name: &str) -> Result<Arc<Entry>, ApiError> {
    state
        .datasets()
        .get(name)
        .cloned()
        .ok_or_else(|| ApiError::UnknownDataset(name.to_owned()))
}

/// Returns the memoised value of `kind` for `key` on the entry's dataset,
/// computing it on a blocking thread the first time. Only successes are
/// kept, in the shared byte-bounded cache (least recently used out first).
pub(crate) async fn memo<T: Weigh + Send + Sync + 'static>(
    entry: Arc<Entry>,
    kind: &'static str,
    key: String,
    compute: impl FnOnce(&Entry, &Interruptible) -> Result<T, ApiError> + Send + 'static,
) -> Result<Arc<T>, ApiError> {
    // The version in the key: after a reload, answers about the old data
    // are never served for the new.
    let key = format!(
        "{}\u{1f}{}\u{1f}{kind}\u{1f}{key}",
        entry.dataset.name,
        entry.dataset.version()
    );
    if let Some(hit) = entry.cache.get::<T>(&key) {
        return Ok(hit);
    }
    let e = entry.clone();
    let value = entry.pool.run(move |exec| compute(&e, exec)).await?;
    let value = Arc::new(value);
    if !entry.cache.insert(key, value.clone()) {
        tracing::warn!(
            capacity = entry.cache.capacity(),
            kind,
            "answer larger than the whole result cache: not kept"
        );
    }
    Ok(value)
}

/// Returns the cached JSON body for `key`, computing it the first time.
pub(crate) async fn cached(
    entry: Arc<Entry>,
    key: String,
    compute: impl FnOnce(&Entry, &Interruptible) -> Result<String, ApiError> + Send + 'static,
) -> Result<Arc<Cached>, ApiError> {
    memo(entry, "body", key, move |e, exec| {
        compute(e, exec).map(|body| Cached::new(body, "application/json"))
    })
    .await
}

/// Answers with a cached body, or 304 when the client's `If-None-Match`
/// names its tag.
pub(crate) fn respond(req: &HttpRequest, c: &Cached) -> HttpResponse {
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::state::etag_matches(v, &c.etag));
    let mut resp = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, c.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    if matches {
        resp.finish()
    } else {
        resp.content_type(c.content_type).body(c.body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn the_result_cache_stays_within_its_bytes_and_still_answers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dataset.toml"),
            "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("f.csv"),
            "id,kind,lon,lat\nGP1,gp,9.6,45.6\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("r.csv"), "id,lon,lat\nR1,9.61,45.61\n").unwrap();
        let dataset = bacino_core::Dataset::load(dir.path()).unwrap();
        let config = crate::Config {
            result_cache_bytes: 64 * 1024,
            ..crate::Config::default()
        };
        let state = AppState::new(vec![dataset], config).unwrap();
        let entry = state.datasets()["t"].clone();
        // 2,000 answers of 1 kB: 2 MB asked of a 64 kB cache.
        for i in 0..2000 {
            let body = format!("{i:>1000}");
            let got = cached(entry.clone(), format!("k{i}"), move |_, _| Ok(body))
                .await
                .unwrap();
            assert_eq!(got.body.trim(), i.to_string());
            assert!(entry.cache.usage().1 <= 64 * 1024);
        }
        let (len, _) = entry.cache.usage();
        assert!(len > 40 && len < 64, "{len} answers kept");
        // The most recent is served from memory (the computation is not
        // run again); the first is long gone.
        let again = cached(entry.clone(), "k1999".into(), |_, _| {
            Err(ApiError::Internal("recomputed".into()))
        })
        .await
        .unwrap();
        assert_eq!(again.body.trim(), "1999");
        let first = cached(entry.clone(), "k0".into(), |_, _| {
            Err(ApiError::Internal("recomputed".into()))
        })
        .await;
        assert!(first.is_err());
    }
}
