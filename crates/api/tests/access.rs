//! `GET /v1/datasets/{name}/access`: figures recomputed here by brute force
//! (Karney distances from the exact-nearest index, plain loops), small
//! groups suppressed, bad parameters named.

use std::collections::BTreeMap;

use actix_web::test;
use bacino_core::{FacilityIndex, FacilityKind};
use serde_json::Value;

mod common;
use common::fixture;

/// GET `uri`: status and JSON body.
macro_rules! get {
    ($app:expr, $uri:expr) => {{
        let resp =
            test::call_service(&$app, test::TestRequest::get().uri(&$uri).to_request()).await;
        let status = resp.status().as_u16();
        let body: Value = test::read_body_json(resp).await;
        (status, body)
    }};
}

/// 2SFCA (or E2SFCA with `steps`) written out plainly: demand within reach
/// of each GP, supply over demand, summed back, averaged by municipality.
fn brute_force(max_m: f64, steps: Option<&[(f64, f64)]>) -> (BTreeMap<String, (f64, f64)>, f64) {
    let d = fixture();
    let f = d.facilities();
    let gps = f.active_of_kind(FacilityKind::Gp);
    let index = FacilityIndex::new(f, &gps);
    let r = d.residents();
    let w = |c: f64| match steps {
        None => 1.0,
        Some(s) => s.iter().find(|(t, _)| c <= *t).map_or(0.0, |x| x.1),
    };
    let pairs: Vec<Vec<(usize, f64)>> = r
        .locations()
        .iter()
        .map(|&p| {
            index
                .within(p, max_m)
                .into_iter()
                .map(|h| (h.facility as usize, w(h.distance_m)))
                .collect()
        })
        .collect();
    let mut demand = vec![0.0; f.len()];
    for (i, ps) in pairs.iter().enumerate() {
        for &(j, x) in ps {
            demand[j] += r.weights()[i] * x;
        }
    }
    let ratio: Vec<f64> = (0..f.len())
        .map(|j| {
            if demand[j] > 0.0 {
                f64::from(f.get(j as u32).capacity.unwrap()) / demand[j]
            } else {
                0.0
            }
        })
        .collect();
    let mut by: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let (mut all_w, mut all_a) = (0.0, 0.0);
    for (i, ps) in pairs.iter().enumerate() {
        let a: f64 = ps.iter().map(|&(j, x)| x * ratio[j]).sum();
        let key = r.municipality().get(i).unwrap().to_owned();
        let e = by.entry(key).or_default();
        e.0 += r.weights()[i];
        e.1 += r.weights()[i] * a;
        all_w += r.weights()[i];
        all_a += r.weights()[i] * a;
    }
    (by, all_a / all_w)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

#[actix_rt::test]
async fn two_step_by_municipality_equals_a_brute_force() {
    let app = app!();
    for (query, steps) in [
        ("method=2sfca&max_cost=4000", None),
        (
            "method=e2sfca&max_cost=6000&weights=2000:1,4000:0.68,6000:0.22",
            Some(&[(2000.0, 1.0), (4000.0, 0.68), (6000.0, 0.22)][..]),
        ),
    ] {
        let (status, doc) = get!(
            app,
            &format!("/v1/datasets/bergamo/access?kind=gp&{query}&group_by=municipality")
        );
        assert_eq!(status, 200, "{doc}");
        let max: f64 = doc["max_cost"].as_f64().unwrap();
        let (want, mean) = brute_force(max, steps);
        assert!(close(doc["mean"].as_f64().unwrap(), mean, 1e-9));
        let groups = doc["groups"].as_array().unwrap();
        assert_eq!(groups.len(), want.len());
        let mut shown = 0;
        for g in groups {
            let (pop, sum) = want[g["key"].as_str().unwrap()];
            if pop < 10.0 {
                assert_eq!(g["suppressed"], true, "{g}");
                assert!(g.get("access").is_none());
                continue;
            }
            shown += 1;
            assert_eq!(g["population"].as_f64(), Some(pop));
            let a = g["access"].as_f64().unwrap();
            assert!(
                close(a, sum / pop, 1e-9),
                "{}: {a} vs {}",
                g["key"],
                sum / pop
            );
            assert!(close(
                g["access_norm"].as_f64().unwrap(),
                sum / pop / mean,
                1e-9
            ));
        }
        assert!(shown > 200, "{shown} municipalities shown");
        assert_eq!(doc["unit"], "m");
        assert_eq!(doc["metric"], "geodesic");
    }
}

#[actix_rt::test]
async fn small_groups_are_suppressed_and_no_resident_appears() {
    let app = app!();
    let (status, doc) = get!(app, "/v1/datasets/bergamo/access?kind=gp&method=sa&max_cost=5000&group_by=municipality&min_group_size=1000");
    assert_eq!(status, 200, "{doc}");
    let groups = doc["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["suppressed"] == true));
    for g in groups {
        if g["suppressed"] == true {
            let keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
            assert!(
                keys.iter()
                    .all(|k| ["key", "name", "suppressed"].contains(k)),
                "only key, the area's name and suppressed: {g}"
            );
        } else {
            assert!(g["population"].as_f64().unwrap() >= 1000.0);
            // Spatial availability: the supply allotted to the group.
            assert!(g["allotted"].as_f64().is_some());
        }
    }
    let text = doc.to_string();
    let d = fixture();
    for i in (0..d.residents().len()).step_by(997) {
        assert!(
            !text.contains(d.residents().id(i)),
            "resident id {} leaked",
            d.residents().id(i)
        );
    }
}

#[actix_rt::test]
async fn every_method_answers_and_raam_reports_its_certificate() {
    let app = app!();
    for m in ["2sfca", "e2sfca", "3sfca", "bfca", "sa", "huff", "gravity"] {
        let (status, doc) = get!(
            app,
            &format!("/v1/datasets/bergamo/access?kind=gp&method={m}&max_cost=3000")
        );
        assert_eq!(status, 200, "{m}: {doc}");
        assert_eq!(doc["method"], m);
        assert!(doc["groups"][0]["access"].as_f64().unwrap() > 0.0);
    }
    let (status, doc) = get!(
        app,
        "/v1/datasets/bergamo/access?kind=gp&method=g2sfca&max_cost=3000&gaussian=1500"
    );
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["decay"]["sigma"], 1500.0);
    let (status, doc) = get!(
        app,
        "/v1/datasets/bergamo/access?kind=cdc&method=raam&max_cost=8000&supply=one&tau=60000"
    );
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["higher_is_better"], false);
    let residual = doc["raam"]["residual"].as_f64().unwrap();
    assert!((0.0..=1e-9).contains(&residual), "{residual}");
    assert_eq!(doc["raam"]["tau"], 60000.0);
    // At resident level over every GP: the equilibrium, certified.
    let (status, doc) = get!(
        app,
        "/v1/datasets/bergamo/access?kind=gp&method=raam&max_cost=3000"
    );
    assert_eq!(status, 200, "{doc}");
    let residual = doc["raam"]["residual"].as_f64().unwrap();
    assert!((0.0..=1e-9).contains(&residual), "{residual}");
}

#[actix_rt::test]
async fn bad_parameters_are_named() {
    let app = app!();
    let base = "/v1/datasets/bergamo/access?kind=gp";
    for (q, param) in [
        ("&method=4sfca&max_cost=1000", "method"),
        ("&method=2sfca", "max_cost"),
        ("&method=2sfca&max_cost=-5", "max_cost"),
        ("&method=2sfca&max_cost=abc", "max_cost"),
        (
            "&method=e2sfca&max_cost=9000&weights=3000:0.5,6000:0.9",
            "weights",
        ),
        ("&method=2sfca&max_cost=9000&gravity=1,60,1", "gravity"),
        ("&method=2sfca&max_cost=9000&gravity=-1,60", "gravity"),
        ("&method=g2sfca&max_cost=9000", "gaussian"),
        ("&method=2sfca&max_cost=9000&gaussian=0", "gaussian"),
        (
            "&method=2sfca&max_cost=9000&gaussian=100&weights=10:1",
            "gaussian",
        ),
        ("&method=2sfca&max_cost=9000&supply=all", "supply"),
        ("&method=2sfca&max_cost=9000&tau=5", "tau"),
        ("&method=raam&max_cost=9000&tau=-5", "tau"),
        (
            "&method=2sfca&max_cost=9000&selection=all_pairs",
            "selection",
        ),
        ("&method=2sfca&max_cost=9000&metric=car", "metric"),
        ("&method=2sfca&max_cost=9000&group_by=facility", "group_by"),
    ] {
        let (status, doc) = get!(app, &format!("{base}{q}"));
        assert_eq!(status, 400, "{q}: {doc}");
        assert_eq!(doc["parameter"], param, "{q}: {doc}");
    }
    // Pharmacies have no capacity: supply=capacity names the column.
    let (status, doc) = get!(
        app,
        "/v1/datasets/bergamo/access?kind=pharmacy&method=2sfca&max_cost=3000"
    );
    assert_eq!(status, 400, "{doc}");
    assert_eq!(doc["parameter"], "supply");
    assert!(
        doc["detail"].as_str().unwrap().contains("capacity"),
        "{doc}"
    );
    let (status, _) = get!(
        app,
        "/v1/datasets/bergamo/access?kind=pharmacy&method=2sfca&max_cost=3000&supply=one"
    );
    assert_eq!(status, 200);
    // Unknown parameters are refused, not ignored.
    let (status, _) = get!(
        app,
        "/v1/datasets/bergamo/access?kind=gp&method=2sfca&max_cost=3000&sigma=3"
    );
    assert_eq!(status, 400);
}
