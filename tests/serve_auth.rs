//! `bacino serve` as a child process: with `[[tokens]]`, the roles over a
//! real connection, `HEAD` sending headers without a body, `bacino token`
//! entries that work, and logs that never contain a token but name its
//! id in an audit line; gzip and Brotli when asked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

mod common;
use common::fixture_dir;

const PLANNER: &str = "planner-7f3a9c-secret";
const READER: &str = "reader-2b8e1d-secret";

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One request with `Connection: close`; the whole raw answer.
fn raw(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req += &format!("Authorization: Bearer {t}\r\n");
    }
    match body {
        Some(b) => {
            req += &format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )
        }
        None => req += "\r\n",
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn roles_hold_over_http_and_tokens_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("bacino.toml");
    std::fs::write(
        &settings,
        format!(
            "[[tokens]]\nsha256 = \"{}\"\nrole = \"planner\"\nid = \"p1\"\n\
             [[tokens]]\nsha256 = \"{}\"\nrole = \"reader\"\n",
            hex_sha256(PLANNER),
            hex_sha256(READER).to_uppercase()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("serve")
        .arg(fixture_dir())
        .arg("--config")
        .arg(&settings)
        .args(["--bind", "127.0.0.1:0", "--no-cache", "--store", "memory"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        log.lock().unwrap().push(line.clone());
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    let sink = log.clone();
    let drain = std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });

    let scen = "/v1/datasets/bergamo/scenarios";
    let plan = r#"{"cease": ["GP0055"]}"#;
    let a = raw(&addr, "GET", "/v1/datasets", None, None);
    assert_eq!(status(&a), 401, "{a}");
    assert!(
        a.to_ascii_lowercase().contains("www-authenticate: bearer"),
        "{a}"
    );
    assert_eq!(
        status(&raw(&addr, "GET", "/v1/datasets", Some(READER), None)),
        200
    );
    assert_eq!(
        status(&raw(&addr, "POST", scen, Some(READER), Some(plan))),
        403
    );
    assert_eq!(
        status(&raw(&addr, "POST", scen, Some(PLANNER), Some(plan))),
        201
    );
    assert_eq!(status(&raw(&addr, "GET", "/health", None, None)), 200);

    // HEAD: the GET's headers, its length, no body.
    let g = raw(&addr, "GET", "/v1/datasets", Some(READER), None);
    let h = raw(&addr, "HEAD", "/v1/datasets", Some(READER), None);
    assert_eq!(status(&h), 200, "{h}");
    let (g_head, g_body) = g.split_once("\r\n\r\n").unwrap();
    let (h_head, h_body) = h.split_once("\r\n\r\n").unwrap();
    assert!(!g_body.is_empty());
    assert_eq!(h_body, "", "a HEAD answer has no body");
    let length = |head: &str| {
        head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
    };
    assert_eq!(length(h_head), length(g_head));
    assert_eq!(length(g_head), Some(g_body.len().to_string()));

    child.kill().unwrap();
    child.wait().unwrap();
    drain.join().unwrap();
    let log = log.lock().unwrap().join("\n");
    for secret in [PLANNER, READER, "7f3a9c", "2b8e1d"] {
        assert!(!log.contains(secret), "the log shows a token:\n{log}");
    }
    let audit: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("bacino::audit"))
        .collect();
    assert!(
        audit
            .iter()
            .any(|l| l.contains("p1") && l.contains("/scenarios") && l.contains("201")),
        "no audit line names the planner's id:\n{log}"
    );
    // The refused POST is audited too, under the reader's default id (the
    // first 12 digits of its hash).
    let reader_id = &hex_sha256(READER)[..12];
    assert!(
        audit
            .iter()
            .any(|l| l.contains(reader_id) && l.contains("403")),
        "no audit line for the reader's refused POST:\n{log}"
    );
}

#[test]
fn a_token_from_bacino_token_opens_the_server() {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(["token", "--role", "admin", "--id", "ops"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text.lines().next().unwrap().trim().to_owned();
    assert!(token.len() >= 40, "{token}");
    let entry = text.split_once("\n\n").unwrap().1;
    assert!(entry.contains(&hex_sha256(&token)), "{entry}");
    assert!(!entry.contains(&token), "the entry holds the hash only");
    // Two runs, two tokens.
    let again = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("token")
        .output()
        .unwrap();
    assert_ne!(
        String::from_utf8(again.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
        token
    );

    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("bacino.toml");
    std::fs::write(&settings, entry).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("serve")
        .arg(fixture_dir())
        .arg("--config")
        .arg(&settings)
        .args(["--bind", "127.0.0.1:0", "--no-cache", "--store", "memory"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(status(&raw(&addr, "GET", "/v1/datasets", None, None)), 401);
    assert_eq!(
        status(&raw(&addr, "GET", "/v1/datasets", Some(&token), None)),
        200
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_open_server_on_a_public_address_needs_open() {
    let out = Command::new(env!("CARGO_BIN_EXE_bacino"))
        .arg("serve")
        .arg(fixture_dir())
        .args(["--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--open") && err.contains("tokens"), "{err}");
}

#[test]
fn answers_are_compressed_when_the_client_asks() {
    let server = common::server::Server::start();
    let path = "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality";
    let (status, plain) = server.get(path);
    assert_eq!(status, 200);
    let ask = |enc: &str| -> Vec<u8> {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: {enc}\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    };
    let etag_of = |head: &str| -> String {
        head.lines()
            .find_map(|l| l.strip_prefix("etag:"))
            .expect("an ETag")
            .trim()
            .to_owned()
    };
    let plain_etag = etag_of(&String::from_utf8_lossy(&ask("identity")).to_ascii_lowercase());
    // A weak tag: one for every encoding of the same answer (a strong one
    // would have to differ between them).
    assert!(plain_etag.starts_with("w/\""), "{plain_etag}");
    for (enc, want) in [("gzip", "gzip"), ("br", "br"), ("br;q=0.5, gzip", "gzip")] {
        let raw = ask(enc);
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        assert_eq!(etag_of(&head), plain_etag, "{enc}");
        assert!(
            head.contains(&format!("content-encoding: {want}")),
            "{enc}: {head}"
        );
        if want == "gzip" {
            // The body (chunked or sized) decodes to the plain answer.
            let body = &raw[end + 4..];
            let body = if head.contains("transfer-encoding: chunked") {
                dechunk(body)
            } else {
                body.to_vec()
            };
            assert!(body.len() < plain.len(), "{} ≥ {}", body.len(), plain.len());
            let mut text = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, plain);
        }
    }
}

/// The body of a chunked transfer.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}
