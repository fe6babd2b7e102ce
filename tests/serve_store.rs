//! The embedded store with real processes: scenarios survive a restart,
//! and killing the server with SIGKILL in the middle of a stream of writes
//! loses no scenario it had acknowledged (a `201` fully received).

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::fixture_dir;
use common::server::{http, Server};
use serde_json::Value;

const SCENARIOS: &str = "/v1/datasets/bergamo/scenarios";

fn start(store: &std::path::Path) -> Server {
    let url = format!("sqlite:{}", store.display());
    Server::start_args(
        &[fixture_dir()],
        None,
        &[OsStr::new("--store"), OsStr::new(&url)],
    )
}

/// Distinct cheap plans: one GP ceases, under thresholds from 10 up.
fn plan(i: usize) -> String {
    format!(
        r#"{{"cease": ["GP{:04}"], "min_group_size": {}}}"#,
        1 + i % 40,
        10 + i / 40
    )
}

#[test]
fn stored_scenarios_survive_a_restart_and_a_kill_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store.sqlite");
    let mut server = start(&file);
    let (status, body) = server.post(SCENARIOS, &plan(0));
    assert_eq!(status, 201, "{body}");
    let first: Value = serde_json::from_str(&body).unwrap();

    // Writers post new plans until the server dies under them; every
    // answer received whole is an acknowledgement.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let alive = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (addr, acks, alive) = (server.addr.clone(), acknowledged.clone(), alive.clone());
            std::thread::spawn(move || {
                let mut i = 1 + w;
                while alive.load(Ordering::Relaxed) {
                    match http(&addr, "POST", SCENARIOS, Some(&plan(i))) {
                        Ok((201, body)) => {
                            // A body cut short is no acknowledgement.
                            if let Ok(doc) = serde_json::from_str::<Value>(&body) {
                                let id = doc["id"].as_str().unwrap().to_owned();
                                acks.lock().unwrap().push((id, body));
                            }
                        }
                        Ok((status, body)) => panic!("status {status}: {body}"),
                        Err(_) => break,
                    }
                    i += 3;
                }
            })
        })
        .collect();
    // Kill it once a good number are in, with the writers still going.
    while acknowledged.lock().unwrap().len() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.kill9();
    alive.store(false, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 30);

    // Restarted on the same file: every acknowledged scenario is there,
    // as it was answered.
    let server = start(&file);
    let (status, body) = server.get(&format!("/v1/scenarios/{}", first["id"].as_str().unwrap()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), first);
    for (id, answered) in &acknowledged {
        let (status, body) = server.get(&format!("/v1/scenarios/{id}"));
        assert_eq!(status, 200, "acknowledged {id} was lost: {body}");
        assert_eq!(body, *answered);
    }
    let (status, list) = server.get(&format!("{SCENARIOS}?limit=1000"));
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).unwrap();
    // Also any write that was durable but not yet answered: never fewer.
    assert!(list["total"].as_u64().unwrap() as usize > acknowledged.len());
    // A repeat after the restart is answered from the file.
    let (status, body) = server.post(SCENARIOS, &plan(0));
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), first);
}

#[test]
fn a_store_that_cannot_be_opened_stops_the_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("sqlite:{}/missing/store.sqlite", dir.path().display()),
            "missing does not exist",
        ),
        (
            "mysql://db/x".to_owned(),
            "expected `memory`, `sqlite:PATH`",
        ),
    ];
    for (url, says) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
            .args(["serve", "--bind", "127.0.0.1:0", "--store", &url])
            .arg(fixture_dir())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{url}: {err}");
    }
}
