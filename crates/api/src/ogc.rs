//! OGC API – Features, Part 1 (Core, GeoJSON) under `/ogc`, so that QGIS
//! and GDAL (`ogrinfo OAPIF:http://host/ogc`) open bacino's layers directly.
//!
//! Every dataset offers one collection per facility kind
//! (`{dataset}_facilities_{kind}`), its areas with aggregated statistics
//! (`{dataset}_areas`) and its catchments. Features are built once per
//! dataset (off the async workers) and pages are cut from memory.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::catalog::{Layer, Source};
use crate::error::{ApiError, Problem};
use crate::routes::{memo, respond};
use crate::state::{hash_of, AppState, Cached, Entry};

/// Largest page the server returns; larger `limit`s are reduced to it.
pub const MAX_LIMIT: usize = 10_000;
/// Page size without `limit`.
pub const DEFAULT_LIMIT: usize = 100;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const GEOJSON: &str = "application/geo+json";

/// Registers the `/ogc` routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ogc", web::get().to(landing))
        .route("/ogc/", web::get().to(landing))
        .route("/ogc/conformance", web::get().to(conformance))
        .route("/ogc/collections", web::get().to(collections))
        .route("/ogc/collections/{id}", web::get().to(collection))
        .route("/ogc/collections/{id}/items", web::get().to(items))
        .route("/ogc/collections/{id}/items/{fid}", web::get().to(item));
}

/// Only `f` (output format) is accepted besides each endpoint's own parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatParam {
    f: Option<String>,
}

fn check_format(f: Option<&str>) -> Result<(), ApiError> {
    match f {
        None | Some("json" | "geojson" | "application/json" | "application/geo+json") => Ok(()),
        Some(other) => Err(ApiError::BadParameter {
            name: "f".into(),
            message: format!("expected `json`, found `{other}`"),
        }),
    }
}

/// Absolute base of the links. Only the `Host` header counts (not
/// `X-Forwarded-*`, which any client can send): it is part of every cache
/// key, so a response cannot be made to point elsewhere for others.
fn base(req: &HttpRequest) -> String {
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| req.app_config().host().to_owned(), str::to_owned);
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/ogc")
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

fn json_response(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(value.to_string())
}

/// OGC API – Features landing page.
#[utoipa::path(get, path = "/ogc", tag = "ogc", params(("f" = Option<String>, Query, description = "Format: json")),
    responses((status = 200, description = "Landing page with links", content_type = "application/json"),
              (status = 400, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn landing(
    req: HttpRequest,
    q: web::Query<FormatParam>,
) -> Result<HttpResponse, ApiError> {
    check_format(q.f.as_deref())?;
    let b = base(&req);
    let root = b.trim_end_matches("/ogc");
    Ok(json_response(&json!({
        "title": "bacino",
        "description": "Health facilities, areas with distance statistics, and catchments \
                        (OGC API – Features)",
        "links": [
            link(b.clone(), "self", "application/json", "This document"),
            link(format!("{root}/openapi.json"), "service-desc",
                 "application/vnd.oai.openapi+json;version=3.0", "The API definition"),
            link(format!("{root}/docs/"), "service-doc", "text/html", "The API documentation"),
            link(format!("{b}/conformance"), "conformance", "application/json",
                 "Conformance classes"),
            link(format!("{b}/collections"), "data", "application/json", "The collections"),
        ]
    })))
}

/// Conformance classes (Core, GeoJSON).
#[utoipa::path(get, path = "/ogc/conformance", tag = "ogc",
    responses((status = 200, description = "conformsTo list", content_type = "application/json")))]
pub(crate) async fn conformance(q: web::Query<FormatParam>) -> Result<HttpResponse, ApiError> {
    check_format(q.f.as_deref())?;
    Ok(json_response(&json!({
        "conformsTo": [
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        ]
    })))
}

/// A collection of one dataset.
struct Collection {
    id: String,
    entry: Arc<Entry>,
    source: Source,
}

fn all_collections(state: &AppState) -> Vec<Collection> {
    state
        .datasets()
        .values()
        .flat_map(|entry| {
            Source::all_for(&entry.dataset)
                .into_iter()
                .map(|source| Collection {
                    id: source.collection_id(&entry.dataset.name),
                    entry: entry.clone(),
                    source,
                })
        })
        .collect()
}

fn find(state: &AppState, id: &str) -> Result<Collection, ApiError> {
    all_collections(state)
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("/ogc/collections/{id}")))
}

async fn layer(state: &AppState, c: &Collection) -> Result<Arc<Layer>, ApiError> {
    let min = state.config.min_group_size;
    let source = c.source;
    memo(
        c.entry.clone(),
        "layer",
        source.to_string(),
        move |e, exec| source.build(&e.dataset, min, exec),
    )
    .await
}

async fn describe(state: &AppState, c: &Collection, b: &str) -> Result<Value, ApiError> {
    let layer = layer(state, c).await?;
    let mut doc = json!({
        "id": c.id,
        "title": c.source.title(&c.entry.dataset),
        "description": c.source.description(state.config.min_group_size),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(format!("{b}/collections/{}", c.id), "self", "application/json", "This collection"),
            link(format!("{b}/collections/{}/items", c.id), "items", GEOJSON, "Its features"),
        ]
    });
    if let Some(e) = layer.extent {
        doc["extent"] = json!({"spatial": {"bbox": [e], "crs": CRS84}});
    }
    Ok(doc)
}

/// Every collection: facilities per kind, areas with statistics, catchments.
#[utoipa::path(get, path = "/ogc/collections", tag = "ogc",
    responses((status = 200, description = "Collections with extents", content_type = "application/json")))]
pub(crate) async fn collections(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<FormatParam>,
) -> Result<HttpResponse, ApiError> {
    check_format(q.f.as_deref())?;
    let b = base(&req);
    let mut list = Vec::new();
    for c in all_collections(&state) {
        // One layer that cannot be drawn (say, bands over a country at a
        // fine resolution) must not hide the others from GIS clients.
        match describe(&state, &c, &b).await {
            Ok(doc) => list.push(doc),
            Err(e) => tracing::warn!(collection = %c.id, error = %e, "collection left out"),
        }
    }
    Ok(json_response(&json!({
        "links": [link(format!("{b}/collections"), "self", "application/json", "The collections")],
        "collections": list,
    })))
}

/// One collection.
#[utoipa::path(get, path = "/ogc/collections/{id}", tag = "ogc",
    params(("id" = String, Path, description = "Collection id, e.g. bergamo_facilities_gp")),
    responses((status = 200, description = "The collection", content_type = "application/json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn collection(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    q: web::Query<FormatParam>,
) -> Result<HttpResponse, ApiError> {
    check_format(q.f.as_deref())?;
    let c = find(&state, &id)?;
    Ok(json_response(&describe(&state, &c, &base(&req)).await?))
}

/// Query parameters of `/items` (OGC API – Features Part 1).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemsParams {
    limit: Option<String>,
    offset: Option<String>,
    bbox: Option<String>,
    #[serde(rename = "bbox-crs")]
    bbox_crs: Option<String>,
    /// Accepted and matched by every feature: none has a time.
    datetime: Option<String>,
    f: Option<String>,
}

pub(crate) fn parse_usize(
    name: &str,
    value: Option<&str>,
    default: usize,
) -> Result<usize, ApiError> {
    value.map_or(Ok(default), |v| {
        v.trim().parse().map_err(|_| ApiError::BadParameter {
            name: name.into(),
            message: format!("expected a non-negative integer, found `{v}`"),
        })
    })
}

/// `minLon,minLat,maxLon,maxLat` (or the 6-number 3-D form) in CRS84.
fn parse_bbox(value: &str) -> Result<[f64; 4], ApiError> {
    let bad = |why: &str| ApiError::BadParameter {
        name: "bbox".into(),
        message: format!("{why}: expected `minLon,minLat,maxLon,maxLat`, found `{value}`"),
    };
    let n: Vec<f64> = value
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("not numbers"))?;
    let b = match n[..] {
        [a, b, c, d] => [a, b, c, d],
        [a, b, _, c, d, _] => [a, b, c, d],
        _ => return Err(bad("wrong number of values")),
    };
    if b.iter().any(|x| !x.is_finite()) || b[1] > b[3] || b[1] < -90.0 || b[3] > 90.0 {
        return Err(bad("out of range"));
    }
    Ok(b)
}

/// Whether feature box `f` meets query box `q`; a query whose west edge is
/// east of its east edge crosses the antimeridian.
fn intersects(f: &[f64; 4], q: &[f64; 4]) -> bool {
    let lat = f[1] <= q[3] && f[3] >= q[1];
    let lon = if q[0] <= q[2] {
        f[0] <= q[2] && f[2] >= q[0]
    } else {
        f[2] >= q[0] || f[0] <= q[2]
    };
    lat && lon
}

/// A page of a collection's features (GeoJSON), with `next`/`prev` links.
#[utoipa::path(get, path = "/ogc/collections/{id}/items", tag = "ogc",
    params(("id" = String, Path, description = "Collection id"),
           ("limit" = Option<usize>, Query, description = "Page size, 1 to 10000 (default 100; larger values are reduced to 10000)"),
           ("offset" = Option<usize>, Query, description = "Features to skip"),
           ("bbox" = Option<String>, Query, description = "minLon,minLat,maxLon,maxLat (CRS84)"),
           ("bbox-crs" = Option<String>, Query, description = "Only CRS84"),
           ("datetime" = Option<String>, Query, description = "Accepted; features have no time")),
    responses((status = 200, description = "FeatureCollection with numberMatched, numberReturned and links", content_type = "application/geo+json"),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn items(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    q: web::Query<ItemsParams>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    check_format(q.f.as_deref())?;
    if let Some(crs) = q.bbox_crs.as_deref().filter(|c| *c != CRS84) {
        return Err(ApiError::BadParameter {
            name: "bbox-crs".into(),
            message: format!("only {CRS84} is supported, found `{crs}`"),
        });
    }
    let _ = q.datetime;
    let limit = parse_usize("limit", q.limit.as_deref(), DEFAULT_LIMIT)?;
    if limit == 0 {
        return Err(ApiError::BadParameter {
            name: "limit".into(),
            message: format!("expected an integer from 1 to {MAX_LIMIT}, found 0"),
        });
    }
    let limit = limit.min(MAX_LIMIT);
    let offset = parse_usize("offset", q.offset.as_deref(), 0)?;
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let c = find(&state, &id)?;
    let layer = layer(&state, &c).await?;

    let matched: Vec<&str> = layer
        .features
        .iter()
        .filter(|f| match (&bbox, &f.bbox) {
            (None, _) => true,
            (Some(q), Some(b)) => intersects(b, q),
            (Some(_), None) => false,
        })
        .map(|f| f.json.as_str())
        .collect();
    let page: Vec<&str> = matched.iter().skip(offset).take(limit).copied().collect();

    let b = base(&req);
    let here = |offset: usize| {
        let mut url = format!(
            "{b}/collections/{}/items?limit={limit}&offset={offset}",
            c.id
        );
        if let Some(bb) = &q.bbox {
            url.push_str("&bbox=");
            url.push_str(&bb.replace(' ', ""));
        }
        url
    };
    let mut links = vec![
        link(here(offset), "self", GEOJSON, "This page"),
        link(
            format!("{b}/collections/{}", c.id),
            "collection",
            "application/json",
            "The collection",
        ),
    ];
    if offset + page.len() < matched.len() {
        links.push(link(here(offset + limit), "next", GEOJSON, "Next page"));
    }
    if offset > 0 {
        links.push(link(
            here(offset.saturating_sub(limit)),
            "prev",
            GEOJSON,
            "Previous page",
        ));
    }
    // Features are already serialised: splice them in rather than re-parse.
    let mut body = String::with_capacity(page.iter().map(|f| f.len() + 1).sum::<usize>() + 512);
    body.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    body.push_str(&page.join(","));
    body.push_str("],");
    let tail = json!({
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "links": links,
    })
    .to_string();
    body.push_str(&tail[1..]);
    let etag =
        crate::state::weak_etag(hash_of(&(layer.etag, offset, limit, q.bbox.as_deref(), &b)));
    Ok(respond(
        &req,
        &Cached {
            body,
            etag,
            content_type: GEOJSON,
        },
    ))
}

/// One feature by id.
#[utoipa::path(get, path = "/ogc/collections/{id}/items/{fid}", tag = "ogc",
    params(("id" = String, Path, description = "Collection id"), ("fid" = String, Path, description = "Feature id")),
    responses((status = 200, description = "The feature", content_type = "application/geo+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn item(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<FormatParam>,
) -> Result<HttpResponse, ApiError> {
    check_format(q.f.as_deref())?;
    let (id, fid) = path.into_inner();
    let c = find(&state, &id)?;
    let layer = layer(&state, &c).await?;
    let f = layer
        .features
        .iter()
        .find(|f| f.id == fid)
        .ok_or_else(|| ApiError::NotFound(format!("/ogc/collections/{id}/items/{fid}")))?;
    let b = base(&req);
    let mut value: Value =
        serde_json::from_str(&f.json).map_err(|e| ApiError::Internal(e.to_string()))?;
    value["links"] = json!([
        link(
            format!("{b}/collections/{id}/items/{fid}"),
            "self",
            GEOJSON,
            "This feature"
        ),
        link(
            format!("{b}/collections/{id}"),
            "collection",
            "application/json",
            "The collection"
        ),
    ]);
    Ok(HttpResponse::Ok()
        .content_type(GEOJSON)
        .body(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_accepts_four_or_six_numbers_and_rejects_the_rest() {
        assert_eq!(parse_bbox("9,45,10,46").unwrap(), [9.0, 45.0, 10.0, 46.0]);
        assert_eq!(
            parse_bbox("9,45,0,10,46,100").unwrap(),
            [9.0, 45.0, 10.0, 46.0]
        );
        for bad in [
            "9,45,10",
            "a,b,c,d",
            "9,46,10,45",
            "9,-95,10,45",
            "9,45,10,NaN",
        ] {
            assert!(parse_bbox(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn boxes_meet_across_the_antimeridian() {
        let f = [179.5, 0.0, 179.6, 1.0];
        assert!(intersects(&f, &[170.0, -1.0, -170.0, 2.0]));
        assert!(!intersects(&f, &[-170.0, -1.0, 170.0, 2.0]));
        assert!(intersects(&[9.6, 45.6, 9.6, 45.6], &[9.6, 45.6, 9.7, 45.7]));
        assert!(!intersects(
            &[9.6, 45.6, 9.6, 45.6],
            &[9.61, 45.6, 9.7, 45.7]
        ));
    }
}
