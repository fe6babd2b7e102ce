//! `bacino`: patient–clinic distances and catchments for primary-care planning.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bacino_batch::Parallel;
use bacino_core::{
    distance_report, CatchmentOptions, Dataset, DistanceQuery, DistanceReport, FacilityKind,
    GroupBy, GroupStats, MetricName, Overrides, PreparedMode, PreparedOutcome, ResidentColumns,
    Shard, Target,
};
use clap::{Parser, Subcommand, ValueEnum};

mod access;
mod area_layer;
mod convert;
mod coverage;
mod merge;
mod out;
mod planning;
mod report;
mod serve;
mod site;

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
    /// Where prepared road graphs and prepared residents (`bacino
    /// prepare`) are kept (default: $BACINO_CACHE_DIR, else
    /// $XDG_CACHE_HOME/bacino, else ~/.cache/bacino).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Read every source every time: build road graphs from the extract
    /// and parse the residents, using no cache.
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Distance statistics from residents to facilities, as JSON on stdout.
    Stats(StatsArgs),
    /// Serve the HTTP API (no DIR: the bundled default dataset).
    Serve(serve::ServeArgs),
    /// Convert a dataset's source between formats by extension: residents
    /// and facilities (CSV, GeoJSON, GeoPackage, GeoParquet in; also
    /// FlatGeobuf out), areas (GeoJSON polygons); coordinates out in WGS84.
    Convert(convert::ConvertArgs),
    /// Print a new random access token and the `[[tokens]]` entry (its
    /// SHA-256 and role) for the serve settings file.
    Token(serve::TokenArgs),
    /// Accessibility indices (2SFCA family, spatial availability, gravity,
    /// RAAM) of a kind of facility, by group, as JSON.
    Access(Box<access::AccessArgs>),
    /// Coverage with capacities: the most people the facilities of a kind
    /// can take within reach (min-cost maximum flow, exact), or
    /// AccessMod's order-dependent procedure; by group, as JSON.
    Coverage(coverage::CoverageArgs),
    /// Siting: where to open p new sites (p-median, maximal covering,
    /// p-center) or the fewest covering everyone (set covering), solved
    /// with a proven bound; the chosen sites, new distances and a plan.
    Site(site::SiteArgs),
    /// Catchment polygons as GeoJSON (or, by the --out extension, FlatGeobuf, GeoPackage, GeoParquet).
    Catchments(CatchmentsArgs),
    /// A scenario plan (cessations, new GPs, raised caps, placing people
    /// without a GP): the optimal reassignment, as JSON on stdout.
    Scenario(planning::ScenarioArgs),
    /// Compares plans with the do-nothing baseline: placed, orphans, people
    /// without a GP after, distances of the moved and of everyone, GPs over
    /// 95 % of their cap.
    Compare(planning::CompareArgs),
    /// Ambulatori Diffusi: slots per ISO week or month from [agendas], and
    /// the distances of AD users beside those of listed patients, as JSON.
    Ad(planning::AdArgs),
    /// AFT–CdC: GPs grouped into AFT (the `aft` column, or each GP's nearest
    /// Casa di Comunità), with list sizes, spare room and patients' distances
    /// to the CdC, as JSON.
    Aft(planning::AftArgs),
    /// Travel-time isochrones of a kind of facility over the road network,
    /// with the people in each band, as GeoJSON.
    Isochrones(IsochronesArgs),
    /// The fastest route between two points over the dataset's road network,
    /// as a GeoJSON Feature (LineString) with duration_s and distance_m.
    Route(RouteArgs),
    /// A self-contained HTML report (maps and charts inline, the distance
    /// table by municipality) to mail or print to PDF.
    Report(report::ReportArgs),
    /// Runs a JSON Lines file of scenarios in parallel, writing OUTDIR/<name>/ and OUTDIR/index.json.
    ///
    /// Exits non-zero only when the dataset or the scenarios file cannot be read or
    /// OUTDIR cannot be written; a failing scenario is reported in index.json.
    Batch(BatchArgs),
    /// Prepares datasets for fast loading: their residents' columns are
    /// written to the cache directory, and read from there by every later
    /// load while the sources are unchanged (a changed source makes the
    /// next load parse them and write the file again); road graphs of a
    /// `[network]` are built and cached too.
    Prepare(PrepareArgs),
    /// Combines the parts of a sharded `stats` (`--shard I/N --out PART`)
    /// or `batch` (`--shard I/N`) run into the unsharded output, exactly.
    Merge(merge::MergeArgs),
}

#[derive(clap::Args)]
struct PrepareArgs {
    /// Dataset directories (with dataset.toml) or manifest files.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct IsochronesArgs {
    /// Dataset directory (with dataset.toml and a [network]) or manifest file.
    dir: PathBuf,
    /// car or foot.
    #[arg(long)]
    metric: String,
    /// Facility kind: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    #[arg(long)]
    kind: String,
    /// Only this facility.
    #[arg(long)]
    facility: Option<String>,
    /// Upper band edges in minutes.
    #[arg(long, default_value = "5,10,15")]
    minutes: String,
    /// One feature per band for the whole kind (time to the nearest).
    #[arg(long)]
    union: bool,
    /// H3 resolution of the drawing (default 10 on foot, 9 by car).
    #[arg(long)]
    resolution: Option<u8>,
    /// Bands with fewer people have their population suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Write the GeoJSON here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RouteArgs {
    /// Dataset directory (with dataset.toml and a [network]) or manifest file.
    dir: PathBuf,
    /// car or foot.
    #[arg(long, default_value = "car")]
    metric: String,
    /// Origin as LON,LAT (WGS84 degrees).
    #[arg(long, value_parser = parse_lonlat, allow_hyphen_values = true)]
    from: [f64; 2],
    /// Destination as LON,LAT.
    #[arg(long, value_parser = parse_lonlat, allow_hyphen_values = true)]
    to: [f64; 2],
}

fn parse_lonlat(s: &str) -> Result<[f64; 2], String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LON,LAT, found `{s}`"))?;
    let lon: f64 = a
        .trim()
        .parse()
        .map_err(|_| format!("expected a longitude, found `{a}`"))?;
    let lat: f64 = b
        .trim()
        .parse()
        .map_err(|_| format!("expected a latitude, found `{b}`"))?;
    if !(lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat))
    {
        return Err(format!("`{s}` is not a WGS84 longitude,latitude pair"));
    }
    Ok([lon, lat])
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
    /// Run only part I of N (1-based): the I-th, (N+I)-th, ... scenario
    /// lines, writing OUTDIR/index.part-I-of-N.json; `bacino merge` makes
    /// index.json of all parts.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
}

#[derive(Clone, Copy, ValueEnum)]
enum To {
    /// The facility in each resident's `gp_id`.
    Assigned,
    /// The nearest active facility of `--kind`.
    Nearest,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
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
    /// geodesic (metres), car or foot (seconds and route metres over the
    /// dataset's [network]), or table (the dataset's [costs]).
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Also write each resident's figures to this CSV
    /// (`resident_id,facility_id,distance_m[,duration_s]`): for whoever
    /// holds the data, to check or join them; never served over HTTP.
    #[arg(long)]
    per_resident: Option<PathBuf>,
    /// Also give each group's distribution: N + 1 quantiles from 0 to 100 %
    /// (`cdf_m`, and `cdf_s` under a network metric).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=100))]
    cdf: Option<u32>,
    /// Measure only part I of N of the residents (1-based, e.g. 2/8) and
    /// write it to `--out` for `bacino merge`, which prints this command's
    /// unsharded document exactly. The part holds per-resident values.
    #[arg(long, value_name = "I/N", requires = "out")]
    shard: Option<Shard>,
    /// With `--shard`: keep every value of this key in one part (`region`,
    /// `province`, `municipality`, `group`, `area` or any residents column);
    /// by default consecutive runs of rows.
    #[arg(long, value_name = "KEY", requires = "shard")]
    shard_by: Option<String>,
    /// The part file `--shard` writes.
    #[arg(long, value_name = "PART", requires = "shard")]
    out: Option<PathBuf>,
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
    /// Output file by extension: `.geojson`/`.json`, `.fgb`, `.gpkg`, `.parquet`; stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
    /// H3 resolution of `assigned` and `bands` cells, and of network
    /// `voronoi` (0-12; default 8, or under car 9 and foot 10).
    #[arg(long)]
    resolution: Option<u8>,
    /// geodesic, or car / foot: `voronoi` by the fastest facility over the
    /// dataset's road network.
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// Band edges in metres, comma-separated, for `bands`.
    #[arg(long, value_delimiter = ',', default_values_t = bacino_core::DEFAULT_BANDS_M)]
    bands: Vec<f64>,
    /// Groups with fewer people are suppressed; `assigned` draws no cell with fewer patients.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
}

/// The graph cache directory chosen on the command line.
static CACHE_DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cache = if cli.no_cache {
        None
    } else {
        cli.cache_dir
            .clone()
            .or_else(bacino_core::network::default_cache_dir)
    };
    let _ = CACHE_DIR.set(cache);
    if let Some(n) = cli.threads {
        if let Err(e) = bacino_batch::configure_threads(n) {
            eprintln!("error: --threads {n}: {e}");
            return ExitCode::from(2);
        }
    }
    // `BACINO_TIMINGS`: the phases of each load too (the library's spans,
    // one line each as it closes, with its time). The server logs its own.
    if std::env::var_os("BACINO_TIMINGS").is_some() && !matches!(cli.command, Command::Serve(_)) {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("bacino_core=debug"))
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_level(false)
            .with_ansi(false)
            .init();
    }
    let result = match cli.command {
        Command::Stats(args) => stats(args),
        Command::Serve(args) => serve::serve(args),
        Command::Convert(args) => convert::convert(args),
        Command::Token(args) => serve::token(args),
        Command::Catchments(args) => catchments(args),
        Command::Access(args) => access::access(*args),
        Command::Coverage(args) => coverage::coverage(args),
        Command::Site(args) => site::site(args),
        Command::Scenario(args) => planning::scenario(args),
        Command::Compare(args) => planning::compare(args),
        Command::Ad(args) => planning::ad(args),
        Command::Aft(args) => planning::aft(args),
        Command::Batch(args) => batch(args),
        Command::Merge(args) => merge::merge(args),
        Command::Prepare(args) => prepare(args),
        Command::Route(args) => route(args),
        Command::Isochrones(args) => isochrones(args),
        Command::Report(args) => report::report(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads a dataset, its residents from their prepared file when there is
/// a current one (saying so on stderr).
pub(crate) fn load(dir: &std::path::Path) -> anyhow::Result<Dataset> {
    load_columns(dir, &ResidentColumns::all())
}

/// [`load`], keeping at least the residents' `columns` (the others only
/// when they come from a prepared file, or one is written).
fn load_columns(dir: &std::path::Path, columns: &ResidentColumns) -> anyhow::Result<Dataset> {
    let cache = CACHE_DIR.get().cloned().flatten();
    let t = std::time::Instant::now();
    let prepared = cache.as_deref().map(|c| (c, PreparedMode::Use));
    let (mut d, outcome) = Dataset::load_columns(dir, &Parallel, prepared, columns)
        .with_context(|| format!("cannot load dataset {}", dir.display()))?;
    if cache.is_some() {
        log_prepared(&d.name, &outcome, t.elapsed());
    }
    d.set_cache_dir(cache);
    Ok(d)
}

/// Says on stderr what became of a dataset's prepared residents (nothing
/// when it has none, or with `BACINO_QUIET`).
fn log_prepared(dataset: &str, outcome: &PreparedOutcome, took: std::time::Duration) {
    if std::env::var_os("BACINO_QUIET").is_some() {
        return;
    }
    let how = match outcome {
        PreparedOutcome::Absent => return,
        PreparedOutcome::Read(p) => format!("read from {}", p.display()),
        PreparedOutcome::Written(p) => format!("prepared in {}", p.display()),
        PreparedOutcome::Refreshed { path, why } => {
            format!("prepared again in {} ({why})", path.display())
        }
        PreparedOutcome::NotWritten { path, why } => {
            format!("parsed; {} not written: {why}", path.display())
        }
    };
    eprintln!(
        "{dataset}: residents {how}; loaded in {:.2} s",
        took.as_secs_f64()
    );
}

/// `bacino prepare`: every dataset's residents written to the cache
/// directory, and its road graphs built there.
fn prepare(args: PrepareArgs) -> anyhow::Result<()> {
    let Some(cache) = CACHE_DIR.get().cloned().flatten() else {
        anyhow::bail!(
            "there is no cache directory to prepare into (--no-cache, or neither \
             --cache-dir, $BACINO_CACHE_DIR, $XDG_CACHE_HOME nor $HOME is set)"
        );
    };
    for dir in &args.dirs {
        let t = std::time::Instant::now();
        let (mut d, outcome) = Dataset::load_prepared(dir, &Parallel, &cache, PreparedMode::Write)
            .with_context(|| format!("cannot prepare dataset {}", dir.display()))?;
        d.set_cache_dir(Some(cache.clone()));
        let PreparedOutcome::Written(path) = &outcome else {
            anyhow::bail!("{}: the residents were not prepared", d.name);
        };
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{}: {} residents prepared in {} ({:.1} MB, version {}) in {:.2} s",
            d.name,
            d.residents().len(),
            path.display(),
            bytes as f64 / 1e6,
            d.version(),
            t.elapsed().as_secs_f64()
        );
        if let Some(specs) = d.network_specs() {
            let mut profiles: Vec<_> = specs.iter().map(|s| s.profile.name).collect();
            profiles.dedup();
            let t = std::time::Instant::now();
            for (p, outcome) in d
                .prepare_networks(&profiles, &Parallel)
                .with_context(|| format!("cannot prepare the road networks of {}", d.name))?
            {
                log_outcome(&d.name, p, &outcome, t.elapsed());
            }
        }
    }
    Ok(())
}

/// Prepares the road network a metric needs, logging how the graph was
/// obtained on stderr.
pub(crate) fn prepare_metric(dataset: &Dataset, metric: MetricName) -> anyhow::Result<()> {
    let Some(profile) = metric.profile() else {
        return Ok(());
    };
    if dataset.network_specs().is_none() {
        // Let the analysis report the missing [network] as it does over HTTP.
        return Ok(());
    }
    let t = std::time::Instant::now();
    for (p, outcome) in dataset
        .prepare_networks(&[profile], &Parallel)
        .with_context(|| format!("cannot prepare the {profile} network of {}", dataset.name))?
    {
        log_outcome(&dataset.name, p, &outcome, t.elapsed());
    }
    Ok(())
}

pub(crate) fn log_outcome(
    dataset: &str,
    profile: bacino_core::network::ProfileName,
    outcome: &bacino_core::network::CacheOutcome,
    took: std::time::Duration,
) {
    use bacino_core::network::CacheOutcome;
    if std::env::var_os("BACINO_QUIET").is_some() {
        return;
    }
    let how = match outcome {
        CacheOutcome::Hit(p) => format!("read from cache {}", p.display()),
        CacheOutcome::Built(p) => format!("built and cached in {}", p.display()),
        CacheOutcome::Rebuilt(p, why) => {
            format!("cache unusable ({why}); rebuilt into {}", p.display())
        }
        CacheOutcome::Uncached => "built (no cache)".to_owned(),
    };
    eprintln!(
        "{dataset}: {profile} network {how} in {:.2} s",
        took.as_secs_f64()
    );
}

fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let to = match args.to {
        To::Assigned => "assigned",
        To::Nearest => "nearest",
    };
    let target = Target::from_params(to, args.kind.as_deref())?;
    let group_by: GroupBy = args.group_by.as_deref().unwrap_or("all").parse()?;
    let metric: MetricName = args.metric.parse()?;
    let query = DistanceQuery {
        target,
        group_by,
        min_group_size: args.min_group_size,
        metric,
        cdf_steps: args.cdf.unwrap_or(0),
    };
    let shard_by: GroupBy = args.shard_by.as_deref().unwrap_or("all").parse()?;
    // Only the residents' columns the statistics read are kept (every
    // field is still checked): nationally 1 GB less without a grouping.
    let columns = match shard_by.residents_column() {
        Some(c) if args.shard.is_some() => query.columns().with(c),
        _ => query.columns(),
    };
    let t0 = std::time::Instant::now();
    let dataset = load_columns(&args.dir, &columns)?;
    let t1 = std::time::Instant::now();
    let load_peak = peak_rss();
    prepare_metric(&dataset, metric)?;
    if let Some(shard) = args.shard {
        let by = shard_by;
        let part = bacino_core::distance_part(&dataset, &query, shard, &by, &Parallel)?;
        let path = args
            .out
            .as_deref()
            .expect("clap requires --out with --shard");
        let mut bytes = Vec::new();
        part.write_to(&mut bytes)?;
        write_atomic(path, &bytes)?;
        if let Some(per) = &args.per_resident {
            let rows = bacino_core::shard_rows(&dataset, shard, &by, &Parallel)?;
            write_per_resident(&dataset, target, metric, Some(&rows), per)?;
        }
        eprintln!(
            "part {shard}: {} of {} residents written to {}",
            part.len(),
            dataset.residents().len(),
            path.display()
        );
        return Ok(());
    }
    let report = distance_report(&dataset, &query, &Parallel)?;
    if let Some(path) = &args.per_resident {
        write_per_resident(&dataset, target, metric, None, path)?;
    }
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!(
            "load {:?} (peak {} after it), report {:?} (peak {} after it)",
            t1 - t0,
            load_peak,
            t1.elapsed(),
            peak_rss()
        );
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&mut out, &report)?,
    }
    drop(out);
    dataset.free_with(&Parallel);
    Ok(())
}

/// The process's peak resident set so far (Linux `VmHWM`), for
/// `BACINO_TIMINGS`; `?` where unknown.
fn peak_rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map_or("?", |l| l[name.len()..].trim())
            .to_owned()
    };
    format!("{}, now {}", field("VmHWM:"), field("VmRSS:"))
}

/// Writes `path` through a temporary file beside it and a rename, so that
/// nobody reads a half-written file (a part copied before its process
/// ended, say).
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn catchments(args: CatchmentsArgs) -> anyhow::Result<()> {
    let kind: FacilityKind = args
        .kind
        .parse()
        .map_err(|m: String| bacino_core::Error::param("kind", m))?;
    let mut options = CatchmentOptions::new(kind, args.method.parse()?);
    let metric: MetricName = args.metric.parse()?;
    options.metric = metric;
    options.resolution = args
        .resolution
        .unwrap_or_else(|| bacino_core::default_resolution(metric));
    options.bands_m = args.bands;
    options.min_group_size = args.min_group_size;
    let t0 = std::time::Instant::now();
    let dataset = load(&args.dir)?;
    prepare_metric(&dataset, metric)?;
    let t1 = std::time::Instant::now();
    let result = bacino_core::catchments(&dataset, &options, Overrides::default(), &Parallel)?;
    let t2 = std::time::Instant::now();
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", result.to_geojson_string())?;
        }
        Some(path) => out::write(
            path,
            &format!("{}_{}_{}", result.dataset, result.kind, result.method),
            &result.to_geojson(),
            || result.to_geojson_string(),
        )?,
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
        shard: args.shard,
    };
    let index = bacino_batch::run_batch(&dataset, &text, &args.out, &options)?;
    let written = match args.shard {
        None => "index.json".to_owned(),
        Some(shard) => bacino_batch::index_part_name(shard),
    };
    eprintln!(
        "{} scenarios ok, {} failed; see {}",
        index.ok,
        index.errors,
        args.out.join(written).display()
    );
    Ok(())
}

fn isochrones(args: IsochronesArgs) -> anyhow::Result<()> {
    let metric: MetricName = args.metric.parse()?;
    let kind: FacilityKind = args.kind.parse().map_err(anyhow::Error::msg)?;
    let mut options = bacino_core::IsochroneOptions::new(kind);
    options.facility = args.facility;
    options.minutes = bacino_core::IsochroneOptions::parse_minutes(&args.minutes)?;
    options.union = args.union;
    options.resolution = args.resolution;
    options.min_group_size = args.min_group_size;
    let dataset = load(&args.dir)?;
    prepare_metric(&dataset, metric)?;
    let m = dataset.metric(metric, &Parallel)?;
    let drawn = bacino_core::isochrones(&dataset, &options, m, &Parallel)?;
    match &args.out {
        Some(path) => out::write(
            path,
            &format!("{}_isochrones", dataset.name),
            &drawn.to_geojson(),
            || drawn.to_geojson_string(),
        )?,
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", drawn.to_geojson_string())?;
        }
    }
    Ok(())
}

fn route(args: RouteArgs) -> anyhow::Result<()> {
    let metric: MetricName = args.metric.parse()?;
    let Some(_) = metric.profile() else {
        anyhow::bail!("--metric: a route needs a network metric (car or foot), found `{metric}`");
    };
    let dataset = load(&args.dir)?;
    if dataset.network_specs().is_none() {
        anyhow::bail!(
            "--metric {metric}: the dataset {} has no [network] section in its manifest",
            dataset.name
        );
    }
    prepare_metric(&dataset, metric)?;
    let prepared = dataset
        .prepared_network(metric.profile().expect("network metric"))
        .expect("prepared above");
    let net = prepared.network();
    let r = net.route(args.from, args.to)?;
    let doc = serde_json::json!({
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": r.coords.iter().map(|c| [round7(c[0]), round7(c[1])]).collect::<Vec<_>>(),
        },
        "properties": {
            "metric": metric.as_str(),
            "duration_s": r.cost.time_s(),
            "distance_m": r.cost.length_m(),
            "snap_m": [round_cm(r.snap_m[0]), round_cm(r.snap_m[1])],
            "network": net.info(),
        },
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    Ok(())
}

fn write_per_resident(
    dataset: &Dataset,
    target: Target,
    metric: MetricName,
    rows: Option<&[u32]>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let m = dataset.metric(metric, &Parallel)?;
    let d = bacino_core::resident_distances_of(dataset, target, m, rows, &Parallel)?;
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    let timed = d.time_s.is_some();
    writeln!(
        w,
        "resident_id,facility_id,distance_m{}",
        if timed { ",duration_s" } else { "" }
    )?;
    let f = dataset.facilities();
    for i in 0..d.distance_m.len() {
        let row = rows.map_or(i, |r| r[i] as usize);
        let fac = match d.facility[i] {
            bacino_core::NONE => "",
            x => f.get(x).id.0.as_str(),
        };
        let num = |x: f64| {
            if x.is_nan() {
                String::new()
            } else {
                format!("{x:.3}")
            }
        };
        write!(
            w,
            "{},{fac},{}",
            dataset.residents().id(row),
            num(d.distance_m[i])
        )?;
        if let Some(t) = &d.time_s {
            write!(w, ",{}", num(t[i]))?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    Ok(())
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn round_cm(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn write_table(out: &mut impl Write, r: &DistanceReport) -> std::io::Result<()> {
    let target = match r.kind {
        Some(k) => format!("nearest {k}"),
        None => "assigned facility".into(),
    };
    let seconds = r
        .costs
        .as_ref()
        .is_some_and(|c| c.unit == bacino_core::CostUnit::Seconds);
    let unit = if r.network.is_some() {
        "minutes of travel, then route km"
    } else if seconds {
        "seconds"
    } else {
        "metres"
    };
    writeln!(
        out,
        "{}: distance to {target} ({}, {unit})",
        r.dataset, r.metric
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
        match (g.summary(), g.time()) {
            (Some(s), Some(t)) => {
                let m = |x: f64| x / 60.0;
                writeln!(
                    out,
                    "{label:<28} {:>10} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                    s.count,
                    m(t.p25_s),
                    m(t.median_s),
                    m(t.p75_s),
                    m(t.p90_s),
                    m(t.mean_s),
                    m(t.max_s)
                )?;
                let k = |x: f64| x / 1000.0;
                writeln!(
                    out,
                    "{:<28} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                    "",
                    "km",
                    k(s.p25_m),
                    k(s.median_m),
                    k(s.p75_m),
                    k(s.p90_m),
                    k(s.mean_m),
                    k(s.max_m)
                )?
            }
            (Some(s), None) => writeln!(
                out,
                "{label:<28} {:>10} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
                s.count, s.p25_m, s.median_m, s.p75_m, s.p90_m, s.mean_m, s.max_m
            )?,
            _ => writeln!(out, "{label:<28} {:>10}", "suppressed")?,
        }
    }
    if let Some(u) = r.unreachable {
        writeln!(out, "unreachable over the network: {u} people")?;
    }
    if r.unmeasured > 0.0 {
        writeln!(out, "not measured (no assignment): {} people", r.unmeasured)?;
    }
    Ok(())
}
