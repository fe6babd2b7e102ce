//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod server;
pub mod webdriver;

/// A dataset directory in a temporary folder.
pub struct TempDataset {
    pub dir: tempfile::TempDir,
}

impl TempDataset {
    /// Writes `dataset.toml` and the given files.
    pub fn new(manifest: &str, files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("dataset.toml"), manifest).expect("write manifest");
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).expect("write file");
        }
        TempDataset { dir }
    }

    /// A lon/lat dataset from facilities and residents CSV text.
    pub fn csv(facilities: &str, residents: &str) -> Self {
        Self::new(
            "name = \"t\"\n[facilities]\npath = \"facilities.csv\"\n[residents]\npath = \"residents.csv\"\n",
            &[("facilities.csv", facilities), ("residents.csv", residents)],
        )
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The repository's default dataset.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo")
}

/// Geodesic distance by GeographicLib (the reference implementation).
pub fn karney_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    use geographiclib_rs::{Geodesic, InverseGeodesic};
    let g = Geodesic::wgs84();
    let d: f64 = g.inverse(lat1, lon1, lat2, lon2);
    d
}

/// numpy.percentile(values, q) with the default linear method.
pub fn numpy_percentile(values: &[f64], q: f64) -> f64 {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Every file under `dir`, by path relative to it, with its bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Minimal CSV reading for test oracles (the fixture files have no quotes
/// in the columns read here).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("read csv");
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Runs the `bacino` binary, asserts success and parses its stdout as one
/// JSON document.
pub fn bacino_json(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(args)
        .output()
        .expect("run bacino");
    assert!(
        out.status.success(),
        "bacino {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

/// Runs the `bacino` binary, asserts that it fails, and returns its stderr.
pub fn bacino_fails(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacino"))
        .args(args)
        .output()
        .expect("run bacino");
    assert!(!out.status.success(), "bacino {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The bundled Monaco dataset (real OpenStreetMap roads and pharmacies).
pub fn monaco_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/monaco")
}

/// The Monaco extract (© OpenStreetMap contributors, ODbL).
pub fn monaco_pbf() -> PathBuf {
    monaco_dir().join("monaco.osm.pbf")
}

/// Every `step`-th Monaco resident, plus `extra` residents.csv rows, with
/// the Monaco pharmacies and the extract (by absolute path); `network` is
/// appended to the manifest's `[network]` table.
pub fn monaco_sample(step: usize, extra: &str, network: &str) -> TempDataset {
    let residents = std::fs::read_to_string(monaco_dir().join("residents.csv")).unwrap();
    let mut text = String::new();
    for (i, line) in residents.lines().enumerate() {
        if i == 0 || i % step == 0 {
            text += line;
            text += "\n";
        }
    }
    text += extra;
    let facilities = std::fs::read_to_string(monaco_dir().join("facilities.csv")).unwrap();
    let manifest = format!(
        "name = \"m\"\n[facilities]\npath = \"facilities.csv\"\n[residents]\npath = \"residents.csv\"\n\
         [network]\npath = {:?}\n{network}",
        monaco_pbf().to_str().unwrap()
    );
    TempDataset::new(
        &manifest,
        &[("facilities.csv", &facilities), ("residents.csv", &text)],
    )
}

/// A GeoJSON geometry (as JSON) that must be a MultiPolygon.
pub fn multipolygon(g: &serde_json::Value) -> geo::MultiPolygon<f64> {
    let g: geojson::Geometry = serde_json::from_value(g.clone()).unwrap();
    let geo: geo::Geometry<f64> = g.value.try_into().unwrap();
    match geo {
        geo::Geometry::MultiPolygon(mp) => mp,
        other => panic!("expected a MultiPolygon, got {other:?}"),
    }
}

/// Certifies, independently of bacino's solver, that a transportation
/// solution is optimal: one person per patient, `to[i]` the GP of patient
/// `i` (`None`: unplaced), `cost[i][j]` the arc's cost (`None`: no arc),
/// `spare[j]` the room of GP `j`. Panics unless every placed patient uses
/// an arc, no GP is over its room, no augmenting path leads from an
/// unplaced patient to a GP with room (the flow is maximum), and the
/// residual graph has no negative cycle (Bellman–Ford: the cost is
/// minimal among maximum flows). Returns the total cost.
pub fn certify_transport(cost: &[Vec<Option<i64>>], spare: &[u64], to: &[Option<usize>]) -> i64 {
    let (np, ng) = (cost.len(), spare.len());
    assert_eq!(to.len(), np);
    let mut load = vec![0u64; ng];
    let mut total = 0i64;
    for (i, t) in to.iter().enumerate() {
        if let Some(j) = *t {
            let c =
                cost[i][j].unwrap_or_else(|| panic!("patient {i} placed on a missing arc to {j}"));
            total += c;
            load[j] += 1;
        }
    }
    for j in 0..ng {
        assert!(
            load[j] <= spare[j],
            "GP {j} over its room: {} > {}",
            load[j],
            spare[j]
        );
    }
    // Residual graph: source 0, patients 1..=np, GPs, sink.
    let gp = |j: usize| 1 + np + j;
    let (src, sink, n) = (0, 1 + np + ng, 2 + np + ng);
    let mut arcs: Vec<(usize, usize, i64)> = Vec::new();
    for (i, (&at, row)) in to.iter().zip(cost).enumerate() {
        match at {
            Some(j) => {
                arcs.push((1 + i, src, 0));
                arcs.push((gp(j), 1 + i, -row[j].unwrap()));
            }
            None => arcs.push((src, 1 + i, 0)),
        }
        for (j, &c) in row.iter().enumerate() {
            if let Some(c) = c {
                if at != Some(j) {
                    arcs.push((1 + i, gp(j), c));
                }
            }
        }
    }
    for (j, (&l, &s)) in load.iter().zip(spare).enumerate() {
        if l < s {
            arcs.push((gp(j), sink, 0));
        }
        if l > 0 {
            arcs.push((sink, gp(j), 0));
        }
    }
    // Maximum: no GP with room is reachable from an unplaced patient.
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b, _) in &arcs {
        out[a].push(b);
    }
    let mut reach = vec![false; n];
    let mut stack: Vec<usize> = (0..np)
        .filter(|&i| to[i].is_none())
        .map(|i| 1 + i)
        .collect();
    for &s in &stack {
        reach[s] = true;
    }
    while let Some(u) = stack.pop() {
        for &b in &out[u] {
            if b != src && !reach[b] {
                reach[b] = true;
                stack.push(b);
            }
        }
    }
    assert!(!reach[sink], "an augmenting path places one more person");
    // Minimal: no negative cycle (Bellman–Ford from a virtual root).
    let mut dist = vec![0i64; n];
    let mut rounds = 0;
    loop {
        let mut changed = false;
        for &(a, b, c) in &arcs {
            if dist[a] + c < dist[b] {
                dist[b] = dist[a] + c;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        rounds += 1;
        assert!(
            rounds < n,
            "a negative cycle: the total cost is not minimal"
        );
    }
    total
}

/// A stored scenario's document without the fields the store puts in
/// front (`id`, `created`, `dataset_version`, `stale`, `plan`): the answer
/// as computed, which is what the CLI prints. Panics when one is missing.
#[allow(dead_code)]
pub fn answer_of(mut stored: serde_json::Value) -> serde_json::Value {
    let map = stored.as_object_mut().expect("a JSON object");
    // A siting run keeps its request under `request` (its answer has a
    // `plan` of its own).
    let siting = map.contains_key("request");
    for k in ["id", "created", "dataset_version", "stale", "plan"] {
        let k = if siting && k == "plan" { "request" } else { k };
        assert!(map.remove(k).is_some(), "the stored document has no `{k}`");
    }
    stored
}

/// The URL of a fresh database on the test PostgreSQL server named by
/// `BACINO_TEST_POSTGRES`; None (the test skips, saying so) when it is
/// unset, except under `CI`, where it is required.
#[allow(dead_code)]
pub fn fresh_postgres(test: &str) -> Option<String> {
    let admin = match std::env::var("BACINO_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var_os("CI").is_some() => {
            panic!("{test}: CI is set but BACINO_TEST_POSTGRES is not (.ci/run starts PostgreSQL)")
        }
        _ => {
            eprintln!(
                "skipping {test}: set BACINO_TEST_POSTGRES (eval \"$(tests/postgres/start.sh)\")"
            );
            return None;
        }
    };
    let name = format!("bacino_test_{}", uuid::Uuid::now_v7().simple());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}
