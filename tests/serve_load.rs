//! `bacino serve` under load, as a child process: a flood of scenario
//! POSTs against a pool of one thread and a queue of two. The excess is
//! refused with 503, `Retry-After` and a problem document, never another
//! 5xx; liveness and a cached answer keep answering 200 all the while; the
//! answers that do come are the ones a quiet server gives; `/health`
//! counts what was refused. (Latencies under load are measured by
//! `benches/load/flood.py`, not asserted here.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use serde_json::Value;

mod common;
use common::fixture_dir;
use common::server::{exchange_head, http, Server};

/// A plan heavy enough to keep the one thread busy for a while: 60 GPs
/// cease and their patients are placed again.
/// A plan that takes a while; each threshold makes it another plan (an
/// identical one would be answered from the store, not solved).
fn heavy_plan(min_group_size: usize) -> String {
    let cease: Vec<String> = (1..=60).map(|i| format!("\"GP{:04}\"", i * 9)).collect();
    format!(
        "{{\"cease\": [{}], \"max_distance_m\": 25000, \"min_group_size\": {min_group_size}}}",
        cease.join(",")
    )
}

/// The figures of a scenario that do not depend on the threshold.
fn figures(doc: &Value) -> Value {
    serde_json::json!([
        doc["placed"],
        doc["orphans"],
        doc["total_distance_m"],
        doc["patients"]
    ])
}

fn post(addr: &str, path: &str, body: &str) -> (u16, String, String) {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange_head(addr, &raw).unwrap()
}

#[test]
fn a_flood_of_solves_gets_503_with_retry_after_while_cheap_reads_answer() {
    let server = Server::start_args(
        &[fixture_dir()],
        None,
        &["--compute-threads", "1", "--queue", "2"].map(std::ffi::OsStr::new),
    );
    let addr = server.addr.clone();
    let scenarios = "/v1/datasets/bergamo/scenarios";
    // The quiet answer, and a distances answer put in the cache.
    let (status, _, quiet) = post(&addr, scenarios, &heavy_plan(10));
    assert_eq!(status, 201, "{quiet}");
    let quiet: Value = serde_json::from_str(&quiet).unwrap();
    let cached = "/v1/datasets/bergamo/distances?to=nearest&kind=gp";
    let (status, cached_body) = http(&addr, "GET", cached, None).unwrap();
    assert_eq!(status, 200);

    let flooding = Arc::new(AtomicBool::new(true));
    let reader = {
        let (addr, flooding) = (addr.clone(), flooding.clone());
        let cached_body = cached_body.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            while flooding.load(Ordering::Relaxed) || reads < 20 {
                let (s, b) = http(&addr, "GET", "/health", None).unwrap();
                assert_eq!(s, 200, "{b}");
                let (s, b) = http(&addr, "GET", cached, None).unwrap();
                assert_eq!((s, b == cached_body), (200, true));
                reads += 1;
            }
            reads
        })
    };
    let n = 50;
    let start = Arc::new(Barrier::new(n));
    let posts: Vec<_> = (0..n)
        .map(|i| {
            let (addr, plan, start) = (addr.clone(), heavy_plan(11 + i), start.clone());
            std::thread::spawn(move || {
                start.wait();
                post(&addr, scenarios, &plan)
            })
        })
        .collect();
    let answers: Vec<(u16, String, String)> =
        posts.into_iter().map(|h| h.join().unwrap()).collect();
    flooding.store(false, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads >= 20);

    let mut refused = 0;
    for (status, head, body) in &answers {
        match status {
            201 => assert_eq!(
                figures(&serde_json::from_str::<Value>(body).unwrap()),
                figures(&quiet)
            ),
            503 => {
                refused += 1;
                let wait: u64 = head
                    .lines()
                    .find_map(|l| l.strip_prefix("retry-after:"))
                    .expect("503 carries Retry-After")
                    .trim()
                    .parse()
                    .expect("Retry-After in whole seconds");
                assert!((1..=60).contains(&wait), "{wait}");
                assert!(
                    head.contains("content-type: application/problem+json"),
                    "{head}"
                );
                let p: Value = serde_json::from_str(body).unwrap();
                assert_eq!(p["status"], 503);
                assert!(p["type"].as_str().unwrap().ends_with("/busy"), "{p}");
            }
            other => panic!("status {other}: {body}"),
        }
    }
    // One thread and two places: most of the fifty are turned away, and
    // at least the three admitted ones are answered.
    assert!(refused > 0 && refused <= n - 3, "{refused} refused");
    let (_, health) = http(&addr, "GET", "/health", None).unwrap();
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["pool"]["refused"], refused as u64);
    assert_eq!(health["pool"]["workers"], 1);
    assert_eq!(health["pool"]["queue"], 2);
    assert_eq!(health["pool"]["busy"], 0);
    // The server is quiet again: a new solve is admitted.
    let (status, _, body) = post(&addr, scenarios, &heavy_plan(100));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_request_past_the_deadline_is_abandoned_with_503() {
    // A deadline shorter than any siting search of the bundled dataset
    // takes: the answer is 503 `deadline`, and the thread is free after.
    let server = Server::start_args(
        &[fixture_dir()],
        None,
        &["--compute-threads", "1", "--deadline-s", "0.001"].map(std::ffi::OsStr::new),
    );
    let (status, head, body) = post(
        &server.addr,
        "/v1/datasets/bergamo/siting",
        r#"{"model": "pmedian", "p": 5, "candidates": "areas", "demand": "areas"}"#,
    );
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("retry-after:"), "{head}");
    let p: Value = serde_json::from_str(&body).unwrap();
    assert!(p["type"].as_str().unwrap().ends_with("/deadline"), "{p}");
    // The abandoned search stops at its next checkpoint.
    let mut health = Value::Null;
    for _ in 0..500 {
        let (_, h) = http(&server.addr, "GET", "/health", None).unwrap();
        health = serde_json::from_str(&h).unwrap();
        if health["pool"]["busy"] == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(health["pool"]["busy"], 0, "{health}");
    assert_eq!(health["pool"]["abandoned"], 1, "{health}");
}
