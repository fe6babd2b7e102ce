//! The map page: `GET /map` and its assets, embedded in the binary so the
//! page works offline (no CDN, no tile server). `GET /` redirects to it.
//!
//! The page (`assets/map/`) is plain HTML, CSS and JavaScript with no build
//! step; MapLibre GL JS is vendored under `assets/vendor/maplibre-gl/`
//! with its licence. Assets are served with a strong `ETag` (a hash of
//! their bytes) and `Cache-Control: no-cache`, so a browser revalidates
//! and an upgraded binary is never hidden behind a stale copy.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::state::hash_of;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The page itself.
const PAGE: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    bytes: include_bytes!("../assets/map/index.html"),
};

/// Everything under `/map/assets/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "map.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/map/map.js"),
    },
    Asset {
        name: "chart.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/map/chart.js"),
    },
    Asset {
        name: "i18n.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/map/i18n.js"),
    },
    Asset {
        name: "map.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/map/map.css"),
    },
    Asset {
        name: "maplibre-gl.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/maplibre-gl/maplibre-gl.js"),
    },
    Asset {
        name: "maplibre-gl.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/maplibre-gl/maplibre-gl.css"),
    },
    Asset {
        name: "maplibre-gl-LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/maplibre-gl/LICENSE.txt"),
    },
];

/// Registers `/`, `/map` and `/map/assets/{file}`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(root))
            .route(web::head().to(root)),
    )
    .service(
        web::resource(["/map", "/map/"])
            .route(web::get().to(page))
            .route(web::head().to(page)),
    )
    .route("/map/assets/{file}", web::get().to(asset));
}

/// `/` → `/map`, keeping the query (a shared link's state).
async fn root(req: HttpRequest) -> HttpResponse {
    let q = req.query_string();
    let to = if q.is_empty() {
        "/map".to_owned()
    } else {
        format!("/map?{q}")
    };
    HttpResponse::Found()
        .insert_header((header::LOCATION, to))
        .finish()
}

async fn page(req: HttpRequest) -> HttpResponse {
    serve(&req, &PAGE)
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .map(|a| serve(&req, a))
        .ok_or_else(|| ApiError::NotFound(req.path().to_owned()))
}

/// The bytes with their type and tag, or `304` when the client has them.
fn serve(req: &HttpRequest, a: &Asset) -> HttpResponse {
    let etag = crate::state::weak_etag(hash_of(&a.bytes));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::state::etag_matches(v, &etag));
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if fresh {
        return resp.finish();
    }
    resp.content_type(a.content_type).body(a.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_names_is_embedded_and_names_are_unique() {
        let page = std::str::from_utf8(PAGE.bytes).unwrap();
        let mut named = 0;
        for part in page.split("assets/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "the page names `{name}`, which is not embedded"
            );
            named += 1;
        }
        assert!(named >= 5, "{named}");
        let mut names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
    }
}
