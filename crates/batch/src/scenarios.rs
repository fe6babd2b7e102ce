//! Batches of GP-cessation scenarios (CONTRACT §4, `bacino batch`).
//!
//! The scenarios file is JSON Lines, one scenario per line:
//!
//! ```text
//! {"name": "cease-2023-01", "cease": ["GP0012", "GP0044"], "max_distance_m": 30000}
//! {"name": "retirement-wave", "random_cease": {"count": 12, "draws": 500, "seed": 1}}
//! ```
//!
//! Optional keys on both kinds: `max_distance_m` (default 30000),
//! `assign_unlisted` (default false), `min_group_size` (default 10),
//! `metric` (default `geodesic`; `car`/`foot` minimise travel time over the
//! dataset's road network), `max_time_s` (no limit by default), and the
//! plan levers `open` and `capacity` (CONTRACT §8). Unknown
//! keys are errors, so that a typo does not silently change a scenario.
//!
//! For each scenario `OUTDIR/<name>/` receives:
//! - `summary.json`: the scenario document of `bacino scenario`; for
//!   `random_cease`, the distribution over draws (mean, p5, p50, p95; numpy
//!   linear percentiles) of `orphans`, `new_distance.median_m` and
//!   `total_distance_m`, and every draw's ceased ids;
//! - `reassignments.csv`: `resident_id,from_id,to_id,distance_m`, one line
//!   per person (a weighted point split over GPs or left partly unplaced
//!   gives one line per person), `to_id` and `distance_m` empty for an
//!   orphan, `from_id` empty for an unlisted resident. For `random_cease`
//!   it holds **draw 0 only** (`summary.json` says so in
//!   `reassignments_draw`);
//! - `catchments.geojson`, when [`BatchOptions::catchments`] names a method:
//!   the GP catchments after the change (ceased GPs removed; with
//!   `assigned`, reassigned patients drawn with their new GP); draw 0 for
//!   `random_cease`.
//!
//! `OUTDIR/index.json` lists every line of the file with its status (`ok` or
//! `error` and a message). A bad line (invalid JSON, bad or duplicate name,
//! unknown GP id, ...) is reported there and does not stop the others;
//! [`run_batch`] fails only when the output directory cannot be written.
//! Every file is written to a temporary name and renamed into place.
//! Random draws pick `count` distinct active GPs uniformly with ChaCha8
//! seeded by `seed`, all drawn before any work starts, so the outputs do not
//! depend on the number of threads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bacino_core::{
    catchments, reassign, reassign_cached, scenario_report, CatchmentMethod, CatchmentOptions,
    CessationCache, Dataset, FacilityKind, Figures, MetricName, OpenFacility, Overrides,
    Reassignment, ScenarioQuery, ScenarioReport, DEFAULT_MAX_DISTANCE_M, DEFAULT_MIN_GROUP_SIZE,
    NONE,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Parallel;

/// Errors of `bacino-batch`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An output could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A scenario failed in the core engine.
    #[error(transparent)]
    Core(#[from] bacino_core::Error),
    /// A scenario line is invalid.
    #[error("{0}")]
    Scenario(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a batch runs.
#[derive(Debug, Default, Clone)]
pub struct BatchOptions {
    /// Writes each scenario's GP catchments after the change to
    /// `catchments.geojson`, drawn by this method (none: no file).
    pub catchments: Option<CatchmentMethod>,
    /// Show a progress bar on standard error (the CLI sets this on a TTY).
    pub progress: bool,
    /// Run only this part of the scenario lines (see [`crate::shard`]).
    pub shard: Option<bacino_core::Shard>,
}

/// The GP catchments of `dataset` after `solved`: ceased GPs removed, and
/// for `assigned` the reassigned patients counted with their new GP.
pub fn catchments_after(
    dataset: &Dataset,
    solved: &Reassignment,
    method: CatchmentMethod,
    min_group_size: f64,
) -> bacino_core::Result<String> {
    let active = solved.active_after(dataset);
    let assignment = solved.assignment_after(dataset);
    let mut options = CatchmentOptions::new(FacilityKind::Gp, method);
    options.min_group_size = min_group_size;
    let overrides = Overrides {
        active: Some(&active),
        assignment: Some(&assignment),
    };
    Ok(catchments(dataset, &options, overrides, &Parallel)?.to_geojson_string())
}

/// `random_cease` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomCease {
    /// GPs ceasing in each draw.
    pub count: usize,
    /// Number of draws.
    pub draws: usize,
    /// ChaCha8 seed.
    pub seed: u64,
}

/// One line of the scenarios file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Output folder name: `[a-z0-9_-]+`.
    pub name: String,
    /// GP ids that cease.
    #[serde(default)]
    pub cease: Option<Vec<String>>,
    /// Random cessations instead of `cease`.
    #[serde(default)]
    pub random_cease: Option<RandomCease>,
    /// Maximum distance, metres.
    #[serde(default)]
    pub max_distance_m: Option<f64>,
    /// Maximum travel time, seconds (`car`, `foot`, a `table` in seconds).
    #[serde(default)]
    pub max_time_s: Option<f64>,
    /// The metric minimised (default `geodesic`).
    #[serde(default)]
    pub metric: MetricName,
    /// Facilities the plan opens (CONTRACT §8).
    #[serde(default)]
    pub open: Vec<OpenFacility>,
    /// List caps the plan sets (`"*"`: every GP).
    #[serde(default)]
    pub capacity: std::collections::BTreeMap<String, u32>,
    /// Also place unlisted residents.
    #[serde(default)]
    pub assign_unlisted: bool,
    /// Privacy threshold, people.
    #[serde(default)]
    pub min_group_size: Option<f64>,
}

/// A scenario's line in `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexEntry {
    /// 1-based line in the scenarios file.
    pub line: usize,
    /// Scenario name, when the line had a readable one.
    pub name: Option<String>,
    /// `ok` or `error`.
    pub status: &'static str,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `OUTDIR/index.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchIndex {
    /// Dataset name.
    pub dataset: String,
    /// Scenarios that succeeded.
    pub ok: usize,
    /// Scenarios that failed.
    pub errors: usize,
    /// Every scenario line, in file order.
    pub scenarios: Vec<IndexEntry>,
}

/// True for a usable scenario name: `[a-z0-9_-]{1,100}` (no dots or
/// slashes, so it cannot leave the output folder).
pub fn is_valid_scenario_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A parsed line: the scenario, or its name (when readable) and what is
/// wrong with it.
pub type ParsedLine = std::result::Result<ScenarioSpec, (Option<String>, String)>;

/// Parses the scenarios file: one result per non-blank line, with its
/// 1-based line number. Duplicate names after the first are errors.
pub fn parse_scenarios(text: &str) -> Vec<(usize, ParsedLine)> {
    let mut seen = std::collections::HashSet::new();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let parsed = serde_json::from_str::<ScenarioSpec>(l)
                .map_err(|e| (None, format!("invalid scenario: {e}")))
                .and_then(|s| {
                    let name = Some(s.name.clone());
                    if !is_valid_scenario_name(&s.name) {
                        return Err((
                            name,
                            format!(
                                "invalid name `{}`: expected 1 to 100 of a-z, 0-9, `-`, `_`",
                                s.name
                            ),
                        ));
                    }
                    if !seen.insert(s.name.clone()) {
                        return Err((name, format!("duplicate name `{}`", s.name)));
                    }
                    match (&s.cease, &s.random_cease) {
                        (Some(_), None) | (None, Some(_)) => Ok(s),
                        _ => Err((
                            name,
                            "give exactly one of `cease` and `random_cease`".to_owned(),
                        )),
                    }
                });
            (i + 1, parsed)
        })
        .collect()
}

/// The distribution of `new_distance.median_m` over draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NewDistance {
    /// Median new distance per draw, metres.
    pub median_m: Distribution,
}

/// Distribution of a figure over draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Distribution {
    /// Draws with a value (a suppressed figure has none).
    pub n: usize,
    /// Mean.
    pub mean: Option<f64>,
    /// 5th percentile (numpy linear).
    pub p5: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
}

impl Distribution {
    fn of(mut values: Vec<f64>) -> Distribution {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let q = |p: f64| -> Option<f64> {
            if n == 0 {
                return None;
            }
            let h = p * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            Some(round3(
                values[lo] + (h - lo as f64) * (values[hi] - values[lo]),
            ))
        };
        Distribution {
            n,
            mean: (n > 0).then(|| round3(values.iter().sum::<f64>() / n as f64)),
            p5: q(0.05),
            p50: q(0.5),
            p95: q(0.95),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `summary.json` of a `random_cease` scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandomSummary {
    /// Dataset name.
    pub dataset: String,
    /// Scenario name.
    pub name: String,
    /// The draw parameters.
    pub random_cease: RandomCease,
    /// Maximum distance, metres.
    pub max_distance_m: f64,
    /// Privacy threshold, people.
    pub min_group_size: f64,
    /// Orphans per draw.
    pub orphans: Distribution,
    /// `new_distance.median_m` per draw (suppressed draws left out),
    /// written as `"new_distance": {"median_m": {...}}` like the scenario
    /// document.
    pub new_distance: NewDistance,
    /// `total_distance_m` per draw (suppressed draws left out).
    pub total_distance_m: Distribution,
    /// Patients per draw.
    pub patients: Distribution,
    /// True when every draw was proven optimal.
    pub proven: bool,
    /// The draw whose rows are in `reassignments.csv`.
    pub reassignments_draw: usize,
    /// Ceased GP ids of each draw.
    pub draws: Vec<Vec<String>>,
}

/// Runs every scenario of `scenarios` (the file's text) on `dataset`,
/// writing under `out`. Returns the index (also written as
/// `out/index.json`, or as the part's index under
/// [`BatchOptions::shard`]); fails only when `out` cannot be written.
pub fn run_batch(
    dataset: &Dataset,
    scenarios: &str,
    out: &Path,
    options: &BatchOptions,
) -> Result<BatchIndex> {
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_owned(),
        source,
    })?;
    let parsed = parse_scenarios(scenarios);
    let lines = parsed.len();
    let parsed: Vec<_> = match options.shard {
        None => parsed,
        Some(shard) => parsed
            .into_iter()
            .enumerate()
            .filter(|(k, _)| shard.takes(*k))
            .map(|(_, p)| p)
            .collect(),
    };
    let work: u64 = parsed
        .iter()
        .map(|(_, s)| match s {
            Ok(ScenarioSpec {
                random_cease: Some(r),
                ..
            }) => r.draws as u64,
            _ => 1,
        })
        .sum();
    let bar = if options.progress {
        let bar = ProgressBar::new(work);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} scenarios/draws {elapsed} {msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let entries: Vec<IndexEntry> = parsed
        .into_par_iter()
        .map(|(line, spec)| match spec {
            Err((name, message)) => {
                bar.inc(1);
                IndexEntry {
                    line,
                    name,
                    status: "error",
                    message: Some(message),
                }
            }
            Ok(spec) => {
                let name = Some(spec.name.clone());
                match run_one(dataset, &spec, out, options, &bar) {
                    Ok(()) => IndexEntry {
                        line,
                        name,
                        status: "ok",
                        message: None,
                    },
                    Err(e) => {
                        // No outputs of a failed scenario, nor any left from
                        // an earlier run into the same OUTDIR.
                        let _ = std::fs::remove_dir_all(out.join(&spec.name));
                        IndexEntry {
                            line,
                            name,
                            status: "error",
                            message: Some(e.to_string()),
                        }
                    }
                }
            }
        })
        .collect();
    bar.finish_and_clear();
    let ok = entries.iter().filter(|e| e.status == "ok").count();
    let index = BatchIndex {
        dataset: dataset.name.clone(),
        ok,
        errors: entries.len() - ok,
        scenarios: entries,
    };
    match options.shard {
        None => write_atomic(&out.join("index.json"), &json(&index)?)?,
        Some(shard) => {
            let part = crate::shard::PartInfo {
                shard,
                lines,
                scenarios_xxh3: crate::shard::scenarios_hash(scenarios),
                dataset_version: dataset.version().to_owned(),
                catchments: options.catchments.map(|m| m.as_str().to_owned()),
            };
            let body = json(&crate::shard::IndexPart {
                part: &part,
                index: &index,
            })?;
            write_atomic(&out.join(crate::shard::index_part_name(shard)), &body)?;
        }
    }
    Ok(index)
}

pub(crate) fn json<T: Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Scenario(format!("cannot serialise: {e}")))?;
    text.push('\n');
    Ok(text)
}

fn query_of(spec: &ScenarioSpec, cease: Vec<String>) -> ScenarioQuery {
    ScenarioQuery {
        cease,
        max_distance_m: spec.max_distance_m.unwrap_or(DEFAULT_MAX_DISTANCE_M),
        max_time_s: spec.max_time_s,
        assign_unlisted: spec.assign_unlisted,
        min_group_size: spec.min_group_size.unwrap_or(DEFAULT_MIN_GROUP_SIZE),
        metric: spec.metric,
        open: spec.open.clone(),
        capacity: spec.capacity.clone(),
    }
}

/// The cease lists of a `random_cease` scenario: `count` distinct active
/// GPs per draw, ids sorted within a draw. Uniformly, or — when active GPs
/// carry a `retire_p` — in proportion to it (weighted sampling without
/// replacement, Efraimidis–Spirakis: the `count` largest `u^(1/p)`; GPs
/// without a `retire_p` or with 0 never cease).
pub fn random_draws(dataset: &Dataset, r: &RandomCease) -> Result<Vec<Vec<String>>> {
    let facilities = dataset.facilities();
    let mut gps: Vec<(&str, Option<f64>)> = facilities
        .active_of_kind(FacilityKind::Gp)
        .into_iter()
        .map(|i| {
            let f = facilities.get(i);
            (f.id.0.as_str(), f.retire_p)
        })
        .collect();
    gps.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let weighted = gps.iter().any(|g| g.1.is_some());
    let eligible = if weighted {
        gps.iter().filter(|g| g.1.is_some_and(|p| p > 0.0)).count()
    } else {
        gps.len()
    };
    if r.count == 0 || r.count > eligible {
        return Err(Error::Scenario(format!(
            "random_cease.count must be between 1 and {eligible} (the active GPs{}), found {}",
            if weighted { " with retire_p > 0" } else { "" },
            r.count
        )));
    }
    if r.draws == 0 {
        return Err(Error::Scenario(
            "random_cease.draws must be at least 1".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(r.seed);
    Ok((0..r.draws)
        .map(|_| {
            let mut pick: Vec<usize> = if weighted {
                let mut keys: Vec<(f64, usize)> = gps
                    .iter()
                    .enumerate()
                    .filter_map(|(i, g)| {
                        let p = g.1.filter(|&p| p > 0.0)?;
                        let u: f64 = rand::Rng::random_range(&mut rng, f64::MIN_POSITIVE..1.0);
                        Some((u.ln() / p, i))
                    })
                    .collect();
                keys.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                keys.into_iter().take(r.count).map(|k| k.1).collect()
            } else {
                rand::seq::index::sample(&mut rng, gps.len(), r.count).into_vec()
            };
            pick.sort_unstable();
            pick.into_iter().map(|i| gps[i].0.to_owned()).collect()
        })
        .collect())
}

fn run_one(
    dataset: &Dataset,
    spec: &ScenarioSpec,
    out: &Path,
    options: &BatchOptions,
    bar: &ProgressBar,
) -> Result<()> {
    let dir = out.join(&spec.name);
    // Re-running into an OUTDIR replaces a scenario's folder whole: no file
    // of an earlier run (say, catchments before `--catchments none`) stays.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
    }
    if let Some(m) = spec.min_group_size {
        if m.is_nan() || m < 0.0 {
            bar.inc(spec.random_cease.map_or(1, |r| r.draws as u64));
            return Err(Error::Scenario(format!(
                "min_group_size must be a number of people >= 0, found {m}"
            )));
        }
    }
    // The plan's levers give the dataset its cessations are solved on;
    // random draws still cease GPs of the dataset as loaded.
    let original = dataset;
    let planned;
    let dataset = if spec.open.is_empty() && spec.capacity.is_empty() {
        dataset
    } else {
        match dataset.with_levers(&spec.open, &spec.capacity) {
            Ok(d) => {
                planned = d;
                &planned
            }
            Err(e) => {
                bar.inc(spec.random_cease.map_or(1, |r| r.draws as u64));
                return Err(e.into());
            }
        }
    };
    let metric = match dataset.metric(spec.metric, &Parallel) {
        Ok(m) => m,
        Err(e) => {
            bar.inc(spec.random_cease.map_or(1, |r| r.draws as u64));
            return Err(e.into());
        }
    };
    let (summary, first) = match (&spec.cease, &spec.random_cease) {
        (Some(cease), _) => {
            let query = query_of(spec, cease.clone());
            let solved = reassign(dataset, &query, metric, &Parallel);
            bar.inc(1);
            let solved = solved?;
            let report: ScenarioReport = scenario_report(dataset, &solved, query.min_group_size);
            (json(&report)?, solved)
        }
        (None, Some(r)) => {
            let draws = match random_draws(original, r) {
                Ok(d) => d,
                Err(e) => {
                    bar.inc(r.draws as u64);
                    return Err(e);
                }
            };
            let min = spec.min_group_size.unwrap_or(DEFAULT_MIN_GROUP_SIZE);
            // Draws share each GP's patients and their nearest GPs.
            let cache = CessationCache::new(
                dataset,
                spec.max_distance_m.unwrap_or(DEFAULT_MAX_DISTANCE_M),
            );
            let solved: Vec<bacino_core::Result<(Reassignment, ScenarioReport)>> = draws
                .par_iter()
                .map(|cease| {
                    let query = query_of(spec, cease.clone());
                    let r =
                        reassign_cached(dataset, &query, metric, &cache, &Parallel).map(|solved| {
                            let report = scenario_report(dataset, &solved, min);
                            (solved, report)
                        });
                    bar.inc(1);
                    r
                })
                .collect();
            let mut reports = Vec::with_capacity(solved.len());
            let mut first = None;
            for (i, s) in solved.into_iter().enumerate() {
                let (solved, report) = s.map_err(|e| Error::Scenario(format!("draw {i}: {e}")))?;
                if i == 0 {
                    first = Some(solved);
                }
                reports.push(report);
            }
            let pick = |f: &dyn Fn(&ScenarioReport) -> Option<f64>| {
                Distribution::of(reports.iter().filter_map(f).collect())
            };
            let summary = RandomSummary {
                dataset: dataset.name.clone(),
                name: spec.name.clone(),
                random_cease: *r,
                max_distance_m: spec.max_distance_m.unwrap_or(DEFAULT_MAX_DISTANCE_M),
                min_group_size: min,
                orphans: pick(&|s| Some(s.orphans as f64)),
                new_distance: NewDistance {
                    median_m: pick(&|s| match s.new_distance {
                        Some(Figures::Stats(x)) => Some(x.median_m),
                        _ => None,
                    }),
                },
                total_distance_m: pick(&|s| s.total_distance_m),
                patients: pick(&|s| Some(s.patients as f64)),
                proven: reports.iter().all(|s| s.optimality.proven),
                reassignments_draw: 0,
                draws,
            };
            (json(&summary)?, first.expect("at least one draw"))
        }
        (None, None) => unreachable!("parse_scenarios checks the kind"),
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    write_atomic(&dir.join("summary.json"), &summary)?;
    write_atomic(
        &dir.join("reassignments.csv"),
        &reassignments_csv(dataset, &first),
    )?;
    if let Some(method) = options.catchments {
        let min = spec.min_group_size.unwrap_or(DEFAULT_MIN_GROUP_SIZE);
        let geojson = catchments_after(dataset, &first, method, min)?;
        write_atomic(&dir.join("catchments.geojson"), &geojson)?;
    }
    Ok(())
}

/// `resident_id,from_id,to_id,distance_m`, one line per person, and
/// `time_s` when the metric has travel times (`distance_m` is then the
/// route's length, empty for a `table` in seconds).
pub fn reassignments_csv(dataset: &Dataset, solved: &Reassignment) -> String {
    let facilities = dataset.facilities();
    let residents = dataset.residents();
    let timed = solved.in_seconds();
    let mut text = String::from(if timed {
        "resident_id,from_id,to_id,distance_m,time_s\n"
    } else {
        "resident_id,from_id,to_id,distance_m\n"
    });
    let id = |f: u32| {
        if f == NONE {
            ""
        } else {
            facilities.get(f).id.0.as_str()
        }
    };
    for r in &solved.rows {
        let mut line = String::new();
        let _ = write!(
            line,
            "{},{},{},",
            csv_field(residents.id(r.resident)),
            csv_field(id(r.from)),
            csv_field(id(r.to))
        );
        if r.to != NONE && !r.distance_m.is_nan() {
            let _ = write!(line, "{:.3}", r.distance_m);
        }
        if timed {
            line.push(',');
            if r.to != NONE {
                let _ = write!(line, "{:.3}", r.time_s);
            }
        }
        line.push('\n');
        for _ in 0..r.people {
            text.push_str(&line);
        }
    }
    text
}

fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Writes `path` through a temporary file in the same folder and a rename,
/// so readers never see a half-written file.
fn write_atomic(path: &Path, body: &str) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
    ));
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&tmp, body).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Dataset {
        Dataset::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/bergamo"
        ))
        .unwrap()
    }

    #[test]
    fn names_that_could_leave_the_output_folder_are_refused() {
        for bad in ["", "..", "a/b", "A", "x.y", "é", &"x".repeat(101)] {
            assert!(!is_valid_scenario_name(bad), "{bad}");
        }
        for good in ["cease-2023-01", "wave_2", "0"] {
            assert!(is_valid_scenario_name(good), "{good}");
        }
    }

    #[test]
    fn bad_lines_are_reported_with_their_line_numbers() {
        let text = r#"{"name": "a", "cease": ["GP0001"]}

{"name": "a", "cease": ["GP0002"]}
not json
{"name": "../up", "cease": ["GP0001"]}
{"name": "both", "cease": ["GP0001"], "random_cease": {"count": 1, "draws": 1, "seed": 1}}
{"name": "typo", "cese": ["GP0001"]}
"#;
        let parsed = parse_scenarios(text);
        let lines: Vec<usize> = parsed.iter().map(|p| p.0).collect();
        assert_eq!(lines, vec![1, 3, 4, 5, 6, 7]);
        assert!(parsed[0].1.is_ok());
        let err = |i: usize| parsed[i].1.as_ref().unwrap_err().1.clone();
        assert!(err(1).contains("duplicate"), "{}", err(1));
        assert!(err(2).contains("invalid scenario"), "{}", err(2));
        assert!(err(3).contains("invalid name"), "{}", err(3));
        assert!(err(4).contains("exactly one"), "{}", err(4));
        assert!(err(5).contains("cese"), "{}", err(5));
    }

    #[test]
    fn random_draws_are_distinct_active_gps_and_repeat_with_the_seed() {
        let ds = fixture();
        let r = RandomCease {
            count: 12,
            draws: 50,
            seed: 1,
        };
        let a = random_draws(&ds, &r).unwrap();
        assert_eq!(a, random_draws(&ds, &r).unwrap());
        let other = random_draws(&ds, &RandomCease { seed: 2, ..r }).unwrap();
        assert_ne!(a, other);
        for draw in &a {
            assert_eq!(draw.len(), 12);
            let mut d = draw.clone();
            d.dedup();
            assert_eq!(d.len(), 12, "distinct and sorted: {draw:?}");
            for id in draw {
                let f = ds.facilities().get(ds.facilities().index_of(id).unwrap());
                assert!(f.kind == FacilityKind::Gp && f.is_active(), "{id}");
            }
        }
        // Ceased GPs of the fixture (GP0595..GP0597) are never drawn.
        assert!(a.iter().flatten().all(|id| id.as_str() < "GP0595"));
        assert!(random_draws(&ds, &RandomCease { count: 0, ..r }).is_err());
    }

    #[test]
    fn distributions_use_numpy_linear_percentiles() {
        // numpy.percentile([1, 2, 3, 4, 10], [5, 50, 95]) = [1.2, 3.0, 8.8]
        let d = Distribution::of(vec![10.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((d.n, d.mean), (5, Some(4.0)));
        assert_eq!((d.p5, d.p50, d.p95), (Some(1.2), Some(3.0), Some(8.8)));
        assert_eq!(Distribution::of(vec![]).mean, None);
    }
}
