//! The planning commands: `scenario` (plans), `compare`, `ad`
//! (Ambulatori Diffusi) and `aft` (AFT–Casa di Comunità).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use bacino_batch::Parallel;
use bacino_core::{MetricName, ScenarioQuery};

use crate::{load, prepare_metric, Format};

#[derive(clap::Args)]
pub(crate) struct ScenarioArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// A plan file (JSON: cease, open, capacity, assign_unlisted,
    /// max_distance_m, max_time_s, metric, min_group_size); the flags below
    /// add to it (`--cease`) or override it.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Ids of the GPs that cease, comma-separated.
    #[arg(long, value_delimiter = ',')]
    cease: Vec<String>,
    /// Nobody is reassigned farther than this, metres (under car/foot: the
    /// route's length) [default: 30000].
    #[arg(long)]
    max_distance_m: Option<f64>,
    /// Nobody is reassigned with a longer travel time than this, seconds
    /// (car, foot, a table in seconds).
    #[arg(long)]
    max_time_s: Option<f64>,
    /// Also place residents of group `no_gp` (no `gp_id`) into spare capacity.
    #[arg(long)]
    assign_unlisted: bool,
    /// Aggregates over fewer people are suppressed [default: 10].
    #[arg(long)]
    min_group_size: Option<f64>,
    /// What is minimised: geodesic (total distance), car or foot (total
    /// travel time over the dataset's [network]), table (its [costs])
    /// [default: geodesic].
    #[arg(long)]
    metric: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct AftArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// Metric of the distances: geodesic, car, foot, table.
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// Distance groups with fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
}

#[derive(clap::Args)]
pub(crate) struct AdArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// week (ISO weeks) or month.
    #[arg(long, default_value = "week")]
    by: String,
    /// Metric of the distances: geodesic, car, foot, table.
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// Distance groups with fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Also match the people without a GP to each period's slots, optimally,
    /// within this distance (metres; route length under car/foot).
    #[arg(long)]
    match_max_m: Option<f64>,
    /// Output format (table: the slots per period).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

#[derive(clap::Args)]
pub(crate) struct CompareArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// Plan files (JSON, as for `scenario --plan`), each named by its file
    /// stem; repeat the flag. All under one metric.
    #[arg(long, required = true)]
    plan: Vec<PathBuf>,
    /// Aggregates over fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

/// Reads a plan file: errors name the file, line and column.
fn read_plan(path: &std::path::Path) -> anyhow::Result<ScenarioQuery> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read plan {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: line {}, column {}: expected a plan (cease, open, capacity, assign_unlisted, \
             max_distance_m, max_time_s, metric, min_group_size): {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

pub(crate) fn scenario(args: ScenarioArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let mut query = match &args.plan {
        Some(p) => read_plan(p)?,
        None => ScenarioQuery::default(),
    };
    let dataset = load(&args.dir)?;
    for id in args
        .cease
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        if !query.cease.iter().any(|c| c == id) {
            query.cease.push(id.to_owned());
        }
    }
    if let Some(m) = args.max_distance_m {
        query.max_distance_m = m;
    }
    if args.max_time_s.is_some() {
        query.max_time_s = args.max_time_s;
    }
    query.assign_unlisted |= args.assign_unlisted;
    if let Some(m) = args.min_group_size {
        query.min_group_size = m;
    }
    if let Some(m) = &args.metric {
        query.metric = m.parse()?;
    }
    prepare_metric(&dataset, query.metric)?;
    let t1 = std::time::Instant::now();
    let report = bacino_core::scenario(&dataset, &query, &Parallel)?;
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!("load {:?}, scenario {:?}", t1 - t0, t1.elapsed());
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn aft(args: AftArgs) -> anyhow::Result<()> {
    let metric: MetricName = args.metric.parse()?;
    let dataset = load(&args.dir)?;
    prepare_metric(&dataset, metric)?;
    let report = bacino_core::aft_report(&dataset, metric, args.min_group_size, &Parallel)?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn ad(args: AdArgs) -> anyhow::Result<()> {
    let query = bacino_core::AdQuery {
        by: args.by.parse()?,
        metric: args.metric.parse()?,
        min_group_size: args.min_group_size,
        match_max_m: args.match_max_m,
    };
    let dataset = load(&args.dir)?;
    prepare_metric(&dataset, query.metric)?;
    let report = bacino_core::ad_report(&dataset, &query, &Parallel)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "{:<10} {:>9} {:>8} {:>8} {:>9} {:>8} {:>12} {:>7} {:>7}",
                "period",
                "available",
                "booked",
                "free",
                "occupancy",
                "doctors",
                "reach med m",
                "seen",
                "unseen"
            )?;
            for p in &report.periods {
                let occ = p
                    .occupancy
                    .map_or("—".to_owned(), |o| format!("{:.1} %", o * 100.0));
                let reach = match &p.reach {
                    bacino_core::Figures::Stats(s) => format!("{:.0}", s.median_m),
                    bacino_core::Figures::Suppressed { .. } => "—".to_owned(),
                };
                let (seen, unseen) = p
                    .matching
                    .as_ref()
                    .map_or(("—".to_owned(), "—".to_owned()), |m| {
                        (m.seen.to_string(), m.unseen.to_string())
                    });
                writeln!(
                    out,
                    "{:<10} {:>9} {:>8} {:>8} {:>9} {:>8} {:>12} {:>7} {:>7}",
                    p.period,
                    p.slots_available,
                    p.slots_booked,
                    p.slots_free,
                    occ,
                    p.doctors_active,
                    reach,
                    seen,
                    unseen
                )?;
            }
        }
    }
    Ok(())
}

pub(crate) fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let mut plans = Vec::with_capacity(args.plan.len());
    for p in &args.plan {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string());
        plans.push((name, read_plan(p)?));
    }
    let dataset = load(&args.dir)?;
    if let Some((_, q)) = plans.first() {
        prepare_metric(&dataset, q.metric)?;
    }
    let doc = bacino_core::compare(&dataset, &plans, args.min_group_size, &Parallel)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => out.write_all(doc.to_table().as_bytes())?,
    }
    Ok(())
}
