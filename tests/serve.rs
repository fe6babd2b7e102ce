//! The real binary: `bacino serve` on port 0 answers exactly what
//! `bacino stats` prints, and never reveals a resident.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use common::{fixture_dir, read_csv};
use serde_json::Value;

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bacino"))
            .args([
                "serve",
                fixture_dir().to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start bacino serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("server printed its address").unwrap();
            if let Some(a) = line.strip_prefix("listening on http://") {
                break a.to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    /// A plain HTTP/1.1 GET: (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        (
            status,
            if chunked {
                dechunk(body)
            } else {
                body.to_owned()
            },
        )
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_server_answers_exactly_what_the_cli_prints() {
    let server = Server::start();
    let dir = fixture_dir();
    let d = dir.to_str().unwrap();
    for (query, args) in [
        (
            "to=nearest&kind=gp",
            vec!["--to", "nearest", "--kind", "gp"],
        ),
        (
            "to=assigned&group_by=group",
            vec!["--to", "assigned", "--group-by", "group"],
        ),
        (
            "to=nearest&kind=cdc&group_by=municipality",
            vec![
                "--to",
                "nearest",
                "--kind",
                "cdc",
                "--group-by",
                "municipality",
            ],
        ),
    ] {
        let (status, body) = server.get(&format!("/v1/datasets/bergamo/distances?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        let mut a = vec!["stats", d];
        a.extend(args);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            cli(&a),
            "{query}"
        );
    }
    // 300 sequential queries, none failing.
    for i in 0..300 {
        let q = [
            "to=nearest&kind=gp",
            "to=assigned&group_by=group",
            "to=nearest&kind=pharmacy&group_by=area",
        ][i % 3];
        assert_eq!(
            server.get(&format!("/v1/datasets/bergamo/distances?{q}")).0,
            200
        );
    }
}

/// No resident id or coordinate appears in any response.
#[test]
fn no_response_reveals_a_resident() {
    let server = Server::start();
    let mut bodies = Vec::new();
    for path in [
        "/health",
        "/v1/datasets",
        "/openapi.json",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality",
        "/v1/datasets/bergamo/distances?to=assigned&group_by=facility",
        "/v1/datasets/bergamo/distances?to=assigned&group_by=gp_id",
        "/v1/datasets/bergamo/distances?to=nearest&kind=cdc&group_by=area",
        "/v1/datasets/bergamo/distances?to=assigned&group_by=group",
        "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=nothing",
    ] {
        bodies.push(server.get(path).1);
    }
    let all = bodies.join("\n");
    // Every token of every response; numbers also cut to 5 decimals (~1 m),
    // which would already locate a home.
    let trunc5 = |t: &str| -> String {
        match t.find('.') {
            Some(p) => t[..(p + 6).min(t.len())].to_owned(),
            None => t.to_owned(),
        }
    };
    let tokens: std::collections::HashSet<String> = all
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .filter(|t| !t.is_empty())
        .flat_map(|t| [t.to_owned(), trunc5(t)])
        .collect();
    let (header, rows) = read_csv(&fixture_dir().join("residents.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (id, lon, lat) = (col("id"), col("lon"), col("lat"));
    for r in &rows {
        assert!(!tokens.contains(&r[id]), "resident id {} leaked", r[id]);
        for c in [&r[lon], &r[lat]] {
            assert!(!tokens.contains(&trunc5(c)), "coordinate {c} leaked");
        }
    }
    // Suppression: facility groups smaller than 10 people are suppressed.
    let by_facility: Value = serde_json::from_str(
        &server
            .get("/v1/datasets/bergamo/distances?to=assigned&group_by=facility")
            .1,
    )
    .unwrap();
    for g in by_facility["groups"].as_array().unwrap() {
        match g["count"].as_f64() {
            Some(c) => assert!(c >= 10.0, "{g}"),
            None => assert_eq!(g["suppressed"], true),
        }
    }
}
