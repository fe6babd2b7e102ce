//! `bacino serve` as a child process on port 0, and a plain HTTP/1.1
//! client for it (no client library: the tests see the bytes).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use super::fixture_dir;

pub struct Server {
    child: Child,
    /// `host:port` it listens on.
    pub addr: String,
    /// Everything it wrote on stderr so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[fixture_dir()], None)
    }

    /// Serves the given dataset directories, caching road graphs in `cache`.
    pub fn start_with(dirs: &[std::path::PathBuf], cache: Option<&std::path::Path>) -> Server {
        Server::start_args(dirs, cache, &[])
    }

    /// As [`Server::start_with`], with more `serve` arguments.
    pub fn start_args(
        dirs: &[std::path::PathBuf],
        cache: Option<&std::path::Path>,
        extra: &[&std::ffi::OsStr],
    ) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bacino"));
        cmd.arg("serve");
        cmd.args(extra);
        // Tests keep scenarios in memory unless they name a store.
        if !extra.iter().any(|a| *a == "--store") {
            cmd.args(["--store", "memory"]);
        }
        for d in dirs {
            cmd.arg(d);
        }
        match cache {
            Some(c) => cmd.arg("--cache-dir").arg(c),
            None => cmd.arg("--no-cache"),
        };
        let mut child = cmd
            .args(["--bind", "127.0.0.1:0"])
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
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        Server { child, addr, log }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (no chance to clean up) and reaps it.
    #[allow(dead_code)]
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server has logged on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// A plain HTTP/1.1 GET: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    /// A plain HTTP/1.1 POST of JSON: (status, body).
    pub fn post(&self, path: &str, json: &str) -> (u16, String) {
        self.request(&format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            self.addr,
            json.len()
        ))
    }

    pub fn request(&self, raw_request: &str) -> (u16, String) {
        exchange(&self.addr, raw_request).unwrap()
    }
}

/// One HTTP/1.1 request to `addr` (`body` sent as JSON): (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let raw = match body {
        Some(b) => format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ),
        None => format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    };
    exchange(addr, &raw)
}

/// Sends a raw request and reads the answer: up to `Content-Length` when
/// given (a server may keep the connection open), else to the close.
fn exchange(addr: &str, raw_request: &str) -> Result<(u16, String), String> {
    exchange_head(addr, raw_request).map(|(status, _, body)| (status, body))
}

/// As [`exchange`], with the response head (status line and headers,
/// names lower-cased) as well: (status, head, body).
pub fn exchange_head(addr: &str, raw_request: &str) -> Result<(u16, String, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(300)))
        .map_err(|e| e.to_string())?;
    s.write_all(raw_request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    let mut wanted: Option<usize> = None;
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            if wanted.is_none() {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                wanted = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .map(|n| end + 4 + n);
            }
            if wanted.is_some_and(|n| raw.len() >= n) {
                break;
            }
        }
        let n = s
            .read(&mut chunk)
            .map_err(|e| format!("read {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {raw}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head}"))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((
        status,
        head.to_ascii_lowercase(),
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

pub fn dechunk(mut s: &str) -> String {
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
