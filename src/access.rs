//! `bacino access`: accessibility indices by group (CONTRACT §6).

use std::io::Write;
use std::path::PathBuf;

use bacino_access::{access_report, AccessGroup, AccessParams, AccessReport};
use bacino_batch::Parallel;

use crate::{load, prepare_metric};

#[derive(clap::Args)]
pub(crate) struct AccessArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// Facility kind offering the supply: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    #[arg(long)]
    kind: String,
    /// 2sfca, e2sfca, g2sfca, 3sfca, bfca, sa, huff, gravity or raam.
    #[arg(long)]
    method: String,
    /// Reach, inclusive, in the metric's unit (metres; seconds for car/foot).
    #[arg(long)]
    max_cost: String,
    /// geodesic (metres), car or foot (seconds over the dataset's
    /// [network]), or table (the dataset's [costs]).
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// What a facility offers: capacity (its `capacity`), spare
    /// (capacity − list size) or one.
    #[arg(long, default_value = "capacity")]
    supply: String,
    /// Step decay: `THRESHOLD:WEIGHT,…`, the weight of the smallest
    /// threshold ≥ cost, 0 beyond the last (E2SFCA's default: 1, 0.68,
    /// 0.22 at a third, two thirds and all of max-cost).
    #[arg(long)]
    weights: Option<String>,
    /// Gaussian decay exp(−c²/2σ²), σ in the metric's unit.
    #[arg(long, value_name = "SIGMA")]
    gaussian: Option<String>,
    /// Gravity decay (max(c, MIN)/SCALE)^ALPHA, PySAL's form: ALPHA ≤ 0
    /// (−1 is inverse distance).
    #[arg(long, value_name = "ALPHA,SCALE,MIN", allow_hyphen_values = true)]
    gravity: Option<String>,
    /// Logistic decay 1/(1 + exp((c − MID)/WIDTH)).
    #[arg(long, value_name = "MID,WIDTH")]
    logistic: Option<String>,
    /// 3SFCA selection weights normalised over the facilities in reach
    /// (`in_reach`, Wan et al., the default) or over every facility before
    /// the cut-off (`all_pairs`, PySAL's three_stage_fca).
    #[arg(long)]
    selection: Option<String>,
    /// RAAM: travel cost weighing as much as one unit of congestion
    /// (default 3600 s, or 60000 m).
    #[arg(long)]
    tau: Option<String>,
    /// RAAM: people per unit of supply counted as one unit of congestion
    /// (default total demand / total supply).
    #[arg(long)]
    rho: Option<String>,
    /// Group residents by `group`, `municipality`, `area` or any residents column.
    #[arg(long)]
    group_by: Option<String>,
    /// Groups with fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Output format: json or table.
    #[arg(long, default_value = "json")]
    format: String,
    /// Also write the areas with their scores: FlatGeobuf for `.fgb`,
    /// GeoJSON otherwise (groups by area).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn access(args: AccessArgs) -> anyhow::Result<()> {
    let params = AccessParams {
        kind: Some(args.kind),
        method: Some(args.method),
        max_cost: Some(args.max_cost),
        metric: Some(args.metric),
        supply: Some(args.supply),
        weights: args.weights,
        gaussian: args.gaussian,
        gravity: args.gravity,
        logistic: args.logistic,
        selection: args.selection,
        tau: args.tau,
        rho: args.rho,
        group_by: area_grouping(args.group_by, args.out.is_some())?,
    };
    let query = params.to_query(args.min_group_size)?;
    if args.format != "json" && args.format != "table" {
        anyhow::bail!(
            "--format: expected `json` or `table`, found `{}`",
            args.format
        );
    }
    let t0 = std::time::Instant::now();
    let dataset = load(&args.dir)?;
    prepare_metric(&dataset, query.metric)?;
    let t1 = std::time::Instant::now();
    let report = access_report(&dataset, &query, &Parallel)?;
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!("load {:?}, access {:?}", t1 - t0, t1.elapsed());
    }
    if let Some(path) = &args.out {
        let groups = serde_json::to_value(&report.groups)?;
        crate::area_layer::write(
            &dataset,
            &format!(
                "{}-access-{}-{}",
                report.dataset, report.kind, report.method
            ),
            &[
                ("population", true),
                ("access", true),
                ("access_norm", true),
                ("unreached", true),
                ("allotted", true),
            ],
            groups.as_array().map_or(&[][..], Vec::as_slice),
            path,
        )?;
    }
    let mut out = std::io::stdout().lock();
    if args.format == "table" {
        write_table(&mut out, &report)?;
    } else {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    Ok(())
}

/// `--group-by` as given, or `area` when an area layer is asked for (any
/// other grouping with `--out` is refused).
pub(crate) fn area_grouping(group_by: Option<String>, out: bool) -> anyhow::Result<Option<String>> {
    match (group_by, out) {
        (g, false) => Ok(g),
        (None, true) => Ok(Some("area".to_owned())),
        (Some(g), true) if g == "area" => Ok(Some(g)),
        (Some(g), true) => anyhow::bail!(
            "--out writes one feature per area: use --group-by area (or leave it out), not `{g}`"
        ),
    }
}

fn write_table(out: &mut impl Write, r: &AccessReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{} to {} within {} {} ({}): mean {:.6}, unreached {}",
        r.method, r.kind, r.max_cost, r.unit, r.metric, r.mean, r.unreached
    )?;
    writeln!(
        out,
        "{:<24} {:>10} {:>14} {:>12}",
        "group", "population", "access", "access_norm"
    )?;
    for g in &r.groups {
        match g {
            AccessGroup::Stats {
                key,
                population,
                access,
                access_norm,
                ..
            } => writeln!(
                out,
                "{:<24} {:>10} {:>14.6} {:>12.4}",
                key.as_deref().unwrap_or("(none)"),
                population,
                access,
                access_norm
            )?,
            AccessGroup::Suppressed { key, .. } => writeln!(
                out,
                "{:<24} {:>10}",
                key.as_deref().unwrap_or("(none)"),
                "suppressed"
            )?,
        }
    }
    Ok(())
}
