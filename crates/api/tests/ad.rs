//! `GET /v1/datasets/{name}/ad` (CONTRACT §9) in-process: the core report
//! on the bundled dataset's synthetic agendas, and bad parameters.

use actix_web::test;
use bacino_core::{ad_report, AdQuery, MetricName, Period, Sequential};
use serde_json::Value;

mod common;
use common::fixture;

#[actix_rt::test]
async fn the_ad_report_is_the_core_document_by_week_and_month() {
    let app = app!();
    for (q, by) in [
        ("", Period::Week),
        ("?by=week", Period::Week),
        ("?by=month", Period::Month),
    ] {
        let req = test::TestRequest::get()
            .uri(&format!("/v1/datasets/bergamo/ad{q}"))
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 200, "{q}");
        let body: Value = test::read_body_json(resp).await;
        let want = ad_report(
            &fixture(),
            &AdQuery {
                by,
                metric: MetricName::Geodesic,
                min_group_size: 10.0,
                match_max_m: None,
            },
            &Sequential,
        )
        .unwrap();
        assert_eq!(body, serde_json::to_value(&want).unwrap(), "{q}");
        assert_eq!(
            body["periods"][0]["period"],
            if by == Period::Week {
                "2022-W27"
            } else {
                "2022-07"
            }
        );
    }
    for (q, parameter) in [
        ("?by=year", "by"),
        ("?metric=car", "metric"),
        ("?metric=bus", "metric"),
        ("?min_group_size=2", "min_group_size"),
        ("?colour=red", "colour"),
    ] {
        let req = test::TestRequest::get()
            .uri(&format!("/v1/datasets/bergamo/ad{q}"))
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 400, "{q}");
        let doc: Value = test::read_body_json(resp).await;
        assert_eq!(doc["parameter"], parameter, "{q}: {doc}");
    }
}

#[actix_rt::test]
async fn the_aft_report_is_the_core_document() {
    let app = app!();
    let req = test::TestRequest::get()
        .uri("/v1/datasets/bergamo/aft")
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    let body: Value = test::read_body_json(resp).await;
    let want =
        bacino_core::aft_report(&fixture(), MetricName::Geodesic, 10.0, &Sequential).unwrap();
    assert_eq!(body, serde_json::to_value(&want).unwrap());
    assert_eq!(body["grouping"], "nearest_cdc");
    for (q, parameter) in [
        ("?metric=foot", "metric"),
        ("?min_group_size=1", "min_group_size"),
    ] {
        let req = test::TestRequest::get()
            .uri(&format!("/v1/datasets/bergamo/aft{q}"))
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 400, "{q}");
        let doc: Value = test::read_body_json(resp).await;
        assert_eq!(doc["parameter"], parameter, "{q}");
    }
}
