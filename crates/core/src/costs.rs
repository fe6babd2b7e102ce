//! The `table` metric (CONTRACT §5): an origin–destination cost table the
//! user brings (from OSRM, ORS, r5…), one cost per (resident id, facility
//! id) pair, in seconds or metres.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::error::{Error, Location, Result};
use crate::load::LineCounter;
use crate::model::{Facilities, FacilityIdx, Residents};

/// The unit of a cost table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum CostUnit {
    /// Seconds (figures as `*_s`).
    #[serde(rename = "s")]
    Seconds,
    /// Metres (figures as `*_m`).
    #[serde(rename = "m")]
    Metres,
}

/// Which table a figure was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CostsInfo {
    /// The file as configured.
    pub path: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// `s` or `m`.
    pub unit: CostUnit,
}

/// Costs by resident row: for each, its `(facility, cost)` pairs.
#[derive(Debug, Clone)]
pub struct CostTable {
    info: CostsInfo,
    first: Vec<u32>,
    pairs: Vec<(FacilityIdx, f64)>,
}

impl CostTable {
    /// Reads `origin,dest,cost` rows; every origin must be a resident id,
    /// every dest a facility id, every cost a finite number ≥ 0, each pair
    /// once. Errors name the file, line and column.
    pub fn load(
        path: &Path,
        unit: CostUnit,
        residents: &Residents,
        facilities: &Facilities,
    ) -> Result<CostTable> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let at = |line: u64, column: Option<usize>, field: Option<&str>| Location {
            path: PathBuf::from(path),
            line: Some(line),
            column,
            field: field.map(str::to_owned),
            feature: None,
            record: None,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes.as_slice());
        let header = rdr
            .headers()
            .map_err(|e| Error::input(at(1, None, None), format!("malformed CSV: {e}")))?
            .clone();
        let col = |name: &str| -> Result<usize> {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Error::input(
                        at(1, None, None),
                        format!(
                            "missing required column `{name}` (expected origin,dest,cost; found {})",
                            header.iter().collect::<Vec<_>>().join(",")
                        ),
                    )
                })
        };
        let (co, cd, cc) = (col("origin")?, col("dest")?, col("cost")?);
        let mut row_of: FxHashMap<&str, u32> = FxHashMap::default();
        row_of.reserve(residents.len());
        for r in 0..residents.len() {
            row_of.insert(residents.id(r), r as u32);
        }
        let mut rows: Vec<(u32, FacilityIdx, f64)> = Vec::new();
        let mut lines = LineCounter::new(&bytes, 1);
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte() as usize));
                Error::input(at(line, None, None), format!("malformed CSV: {e}"))
            })?;
            let line = lines.line_at(rec.position().map_or(0, |p| p.byte() as usize));
            let field = |c: usize| rec.get(c).unwrap_or("").trim();
            let origin = field(co);
            let r = *row_of.get(origin).ok_or_else(|| {
                Error::input(
                    at(line, Some(co + 1), Some("origin")),
                    format!("expected a resident id of the dataset, found `{origin}`"),
                )
            })?;
            let dest = field(cd);
            let f = facilities.index_of(dest).ok_or_else(|| {
                Error::input(
                    at(line, Some(cd + 1), Some("dest")),
                    format!("expected a facility id of the dataset, found `{dest}`"),
                )
            })?;
            let text = field(cc);
            let cost: f64 = text
                .parse()
                .ok()
                .filter(|c: &f64| c.is_finite() && *c >= 0.0)
                .ok_or_else(|| {
                    Error::input(
                        at(line, Some(cc + 1), Some("cost")),
                        format!("expected a finite cost ≥ 0, found `{text}`"),
                    )
                })?;
            rows.push((r, f, cost));
        }
        // Sorted by resident then facility; a pair given twice is an error
        // (which of two costs would be meant?).
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&k| (rows[k].0, rows[k].1, k));
        for w in order.windows(2) {
            let (a, b) = (rows[w[0]], rows[w[1]]);
            if (a.0, a.1) == (b.0, b.1) {
                return Err(Error::input(
                    Location::file(path),
                    format!(
                        "the pair ({}, {}) is given twice (rows {} and {} of the data)",
                        residents.id(a.0 as usize),
                        facilities.get(a.1).id,
                        w[0] + 1,
                        w[1] + 1
                    ),
                ));
            }
        }
        let mut first = vec![0u32; residents.len() + 1];
        for &(r, _, _) in &rows {
            first[r as usize + 1] += 1;
        }
        for i in 0..residents.len() {
            first[i + 1] += first[i];
        }
        let pairs = order.iter().map(|&k| (rows[k].1, rows[k].2)).collect();
        Ok(CostTable {
            info: CostsInfo {
                path: path.display().to_string(),
                sha256: bacino_network::sha256_hex(&bytes),
                unit,
            },
            first,
            pairs,
        })
    }

    /// Path, hash and unit.
    pub fn info(&self) -> &CostsInfo {
        &self.info
    }

    /// The unit.
    pub fn unit(&self) -> CostUnit {
        self.info.unit
    }

    /// The pairs of resident `row`, by facility index.
    pub fn of(&self, row: usize) -> &[(FacilityIdx, f64)] {
        &self.pairs[self.first[row] as usize..self.first[row + 1] as usize]
    }
}
