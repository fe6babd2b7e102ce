//! `GET /v1/datasets/{name}/isochrones` (CONTRACT §5).

use actix_web::{web, HttpRequest, HttpResponse};
use bacino_core::{isochrones, IsochroneOptions, MetricName};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem};
use crate::routes::{check_network, dataset, memo, min_group_size, respond};
use crate::state::{AppState, Cached};

/// Band edges over HTTP are multiples of this, minutes: two requests whose
/// edges differ by a few seconds would count the few people in between.
pub const MINUTES_STEP: f64 = 5.0;

/// Query parameters of the isochrones endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IsochronesParams {
    /// `car` or `foot` (required: isochrones follow roads).
    metric: Option<String>,
    /// Facility kind: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    kind: Option<String>,
    /// Only this facility (an active facility of the kind).
    facility: Option<String>,
    /// Upper band edges in minutes, multiples of 5 (default `5,10,15`).
    minutes: Option<String>,
    /// `true`: one feature per band for the whole kind (time to the
    /// nearest facility) instead of one per facility and band.
    union: Option<bool>,
    /// H3 resolution of the drawing (default 10 on foot, 9 by car).
    resolution: Option<String>,
    /// Privacy threshold in people; not below the server's (default 10).
    min_group_size: Option<String>,
}

/// Isochrones: per facility and band of travel time to it, the area it is
/// reached from over the road network and the people living there by their
/// own travel times (RFC 7946 FeatureCollection; properties `facility_id`,
/// `minutes_min`, `minutes_max`, `population`, `area_km2`).
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/isochrones",
    params(("name" = String, Path, description = "Dataset name"), IsochronesParams),
    responses(
        (status = 200, description = "FeatureCollection, one feature per facility (or per kind with union) and band", content_type = "application/geo+json"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[actix_web::get("/v1/datasets/{name}/isochrones")]
pub(crate) async fn isochrones_route(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<IsochronesParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let entry = dataset(&state, &name)?;
    let p = params.into_inner();
    let bad = |name: &str, message: String| ApiError::BadParameter {
        name: name.into(),
        message,
    };
    let metric: MetricName = p
        .metric
        .as_deref()
        .ok_or_else(|| bad("metric", "required: `car` or `foot`".into()))?
        .parse()?;
    if metric.profile().is_none() {
        return Err(bad(
            "metric",
            "isochrones need a road-network metric: `car` or `foot`".into(),
        ));
    }
    check_network(&entry, metric)?;
    let kind = p
        .kind
        .as_deref()
        .ok_or_else(|| bad("kind", "required: a facility kind, e.g. `pharmacy`".into()))?
        .parse()
        .map_err(|m: String| bad("kind", m))?;
    let mut options = IsochroneOptions::new(kind);
    options.facility = p.facility;
    options.union = p.union.unwrap_or(false);
    options.min_group_size = min_group_size(&state, p.min_group_size.as_deref())?;
    if let Some(m) = p.minutes.as_deref() {
        options.minutes = IsochroneOptions::parse_minutes(m)?;
        if options.minutes.iter().any(|x| x % MINUTES_STEP != 0.0) {
            return Err(bad(
                "minutes",
                format!("band edges must be multiples of {MINUTES_STEP} minutes"),
            ));
        }
    }
    if let Some(r) = p.resolution.as_deref() {
        options.resolution = Some(r.trim().parse().map_err(|_| {
            bad(
                "resolution",
                format!("expected an H3 resolution (integer), found `{r}`"),
            )
        })?);
    }
    let key = format!("isochrones|{metric}|{options:?}");
    let cached = memo(entry, "body", key, move |e, exec| {
        let m = e.dataset.metric(metric, exec)?;
        let drawn = isochrones(&e.dataset, &options, m, exec)?;
        Ok(Cached::new(
            drawn.to_geojson_string(),
            "application/geo+json",
        ))
    })
    .await?;
    Ok(respond(&req, &cached))
}
