//! `bacino serve` reloading its datasets on `SIGHUP`, as a child process:
//! new data bring a new version and new entity tags; a broken file keeps
//! the old data served and the log says why, naming the file and line.
#![cfg(unix)]

use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::server::{exchange_head, Server};

fn write_dataset(dir: &std::path::Path, people: usize, broken: bool) {
    std::fs::write(
        dir.join("dataset.toml"),
        "name = \"t\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("f.csv"), "id,kind,lon,lat\nGP1,gp,9.6,45.6\n").unwrap();
    let mut r = String::from("id,lon,lat\n");
    for i in 0..people {
        if broken && i == 2 {
            r += "R2,9.6x,45.6\n";
        } else {
            r += &format!("R{i},{:.4},45.61\n", 9.6 + 0.001 * i as f64);
        }
    }
    std::fs::write(dir.join("r.csv"), r).unwrap();
}

fn version(server: &Server) -> String {
    let (status, body) = server.get("/v1/datasets");
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    list[0]["version"].as_str().unwrap().to_owned()
}

fn etag(server: &Server) -> String {
    let raw = format!(
        "GET /v1/datasets/t/distances?to=nearest&kind=gp HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let (status, head, _) = exchange_head(&server.addr, &raw).unwrap();
    assert_eq!(status, 200);
    head.lines()
        .find_map(|l| l.strip_prefix("etag:"))
        .unwrap()
        .trim()
        .to_owned()
}

fn hangup(server: &Server) {
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), 20, false);
    let server = Server::start_args(&[dir.path().to_path_buf()], None, &[]);
    let (v1, e1) = (version(&server), etag(&server));

    write_dataset(dir.path(), 25, false);
    hangup(&server);
    wait_for("the new version", || version(&server) != v1);
    let v2 = version(&server);
    let e2 = etag(&server);
    assert_ne!(e1, e2);
    let (_, body) = server.get("/v1/datasets");
    assert!(body.contains("\"residents\":25"), "{body}");

    write_dataset(dir.path(), 25, true);
    hangup(&server);
    wait_for("the failure in the log", || {
        server.log().contains("reload failed")
    });
    let log = server.log();
    let line = log.lines().find(|l| l.contains("reload failed")).unwrap();
    assert!(line.contains("r.csv:4:"), "{line}");
    // Still the second version, answering as before, and still alive.
    assert_eq!(version(&server), v2);
    assert_eq!(etag(&server), e2);
    assert_eq!(server.get("/health").0, 200);
}
