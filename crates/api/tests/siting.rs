//! `POST /v1/datasets/{name}/siting`: the document `siting_report` gives,
//! an optimum no single swap improves, and bad requests as client errors
//! naming their field.

use actix_web::test;
use bacino_core::Sequential;
use bacino_siting::{siting_report, SitingParams};
use serde_json::{json, Value};

mod common;
use common::fixture;

fn post(body: &Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/v1/datasets/bergamo/siting")
        .set_json(body)
}

#[actix_rt::test]
async fn siting_returns_the_proven_optimum_with_its_sites() {
    let app = app!();
    let req = json!({"model": "pmedian", "p": 6, "candidates": "kind:cdc",
                     "demand": "areas", "existing": "kind:odc"});
    let resp = test::call_service(&app, post(&req).to_request()).await;
    assert_eq!(resp.status(), 201);
    let stored: Value = test::read_body_json(resp).await;
    let body = common::answer_of(stored.clone());
    let mut params: SitingParams = serde_json::from_value(req.clone()).unwrap();
    params.time_limit_s = Some(60.0);
    let want = siting_report(
        &fixture(),
        &params.to_query(10.0, false).unwrap(),
        &Sequential,
    )
    .unwrap();
    let mut want = serde_json::to_value(&want).unwrap();
    want["solve_s"] = body["solve_s"].clone();
    // The record's fields are added, none of the answer's replaced.
    assert_eq!(
        stored.as_object().unwrap().len(),
        want.as_object().unwrap().len() + common::RECORD_KEYS.len()
    );
    assert_eq!(body, want);
    assert_eq!(body["proven"], true);
    assert_eq!(
        body["plan"],
        Value::Null,
        "facilities of the dataset are not opened by a plan"
    );
    assert_eq!(body["existing"], 6);

    // No single swap of a chosen CdC for another improves the optimum.
    let d = fixture();
    let cdcs: Vec<(String, bacino_core::LonLat)> = d
        .facilities()
        .iter()
        .filter(|f| f.kind == bacino_core::FacilityKind::Cdc)
        .map(|f| (f.id.0.clone(), f.location))
        .collect();
    let chosen: Vec<String> = body["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().into())
        .collect();
    let objective = |ids: &[String]| -> f64 {
        let mut points: Vec<(String, bacino_core::LonLat)> = cdcs
            .iter()
            .filter(|c| ids.contains(&c.0))
            .cloned()
            .collect();
        points.extend(
            d.facilities()
                .iter()
                .filter(|f| f.kind == bacino_core::FacilityKind::Odc)
                .map(|f| (f.id.0.clone(), f.location)),
        );
        // Demand at the areas' population centres, as the service has it.
        body_demand_cost(&d, &points)
    };
    let best = objective(&chosen);
    assert!((best - body["objective"].as_f64().unwrap()).abs() <= 1e-6 * best);
    for out in &chosen {
        for (id, _) in &cdcs {
            if chosen.contains(id) {
                continue;
            }
            let swapped: Vec<String> = chosen
                .iter()
                .map(|c| if c == out { id.clone() } else { c.clone() })
                .collect();
            assert!(
                objective(&swapped) >= best * (1.0 - 1e-12),
                "swapping {out} for {id} improves"
            );
        }
    }
}

/// Σ weight × geodesic distance from each area's population centre (the
/// weighted mean of its residents on the unit sphere) to the nearest point.
fn body_demand_cost(d: &bacino_core::Dataset, points: &[(String, bacino_core::LonLat)]) -> f64 {
    let areas = d.resident_areas(&Sequential);
    let n = d.areas().unwrap().len();
    let mut acc = vec![[0.0f64; 4]; n];
    for (i, p) in d.residents().locations().iter().enumerate() {
        let a = areas[i];
        let w = d.residents().weights()[i];
        if a == u32::MAX || w == 0.0 {
            continue;
        }
        let (lo, la) = (p.lon.to_radians(), p.lat.to_radians());
        let s = &mut acc[a as usize];
        s[0] += w;
        s[1] += w * la.cos() * lo.cos();
        s[2] += w * la.cos() * lo.sin();
        s[3] += w * la.sin();
    }
    acc.iter()
        .filter(|s| s[0] > 0.0)
        .map(|s| {
            let c = bacino_core::LonLat::new(
                s[2].atan2(s[1]).to_degrees(),
                s[3].atan2(s[1].hypot(s[2])).to_degrees(),
            );
            s[0] * points
                .iter()
                .map(|p| bacino_core::geodesic_distance_m(c, p.1))
                .fold(f64::INFINITY, f64::min)
        })
        .sum()
}

#[actix_rt::test]
async fn bad_siting_requests_are_client_errors_naming_their_field() {
    let app = app!();
    let base = json!({"model": "pmedian", "p": 2, "candidates": "kind:cdc", "demand": "areas"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("p", json!(0)), 400, "p"),
        (with("p", json!(500)), 400, "p"),
        (with("model", json!("median")), 400, "model"),
        (with("model", json!("cpmedian")), 400, "capacity"),
        (with("capacity", json!(100)), 400, "capacity"),
        (
            with("candidates", json!("kind:hospital")),
            400,
            "candidates",
        ),
        (with("candidates", json!("/etc/passwd")), 400, "candidates"),
        (
            with("candidates", json!([{"id": "A", "lon": 9.6}])),
            400,
            "candidates",
        ),
        (
            with(
                "candidates",
                json!([{"id": "A", "lon": 200.0, "lat": 45.0}]),
            ),
            400,
            "candidates",
        ),
        (with("existing", json!("cdc")), 400, "existing"),
        (with("demand", json!("everyone")), 400, "demand"),
        (with("demand_group", json!("nobody")), 400, "demand_group"),
        (with("min_group_size", json!(2)), 400, "min_group_size"),
        (with("time_limit_s", json!(3600)), 400, "time_limit_s"),
        (with("metric", json!("car")), 400, "metric"),
        (
            with("service_distance", json!(5000)),
            400,
            "service_distance",
        ),
        (
            json!({"model": "lscp", "candidates": "kind:cdc", "service_distance": 50}),
            422,
            "",
        ),
        (
            json!({"model": "lscpb", "candidates": "kind:cdc", "service_distance": 50}),
            422,
            "",
        ),
        // The CdC cannot put every municipality within 5 km of one.
        (
            json!({"model": "lscpb", "p": 1, "candidates": "kind:cdc", "demand": "areas",
                   "service_distance": 5000}),
            422,
            "",
        ),
        (
            json!({"model": "lscpb", "candidates": "kind:cdc", "demand": "areas"}),
            400,
            "service_distance",
        ),
        (
            json!({"model": "mclp", "p": 2, "candidates": "kind:cdc"}),
            400,
            "service_distance",
        ),
        (with("unknown", json!(1)), 400, "body"),
    ];
    for (body, status, field) in cases {
        let resp = test::call_service(&app, post(&body).to_request()).await;
        assert_eq!(resp.status(), status, "{body}");
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/problem+json",
            "{body}"
        );
        let doc: Value = test::read_body_json(resp).await;
        if !field.is_empty() {
            let text = doc.to_string();
            assert!(
                text.contains(&format!("`{field}`")) || doc["parameter"] == field,
                "{body}: {doc}"
            );
        }
    }
}

#[actix_rt::test]
async fn a_demand_smaller_than_the_threshold_is_refused() {
    let app = app!();
    // Points inline; a demand below the threshold asked for is refused whole.
    let body = json!({"model": "pcenter", "p": 1, "demand_group": "no_gp", "min_group_size": 1e9,
                      "candidates": [{"id": "A", "lon": 9.67, "lat": 45.69}, {"id": "B", "lon": 9.8, "lat": 45.6}]});
    let resp = test::call_service(&app, post(&body).to_request()).await;
    assert_eq!(resp.status(), 422);
}
