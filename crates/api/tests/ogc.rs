//! OGC API – Features in-process: paging, bbox, errors, suppression.

use actix_web::test;
use bacino_core::FacilityKind;
use serde_json::Value;

mod common;
use common::fixture;

macro_rules! get {
    ($app:expr, $uri:expr) => {{
        let resp = test::call_service(&$app, test::TestRequest::get().uri($uri).to_request()).await;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
        (status, ct, body)
    }};
}

/// The path and query of an absolute link.
fn local(href: &str) -> String {
    let rest = href.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_owned()
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a str> {
    doc["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
}

#[actix_rt::test]
async fn the_landing_page_conformance_and_collections_describe_every_layer() {
    let app = app!();
    let (status, _, landing) = get!(app, "/ogc");
    assert_eq!(status, 200);
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(link(&landing, rel).is_some(), "{rel}");
    }
    let (_, _, conf) = get!(app, "/ogc/conformance");
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"));
    let (_, _, cols) = get!(app, "/ogc/collections");
    let ids: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // Every kind present in facilities.csv, plus the areas.
    for kind in FacilityKind::ALL {
        assert!(
            ids.contains(&format!("bergamo_facilities_{kind}").as_str()),
            "{kind}: {ids:?}"
        );
    }
    assert!(ids.contains(&"bergamo_areas"));
    let (status, _, one) = get!(app, "/ogc/collections/bergamo_areas");
    assert_eq!(status, 200);
    let bbox = &one["extent"]["spatial"]["bbox"][0];
    // The province lies around 9.4–10.3 E, 45.4–46.1 N.
    assert!(bbox[0].as_f64().unwrap() > 9.3 && bbox[2].as_f64().unwrap() < 10.4);
    assert!(bbox[1].as_f64().unwrap() > 45.3 && bbox[3].as_f64().unwrap() < 46.2);
}

#[actix_rt::test]
async fn paging_through_next_links_returns_every_facility_once_in_order() {
    let app = app!();
    let want: Vec<String> = fixture()
        .facilities()
        .iter()
        .filter(|f| f.kind == FacilityKind::Gp)
        .map(|f| f.id.0.clone())
        .collect();
    assert_eq!(want.len(), 597);
    let mut got = Vec::new();
    let mut uri = "/ogc/collections/bergamo_facilities_gp/items?limit=50".to_owned();
    let mut pages = 0;
    loop {
        let (status, ct, page) = get!(app, &uri);
        assert_eq!(status, 200, "{uri}");
        assert_eq!(ct, "application/geo+json");
        assert_eq!(page["type"], "FeatureCollection");
        assert_eq!(page["numberMatched"], 597);
        let features = page["features"].as_array().unwrap();
        assert_eq!(page["numberReturned"], features.len());
        assert_eq!(link(&page, "prev").is_some(), pages > 0, "{uri}");
        for f in features {
            assert_eq!(f["geometry"]["type"], "Point");
            got.push(f["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        match link(&page, "next") {
            Some(next) => uri = local(next),
            None => break,
        }
    }
    assert_eq!(pages, 12); // 11 full pages of 50 and one of 47
    assert_eq!(got, want);
}

#[actix_rt::test]
async fn bbox_selects_exactly_the_facilities_inside_the_box() {
    let app = app!();
    let (x0, y0, x1, y1) = (9.6, 45.6, 9.75, 45.75);
    let want = fixture()
        .facilities()
        .iter()
        .filter(|f| f.kind == FacilityKind::Pharmacy)
        .filter(|f| {
            let p = f.location;
            p.lon >= x0 && p.lon <= x1 && p.lat >= y0 && p.lat <= y1
        })
        .count();
    assert!(want > 5, "the box should hold some pharmacies");
    let (status, _, page) = get!(
        app,
        &format!("/ogc/collections/bergamo_facilities_pharmacy/items?bbox={x0},{y0},{x1},{y1}&limit=10000")
    );
    assert_eq!(status, 200);
    assert_eq!(page["numberMatched"], want);
    assert_eq!(page["features"].as_array().unwrap().len(), want);
}

#[actix_rt::test]
async fn one_feature_by_id_and_clear_errors_for_bad_requests() {
    let app = app!();
    let (status, _, f) = get!(app, "/ogc/collections/bergamo_facilities_cdc/items/CDC01");
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["properties"]["kind"], "cdc");
    // A limit above the maximum is reduced to it, per OGC API – Features.
    let (status, _, page) = get!(
        app,
        "/ogc/collections/bergamo_facilities_gp/items?limit=50000"
    );
    assert_eq!(status, 200);
    assert_eq!(page["numberReturned"], 597);
    assert!(
        link(&page, "self").unwrap().contains("limit=10000&"),
        "{page}"
    );
    for (uri, status, parameter) in [
        (
            "/ogc/collections/bergamo_facilities_gp/items?limit=0",
            400,
            Some("limit"),
        ),
        (
            "/ogc/collections/bergamo_facilities_gp/items?limit=ten",
            400,
            Some("limit"),
        ),
        (
            "/ogc/collections/bergamo_facilities_gp/items?offset=-1",
            400,
            Some("offset"),
        ),
        (
            "/ogc/collections/bergamo_facilities_gp/items?bbox=1,2,3",
            400,
            Some("bbox"),
        ),
        (
            "/ogc/collections/bergamo_facilities_gp/items?colour=red",
            400,
            Some("colour"),
        ),
        (
            "/ogc/collections/bergamo_facilities_gp/items?f=html",
            400,
            Some("f"),
        ),
        ("/ogc/collections/bergamo_residents/items", 404, None),
        (
            "/ogc/collections/bergamo_facilities_gp/items/NOPE",
            404,
            None,
        ),
    ] {
        let (got, ct, body) = get!(app, uri);
        assert_eq!(got, status, "{uri}: {body}");
        assert_eq!(ct, "application/problem+json", "{uri}");
        assert_eq!(body["parameter"].as_str(), parameter, "{uri}");
    }
}

#[actix_rt::test]
async fn area_statistics_match_the_distances_endpoint_and_small_areas_are_suppressed() {
    let app = app!();
    let (_, _, page) = get!(app, "/ogc/collections/bergamo_areas/items?limit=10000");
    let features = page["features"].as_array().unwrap();
    assert_eq!(features.len(), 243);
    let (_, _, report) = get!(
        app,
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=area"
    );
    let mut suppressed = 0;
    for f in features {
        let id = f["id"].as_str().unwrap();
        let group = report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == id);
        let props = &f["properties"];
        match group.filter(|g| g["suppressed"] != true) {
            Some(g) => {
                assert_eq!(props["population"], g["count"], "{id}");
                assert_eq!(props["median_gp_m"], g["median_m"], "{id}");
                assert_eq!(props["p90_gp_m"], g["p90_m"], "{id}");
            }
            None => {
                suppressed += 1;
                assert_eq!(props["suppressed"], true, "{id}");
                assert!(props.get("population").is_none(), "{id}");
                assert!(props.get("median_gp_m").is_none(), "{id}");
            }
        }
    }
    // The 10 % sample has a few hamlets with fewer than 10 residents.
    assert!(suppressed > 0);
}

#[actix_rt::test]
async fn accessibility_by_area_matches_the_access_endpoint() {
    let app = app!();
    let (status, _, page) = get!(app, "/ogc/collections/bergamo_access_gp/items?limit=10000");
    assert_eq!(status, 200);
    let features = page["features"].as_array().unwrap();
    assert_eq!(features.len(), 243);
    let mut shown = 0;
    for method in ["2sfca", "e2sfca", "sa"] {
        let (status, _, report) = get!(
            app,
            &format!(
                "/v1/datasets/bergamo/access?kind=gp&method={method}&max_cost=10000&group_by=area"
            )
        );
        assert_eq!(status, 200);
        for g in report["groups"].as_array().unwrap() {
            let f = features.iter().find(|f| f["id"] == g["key"]).unwrap();
            let p = &f["properties"];
            if g["suppressed"] == true {
                assert_eq!(p["suppressed"], true);
                assert!(p.get(format!("access_{method}")).is_none());
            } else {
                shown += 1;
                assert_eq!(
                    p[format!("access_{method}")],
                    g["access"],
                    "{method} {}",
                    g["key"]
                );
                assert_eq!(p[format!("access_norm_{method}")], g["access_norm"]);
                assert_eq!(p["population"].as_f64(), g["population"].as_f64());
                assert_eq!(p["unreached"].as_f64(), g["unreached"].as_f64());
            }
        }
    }
    assert!(shown > 600);
    let (status, _, one) = get!(app, "/ogc/collections/bergamo_access_gp");
    assert_eq!(status, 200);
    assert!(
        one["description"].as_str().unwrap().contains("10000 m"),
        "{one}"
    );
}

#[actix_rt::test]
async fn no_garbage_in_any_parameter_gets_a_server_error() {
    let app = app!();
    let garbage = [
        "",
        "%00",
        "NaN",
        "inf",
        "-1",
        "1e400",
        "99999999999999999999999",
        "%F0%9F%92%A9",
        "..%2F..%2Fetc%2Fpasswd",
        "'%3B--",
        "1,2,3,4,5",
        "a%20b",
    ];
    let templates = [
        "/v1/datasets/bergamo/distances?to={}",
        "/v1/datasets/bergamo/distances?to=nearest&kind={}",
        "/v1/datasets/bergamo/distances?to=assigned&group_by={}",
        "/v1/datasets/bergamo/distances?to=assigned&min_group_size={}",
        "/v1/datasets/{}/distances?to=assigned",
        "/ogc/collections/{}",
        "/ogc/collections/{}/items",
        "/ogc/collections/bergamo_areas/items?limit={}",
        "/ogc/collections/bergamo_areas/items?offset={}",
        "/ogc/collections/bergamo_areas/items?bbox={}",
        "/ogc/collections/bergamo_areas/items?bbox-crs={}",
        "/ogc/collections/bergamo_areas/items/{}",
        "/ogc?f={}",
    ];
    for t in templates {
        for g in garbage {
            let uri = t.replace("{}", g);
            let resp =
                test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
            let status = resp.status().as_u16();
            assert!(status < 500, "{uri}: {status}");
        }
    }
}
