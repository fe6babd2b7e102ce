//! `bacino`: patient–clinic distances and catchments for primary-care planning.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bacino_batch::Parallel;
use bacino_core::{
    distance_report, CatchmentOptions, Dataset, DistanceQuery, DistanceReport, FacilityKind,
    GroupBy, GroupStats, Overrides, ScenarioQuery, Target,
};
use clap::{Parser, Subcommand, ValueEnum};

#[cfg(feature = "flatgeobuf")]
mod fgb;
mod serve;

#[derive(Parser)]
#[command(
    name = "bacino",
    version,
    about = "Patient–clinic distance and catchment analysis"
)]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Distance statistics from residents to facilities, as JSON on stdout.
    Stats(StatsArgs),
    /// Serve the HTTP API (no DIR: the bundled default dataset).
    Serve(serve::ServeArgs),
    /// Catchment polygons as GeoJSON (or FlatGeobuf for a `.fgb` --out).
    Catchments(CatchmentsArgs),
    /// GP cessation: optimal reassignment of the ceasing GPs' patients, as JSON on stdout.
    Scenario(ScenarioArgs),
    /// Runs a JSON Lines file of scenarios in parallel, writing OUTDIR/<name>/ and OUTDIR/index.json.
    ///
    /// Exits non-zero only when the dataset or the scenarios file cannot be read or
    /// OUTDIR cannot be written; a failing scenario is reported in index.json.
    Batch(BatchArgs),
}

#[derive(clap::Args)]
struct BatchArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// JSON Lines file, one scenario per line.
    #[arg(long)]
    scenarios: PathBuf,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Method of each scenario's `catchments.geojson` (GP catchments after
    /// the change): voronoi, assigned, bands, or none for no file.
    #[arg(long, default_value = "assigned")]
    catchments: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum To {
    /// The facility in each resident's `gp_id`.
    Assigned,
    /// The nearest active facility of `--kind`.
    Nearest,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The JSON document of the HTTP API.
    Json,
    /// An aligned table for people.
    Table,
}

#[derive(clap::Args)]
struct StatsArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// What to measure to.
    #[arg(long, value_enum)]
    to: To,
    /// Facility kind for `--to nearest`: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    #[arg(long)]
    kind: Option<String>,
    /// Group residents by `group`, `municipality`, `area`, `facility` or any residents column.
    #[arg(long)]
    group_by: Option<String>,
    /// Groups with fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

#[derive(clap::Args)]
struct CatchmentsArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// Facility kind: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    #[arg(long)]
    kind: String,
    /// voronoi (nearest-facility cells), assigned (where listed patients
    /// live) or bands (distance bands to the nearest facility).
    #[arg(long, default_value = "voronoi")]
    method: String,
    /// Output file (`.geojson`/`.json`, or `.fgb` for FlatGeobuf); stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
    /// H3 resolution of `assigned` and `bands` cells (0-12).
    #[arg(long, default_value_t = bacino_core::DEFAULT_RESOLUTION)]
    resolution: u8,
    /// Band edges in metres, comma-separated, for `bands`.
    #[arg(long, value_delimiter = ',', default_values_t = bacino_core::DEFAULT_BANDS_M)]
    bands: Vec<f64>,
    /// Groups with fewer people are suppressed; `assigned` draws no cell with fewer patients.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
}

#[derive(clap::Args)]
struct ScenarioArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// Ids of the GPs that cease, comma-separated.
    #[arg(long, value_delimiter = ',')]
    cease: Vec<String>,
    /// Nobody is reassigned farther than this, metres.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MAX_DISTANCE_M)]
    max_distance_m: f64,
    /// Also place residents of group `no_gp` (no `gp_id`) into spare capacity.
    #[arg(long)]
    assign_unlisted: bool,
    /// Aggregates over fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = bacino_batch::configure_threads(n) {
            eprintln!("error: --threads {n}: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Stats(args) => stats(args),
        Command::Serve(args) => serve::serve(args),
        Command::Catchments(args) => catchments(args),
        Command::Scenario(args) => scenario(args),
        Command::Batch(args) => batch(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn load(dir: &std::path::Path) -> anyhow::Result<Dataset> {
    Dataset::load_with(dir, &Parallel)
        .with_context(|| format!("cannot load dataset {}", dir.display()))
}

fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let to = match args.to {
        To::Assigned => "assigned",
        To::Nearest => "nearest",
    };
    let target = Target::from_params(to, args.kind.as_deref())?;
    let group_by: GroupBy = args.group_by.as_deref().unwrap_or("all").parse()?;
    let t0 = std::time::Instant::now();
    let dataset = load(&args.dir)?;
    let t1 = std::time::Instant::now();
    let query = DistanceQuery {
        target,
        group_by,
        min_group_size: args.min_group_size,
    };
    let report = distance_report(&dataset, &query, &Parallel)?;
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!("load {:?}, report {:?}", t1 - t0, t1.elapsed());
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&mut out, &report)?,
    }
    Ok(())
}

fn catchments(args: CatchmentsArgs) -> anyhow::Result<()> {
    let kind: FacilityKind = args
        .kind
        .parse()
        .map_err(|m: String| bacino_core::Error::param("kind", m))?;
    let mut options = CatchmentOptions::new(kind, args.method.parse()?);
    options.resolution = args.resolution;
    options.bands_m = args.bands;
    options.min_group_size = args.min_group_size;
    let t0 = std::time::Instant::now();
    let dataset = load(&args.dir)?;
    let t1 = std::time::Instant::now();
    let result = bacino_core::catchments(&dataset, &options, Overrides::default(), &Parallel)?;
    let t2 = std::time::Instant::now();
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", result.to_geojson_string())?;
        }
        Some(path) if is_fgb(path) => write_fgb(&result, path)?,
        Some(path) => std::fs::write(path, result.to_geojson_string() + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!(
            "load {:?}, catchments {:?}, write {:?}",
            t1 - t0,
            t2 - t1,
            t2.elapsed()
        );
    }
    Ok(())
}

fn is_fgb(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("fgb"))
}

#[cfg(feature = "flatgeobuf")]
fn write_fgb(result: &bacino_core::Catchments, path: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    fgb::write(result, std::io::BufWriter::new(file))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(not(feature = "flatgeobuf"))]
fn write_fgb(_: &bacino_core::Catchments, path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "{}: this build has no FlatGeobuf support (feature `flatgeobuf`)",
        path.display()
    )
}

fn scenario(args: ScenarioArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let dataset = load(&args.dir)?;
    let t1 = std::time::Instant::now();
    let query = ScenarioQuery {
        cease: args
            .cease
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        max_distance_m: args.max_distance_m,
        assign_unlisted: args.assign_unlisted,
        min_group_size: args.min_group_size,
    };
    let report = bacino_core::scenario(&dataset, &query, &Parallel)?;
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!("load {:?}, scenario {:?}", t1 - t0, t1.elapsed());
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}

fn batch(args: BatchArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let text = std::fs::read_to_string(&args.scenarios)
        .with_context(|| format!("cannot read scenarios file {}", args.scenarios.display()))?;
    let dataset = load(&args.dir)?;
    let catchments = match args.catchments.as_str() {
        "none" => None,
        m => Some(m.parse::<bacino_core::CatchmentMethod>()?),
    };
    let options = bacino_batch::BatchOptions {
        catchments,
        progress: std::io::stderr().is_terminal(),
    };
    let index = bacino_batch::run_batch(&dataset, &text, &args.out, &options)?;
    eprintln!(
        "{} scenarios ok, {} failed; see {}",
        index.ok,
        index.errors,
        args.out.join("index.json").display()
    );
    Ok(())
}

fn write_table(out: &mut impl Write, r: &DistanceReport) -> std::io::Result<()> {
    let target = match r.kind {
        Some(k) => format!("nearest {k}"),
        None => "assigned facility".into(),
    };
    writeln!(
        out,
        "{}: distance to {target} (geodesic, metres)",
        r.dataset
    )?;
    writeln!(
        out,
        "{:<28} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "group", "people", "p25", "median", "p75", "p90", "mean", "max"
    )?;
    for g in &r.groups {
        let label = match g {
            GroupStats::Stats { key, name, .. } | GroupStats::Suppressed { key, name, .. } => {
                match (key, name) {
                    (Some(k), Some(n)) => format!("{k} {n}"),
                    (Some(k), None) => k.clone(),
                    (None, _) => "(none)".into(),
                }
            }
        };
        let label: String = label.chars().take(28).collect();
        match g.summary() {
            Some(s) => writeln!(
                out,
                "{label:<28} {:>10} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
                s.count, s.p25_m, s.median_m, s.p75_m, s.p90_m, s.mean_m, s.max_m
            )?,
            None => writeln!(out, "{label:<28} {:>10}", "suppressed")?,
        }
    }
    if r.unmeasured > 0.0 {
        writeln!(out, "not measured (no assignment): {} people", r.unmeasured)?;
    }
    Ok(())
}
