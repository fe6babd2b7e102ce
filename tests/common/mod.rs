//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
