//! The service in-process (`actix_web::test`): routes, errors, caching.

use actix_web::test;
use bacino_core::{distance_report, DistanceQuery, FacilityKind, GroupBy, Sequential, Target};
use serde_json::Value;

mod common;
use common::fixture;

#[actix_rt::test]
async fn distances_equal_the_core_report_and_are_cached_with_an_etag() {
    let app = app!();
    let req = test::TestRequest::get()
        .uri("/v1/datasets/bergamo/distances?to=nearest&kind=cdc&group_by=municipality")
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    let etag = resp
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(resp.headers().get("cache-control").is_some());
    let body: Value = test::read_body_json(resp).await;
    let want = distance_report(
        &fixture(),
        &DistanceQuery {
            target: Target::Nearest(FacilityKind::Cdc),
            group_by: GroupBy::Municipality,
            min_group_size: 10.0,
            metric: bacino_core::MetricName::Geodesic,
            cdf_steps: 0,
        },
        &Sequential,
    )
    .unwrap();
    assert_eq!(body, serde_json::to_value(&want).unwrap());
    // Revalidation with the tag answers 304 and no body.
    let req = test::TestRequest::get()
        .uri("/v1/datasets/bergamo/distances?to=nearest&kind=cdc&group_by=municipality")
        .insert_header(("If-None-Match", etag.as_str()))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 304);
}

#[actix_rt::test]
async fn bad_requests_are_problem_documents_naming_the_parameter() {
    let app = app!();
    for (uri, status, parameter) in [
        ("/v1/datasets/bergamo/distances", 400, Some("to")),
        (
            "/v1/datasets/bergamo/distances?to=nearest",
            400,
            Some("kind"),
        ),
        ("/v1/datasets/bergamo/distances?to=far", 400, Some("to")),
        (
            "/v1/datasets/bergamo/distances?to=nearest&kind=hospital",
            400,
            Some("kind"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&group_by=income",
            400,
            Some("group_by"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&min_group_size=3",
            400,
            Some("min_group_size"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&min_group_size=x",
            400,
            Some("min_group_size"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&colour=red",
            400,
            Some("colour"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=nearest&kind=gp&metric=car",
            400,
            Some("metric"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=nearest&kind=gp&metric=teleport",
            400,
            Some("metric"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&cdf=1",
            400,
            Some("cdf"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&cdf=101",
            400,
            Some("cdf"),
        ),
        (
            "/v1/datasets/bergamo/distances?to=assigned&cdf=ten",
            400,
            Some("cdf"),
        ),
        ("/v1/datasets/nowhere/distances?to=assigned", 404, None),
        ("/v2/anything", 404, None),
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(resp.status().as_u16(), status, "{uri}");
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/problem+json",
            "{uri}"
        );
        let body: Value = test::read_body_json(resp).await;
        assert_eq!(body["status"], status, "{uri}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(body["parameter"].as_str(), parameter, "{uri}: {body}");
    }
}

#[actix_rt::test]
async fn a_kind_without_facilities_is_unprocessable_not_a_server_error() {
    let app = tiny_app!(
        "id,kind,lon,lat\nGP1,gp,9.6,45.6\n",
        "id,lon,lat\nR1,9.61,45.61\n"
    );
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/v1/datasets/t/distances?to=nearest&kind=odc")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
}

#[actix_rt::test]
async fn health_datasets_and_openapi_answer() {
    let app = app!();
    let body: Value =
        test::call_and_read_body_json(&app, test::TestRequest::get().uri("/health").to_request())
            .await;
    assert_eq!(body["status"], "ok");
    let body: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get().uri("/v1/datasets").to_request(),
    )
    .await;
    assert_eq!(body[0]["name"], "bergamo");
    assert_eq!(body[0]["facilities"]["gp"], 594);
    assert_eq!(body[0]["areas"], 243);
    let doc: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert!(doc["paths"]["/v1/datasets/{name}/distances"]["get"].is_object());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
}

#[actix_rt::test]
async fn catchments_are_the_core_geojson_and_bad_parameters_are_named() {
    use bacino_core::{catchments, CatchmentMethod, CatchmentOptions, Overrides};
    let app = app!();
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/v1/datasets/bergamo/catchments?kind=cdc&method=voronoi")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/geo+json"
    );
    assert!(resp.headers().get("etag").is_some());
    let body: Value = test::read_body_json(resp).await;
    let want = catchments(
        &fixture(),
        &CatchmentOptions::new(FacilityKind::Cdc, CatchmentMethod::Voronoi),
        Overrides::default(),
        &Sequential,
    )
    .unwrap();
    assert_eq!(body["type"], "FeatureCollection");
    let want: Value = serde_json::from_str(&want.to_geojson_string()).unwrap();
    assert_eq!(body, want);
    // 21 Case di Comunità, one cell each.
    assert_eq!(body["features"].as_array().unwrap().len(), 21);
    for (uri, parameter) in [
        ("/v1/datasets/bergamo/catchments?method=voronoi", "kind"),
        (
            "/v1/datasets/bergamo/catchments?kind=gp&method=circles",
            "method",
        ),
        (
            "/v1/datasets/bergamo/catchments?kind=gp&method=bands&resolution=x",
            "resolution",
        ),
        (
            "/v1/datasets/bergamo/catchments?kind=gp&method=bands&resolution=99",
            "resolution",
        ),
        (
            "/v1/datasets/bergamo/catchments?kind=gp&method=bands&bands=5000,2000",
            "bands",
        ),
        (
            "/v1/datasets/bergamo/catchments?kind=gp&method=bands&bands=2000,5001",
            "bands",
        ),
        (
            "/v1/datasets/bergamo/catchments?kind=gp&min_group_size=2",
            "min_group_size",
        ),
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(resp.status(), 400, "{uri}");
        let body: Value = test::read_body_json(resp).await;
        assert_eq!(body["parameter"], parameter, "{uri}");
    }
}

#[actix_rt::test]
async fn a_scenario_is_the_core_document_and_bad_bodies_are_client_errors() {
    use bacino_core::{scenario, ScenarioQuery};
    let app = app!();
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/v1/datasets/bergamo/scenarios")
            .set_json(serde_json::json!({"cease": ["GP0055", "GP0058"], "max_distance_m": 20000}))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let body: Value = test::read_body_json(resp).await;
    let want = scenario(
        &fixture(),
        &ScenarioQuery {
            cease: vec!["GP0055".into(), "GP0058".into()],
            max_distance_m: 20_000.0,
            ..ScenarioQuery::default()
        },
        &Sequential,
    )
    .unwrap();
    let want = serde_json::to_value(&want).unwrap();
    // The record's fields are added, none of the answer's replaced.
    assert_eq!(
        body.as_object().unwrap().len(),
        want.as_object().unwrap().len() + common::RECORD_KEYS.len()
    );
    assert_eq!(common::answer_of(body), want);

    let post = |body: String| {
        test::TestRequest::post()
            .uri("/v1/datasets/bergamo/scenarios")
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
            .to_request()
    };
    for (body, status, parameter) in [
        (r#"{"cease": ["NOPE"]}"#.to_owned(), 422, None),
        (r#"{"cease": ["CDC01"]}"#.to_owned(), 400, Some("cease")),
        (r#"{"cease": "GP0055"}"#.to_owned(), 400, Some("body")),
        (
            r#"{"cease": ["GP0055"], "colour": 1}"#.to_owned(),
            400,
            Some("body"),
        ),
        (
            r#"{"cease": ["GP0055"], "max_distance_m": -5}"#.to_owned(),
            400,
            Some("max_distance_m"),
        ),
        (
            r#"{"cease": ["GP0055"], "max_distance_m": 12345}"#.to_owned(),
            400,
            Some("max_distance_m"),
        ),
        (
            r#"{"cease": ["GP0055"], "min_group_size": 1}"#.to_owned(),
            400,
            Some("min_group_size"),
        ),
        (
            r#"{"cease": ["GP0055"], "metric": "bus"}"#.to_owned(),
            400,
            Some("metric"),
        ),
        // Bergamo ships no road extract.
        (
            r#"{"cease": ["GP0055"], "metric": "car"}"#.to_owned(),
            400,
            Some("metric"),
        ),
        (
            r#"{"cease": ["GP0055"], "metric": "table"}"#.to_owned(),
            400,
            Some("metric"),
        ),
        (
            r#"{"cease": ["GP0055"], "max_time_s": 90}"#.to_owned(),
            400,
            Some("max_time_s"),
        ),
        (
            r#"{"cease": ["GP0055"], "max_time_s": 0}"#.to_owned(),
            400,
            Some("max_time_s"),
        ),
        ("{not json".to_owned(), 400, Some("body")),
        // Larger than the 256 KiB default limit.
        (
            format!(r#"{{"cease": ["{}"]}}"#, "G".repeat(300_000)),
            413,
            None,
        ),
    ] {
        let resp = test::call_service(&app, post(body.clone())).await;
        let got = resp.status().as_u16();
        let doc: Value = test::read_body_json(resp).await;
        assert_eq!(got, status, "{}: {doc}", &body[..body.len().min(60)]);
        assert_eq!(doc["parameter"].as_str(), parameter, "{doc}");
    }
}

#[actix_rt::test]
async fn a_scenario_about_fewer_people_than_the_threshold_is_refused() {
    // GP1 has three listed patients: their figures would describe them.
    let app = tiny_app!(
        "id,kind,lon,lat,capacity\nGP1,gp,9.6,45.6,100\nGP2,gp,9.7,45.6,100\n",
        "id,lon,lat,gp_id\nR1,9.61,45.61,GP1\nR2,9.62,45.61,GP1\nR3,9.63,45.61,GP1\n"
    );
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/v1/datasets/t/scenarios")
            .set_json(serde_json::json!({"cease": ["GP1"]}))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let doc: Value = test::read_body_json(resp).await;
    assert!(
        doc["detail"].as_str().unwrap().contains("3 people"),
        "{doc}"
    );
}

#[actix_rt::test]
async fn grouping_by_a_column_with_nearly_one_value_per_person_is_refused() {
    let mut residents = String::from("id,lon,lat,address,district\n");
    for i in 0..40 {
        let lon = 9.6 + f64::from(i) * 0.001;
        residents.push_str(&format!("R{i},{lon},45.61,Via Roma {i},{}\n", i % 2));
    }
    let app = tiny_app!("id,kind,lon,lat\nGP1,gp,9.6,45.6\n", &residents);
    let get = |q: &str| {
        test::TestRequest::get()
            .uri(&format!(
                "/v1/datasets/t/distances?to=nearest&kind=gp&group_by={q}"
            ))
            .to_request()
    };
    // 40 addresses for 40 people: their keys would be listed.
    let resp = test::call_service(&app, get("address")).await;
    assert_eq!(resp.status(), 400);
    let doc: Value = test::read_body_json(resp).await;
    assert_eq!(doc["parameter"], "group_by");
    assert!(!doc.to_string().contains("Via Roma"));
    // Two districts of 20 people each are fine.
    let resp = test::call_service(&app, get("district")).await;
    assert_eq!(resp.status(), 200);
    let doc: Value = test::read_body_json(resp).await;
    assert_eq!(doc["groups"].as_array().unwrap().len(), 2);
}

#[actix_rt::test]
async fn the_distribution_is_quantiles_of_each_unsuppressed_group() {
    let app = app!();
    let uri = "/v1/datasets/bergamo/distances?to=assigned&group_by=municipality&cdf=20";
    let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = test::read_body_json(resp).await;
    let groups = body["groups"].as_array().unwrap();
    let (mut shown, mut suppressed) = (0, 0);
    for g in groups {
        if g["suppressed"] == true {
            // A suppressed group never carries its distribution.
            assert!(g.get("cdf_m").is_none(), "{g}");
            suppressed += 1;
            continue;
        }
        shown += 1;
        let cdf: Vec<f64> = g["cdf_m"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(cdf.len(), 21, "{g}");
        assert!(cdf.windows(2).all(|w| w[0] <= w[1]), "{g}");
        // 50 % and 100 % are the median and the maximum of the same group,
        // 25 %, 75 % and 90 % its quartiles and p90 (quantile 18 of 20).
        assert_eq!(cdf[10], g["median_m"].as_f64().unwrap(), "{g}");
        assert_eq!(cdf[20], g["max_m"].as_f64().unwrap(), "{g}");
        assert_eq!(cdf[5], g["p25_m"].as_f64().unwrap(), "{g}");
        assert_eq!(cdf[15], g["p75_m"].as_f64().unwrap(), "{g}");
        assert_eq!(cdf[18], g["p90_m"].as_f64().unwrap(), "{g}");
    }
    assert!(
        shown > 100 && suppressed > 0,
        "{shown} shown, {suppressed} suppressed"
    );
    // Without `cdf` there is none.
    let uri = "/v1/datasets/bergamo/distances?to=assigned";
    let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let body: Value = test::read_body_json(resp).await;
    assert!(body["groups"][0].get("cdf_m").is_none());
}

#[actix_rt::test]
async fn a_dataset_lists_exactly_the_metrics_it_answers() {
    let app = app!();
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/v1/datasets").to_request(),
    )
    .await;
    let list: Value = test::read_body_json(resp).await;
    let listed: Vec<&str> = list[0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for metric in ["geodesic", "car", "foot", "table"] {
        let uri = format!("/v1/datasets/bergamo/distances?to=nearest&kind=cdc&metric={metric}");
        let resp = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(
            resp.status() == 200,
            listed.contains(&metric),
            "{metric}: {} while listed as {listed:?}",
            resp.status()
        );
    }
}
