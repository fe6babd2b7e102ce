//! Headless Chromium driven through ChromeDriver's W3C WebDriver protocol,
//! with the plain HTTP client of [`super::server`] (no client library, no
//! driver download: Debian's `chromium` and `chromium-driver`).
//!
//! [`Browser::start`] answers `None` when either program is missing; the
//! tests then skip with a message, unless `CI` is set, where they fail.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::server::http;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The WebDriver code of the Enter key, for [`Browser::type_into`].
pub const ENTER: &str = "\u{E007}";

/// A browser session; the driver is stopped when dropped.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// Whether browser tests must run (in CI) or may be skipped.
pub fn required() -> bool {
    std::env::var_os("CI").is_some()
}

/// Starts Chromium, or returns `None` with the reason printed when it is
/// not installed (and panics instead when [`required`]).
pub fn start_or_skip(test: &str, width: u32, height: u32) -> Option<Browser> {
    match Browser::start(width, height) {
        Ok(b) => Some(b),
        Err(why) if !required() => {
            eprintln!("skipping {test}: {why} (install chromium and chromium-driver to run it)");
            None
        }
        Err(why) => panic!("{test} needs a browser in CI: {why}"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// A new headless Chromium session with a fresh profile and a window
    /// of `width` × `height` CSS pixels.
    pub fn start(width: u32, height: u32) -> Result<Browser, String> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(program).exists() {
                return Err(format!("{program} is not installed"));
            }
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {CHROMEDRIVER}: {e}"))?;
        let addr = format!("127.0.0.1:{port}");
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut b = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let t0 = Instant::now();
        loop {
            if let Ok((200, body)) = http(&b.addr, "GET", "/status", None) {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            if t0.elapsed() > Duration::from_secs(20) {
                return Err("chromedriver did not become ready in 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--enable-unsafe-swiftshader".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", b._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let v = b.call("POST", "/session", Some(caps))?;
        b.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {v}"))?
            .to_owned();
        Ok(b)
    }

    /// One WebDriver command; its `value`, or the driver's error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string());
        let (status, text) = http(&self.addr, method, path, body.as_deref())
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))?;
        if status != 200 {
            return Err(format!("{method} {path}: {status}: {}", v["value"]));
        }
        Ok(v["value"].clone())
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .unwrap_or_else(|e| panic!("webdriver: {e}"))
    }

    /// Opens `url` and waits for the document to load.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and
    /// returns what it returns.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Polls the expression `js` until it is truthy, returning its value;
    /// panics with `what` after `timeout`.
    pub fn wait_for(&self, js: &str, timeout: Duration, what: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.execute(&format!("return ({js});"), json!([]));
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            assert!(
                t0.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what} (`{js}`); page errors: {}",
                self.execute("return window.bacinoErrors || [];", json!([]))
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> String {
        let v = self.session_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    /// Clicks the element matching `css` as a user would.
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.session_call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Types `text` into the element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// A mouse click at viewport coordinates (CSS pixels).
    pub fn click_at(&self, x: f64, y: f64) {
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "duration": 0, "origin": "viewport",
                 "x": x.round() as i64, "y": y.round() as i64},
                {"type": "pointerDown", "button": 0},
                {"type": "pause", "duration": 50},
                {"type": "pointerUp", "button": 0},
            ],
        }]});
        self.session_call("POST", "/actions", Some(actions));
        self.session_call("DELETE", "/actions", None);
    }

    /// Moves the mouse to viewport coordinates (CSS pixels), no click.
    pub fn hover_at(&self, x: f64, y: f64) {
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "duration": 0, "origin": "viewport",
                 "x": x.round() as i64 - 3, "y": y.round() as i64},
                {"type": "pointerMove", "duration": 100, "origin": "viewport",
                 "x": x.round() as i64, "y": y.round() as i64},
            ],
        }]});
        self.session_call("POST", "/actions", Some(actions));
        self.session_call("DELETE", "/actions", None);
    }

    /// A screenshot of the viewport as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.session_call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("valid base64")
    }

    /// The browser's console messages since the last call.
    pub fn console(&self) -> Vec<Value> {
        self.session_call("POST", "/se/log", Some(json!({"type": "browser"})))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The DevTools network events since the last call, as
    /// `(method, params)`.
    pub fn network_events(&self) -> Vec<(String, Value)> {
        self.session_call("POST", "/se/log", Some(json!({"type": "performance"})))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|entry| {
                let m: Value = serde_json::from_str(entry["message"].as_str()?).ok()?;
                let method = m["message"]["method"].as_str()?.to_owned();
                method
                    .starts_with("Network.")
                    .then(|| (method, m["message"]["params"].clone()))
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Decodes a PNG into (width, height, RGBA bytes).
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgba)
}
