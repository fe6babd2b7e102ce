//! The stores with real processes: scenarios survive a restart, killing
//! the server with SIGKILL in the middle of a stream of writes loses no
//! scenario it had acknowledged (a `201` fully received), with SQLite and
//! with PostGIS; two servers on one PostGIS database share their
//! scenarios.

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::fixture_dir;
use common::server::{http, Server};
use serde_json::Value;

const SCENARIOS: &str = "/v1/datasets/bergamo/scenarios";

fn start(url: &str) -> Server {
    Server::start_args(
        &[fixture_dir()],
        None,
        &[OsStr::new("--store"), OsStr::new(url)],
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
fn sqlite_scenarios_survive_a_restart_and_a_kill_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.sqlite").display());
    survive_a_kill_during_writes(&url);
}

#[test]
fn postgis_scenarios_survive_a_restart_and_a_kill_during_writes() {
    if let Some(url) = common::fresh_postgres("the PostGIS kill test") {
        survive_a_kill_during_writes(&url);
    }
}

fn survive_a_kill_during_writes(url: &str) {
    let mut server = start(url);
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
    let server = start(url);
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
        assert!(!err.contains("s3cret"), "{err}");
    }
}

#[test]
fn two_servers_on_one_postgis_store_share_their_scenarios() {
    let Some(url) = common::fresh_postgres("the two-replica test") else {
        return;
    };
    let a = start(&url);
    let b = start(&url);
    assert_ne!(a.addr, b.addr);
    // Stored through one, read through the other.
    let (status, body) = a.post(SCENARIOS, &plan(7));
    assert_eq!(status, 201, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let at = format!("/v1/scenarios/{}", doc["id"].as_str().unwrap());
    let (status, from_b) = b.get(&at);
    assert_eq!(status, 200, "{from_b}");
    assert_eq!(serde_json::from_str::<Value>(&from_b).unwrap(), doc);
    // The same plan posted to the other: its stored answer, not solved again.
    let (status, again) = b.post(SCENARIOS, &plan(7));
    assert_eq!(status, 200, "{again}");
    assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), doc);
    let (_, health) = b.get("/health");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["pool"]["completed"], 0, "{health}");
    // Both list it; deleted through one, it is gone from the other.
    for s in [&a, &b] {
        let (_, list) = s.get(SCENARIOS);
        let list: Value = serde_json::from_str(&list).unwrap();
        assert_eq!(list["total"], 1);
        assert_eq!(list["scenarios"][0]["id"], doc["id"]);
    }
    let (status, _) = b.request(&format!(
        "DELETE {at} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        b.addr
    ));
    assert_eq!(status, 204);
    assert_eq!(a.get(&at).0, 404);
    // The same plan, posted to both at once, is stored once.
    let (pa, pb) = std::thread::scope(|s| {
        let x = s.spawn(|| a.post(SCENARIOS, &plan(8)));
        let y = s.spawn(|| b.post(SCENARIOS, &plan(8)));
        (x.join().unwrap(), y.join().unwrap())
    });
    let mut statuses = [pa.0, pb.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 201],
        "one stores it, the other answers with it"
    );
    let ida = serde_json::from_str::<Value>(&pa.1).unwrap()["id"].clone();
    let idb = serde_json::from_str::<Value>(&pb.1).unwrap()["id"].clone();
    assert_eq!(ida, idb, "one record for one plan");
}
