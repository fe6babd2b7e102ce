//! `bacino coverage`: how many people the facilities can take within
//! reach, given their capacities — exactly, or by AccessMod's procedure.

use std::io::Write;
use std::path::PathBuf;

use bacino_access::coverage::CoverageGroup;
use bacino_access::{coverage_report, CoverageParams, CoverageReport};
use bacino_batch::Parallel;

use crate::{load, prepare_metric};

#[derive(clap::Args)]
pub(crate) struct CoverageArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// Facility kind covering: gp, pediatrician, cdc, odc, cot, pharmacy, ad.
    #[arg(long)]
    kind: String,
    /// Reach, inclusive, in the metric's unit (metres; seconds for car/foot).
    #[arg(long, allow_hyphen_values = true)]
    max_cost: String,
    /// geodesic (metres), car or foot (seconds over the dataset's
    /// [network]), or table (the dataset's [costs]).
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// A facility's room: capacity (its `capacity`) or spare (capacity −
    /// list size).
    #[arg(long, default_value = "capacity")]
    supply: String,
    /// AccessMod 5's order-dependent procedure instead of the optimum.
    #[arg(long)]
    accessmod: bool,
    /// AccessMod's facility order: population (people in reach), capacity,
    /// spare, list_size, id, or column:NAME (any other column of the
    /// facilities file: by number, or by text when a value is not one),
    /// each with `:asc` or `:desc`; or random:SEED. Default population:desc.
    #[arg(long, requires = "accessmod")]
    order: Option<String>,
    /// Group residents by `group`, `municipality`, `area` or any residents column.
    #[arg(long)]
    group_by: Option<String>,
    /// Groups (and a facility's count) with fewer people are suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Output format: json or table.
    #[arg(long, default_value = "json")]
    format: String,
    /// Also write the areas with their coverage: FlatGeobuf for `.fgb`,
    /// GeoJSON otherwise (groups by area).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn coverage(args: CoverageArgs) -> anyhow::Result<()> {
    let params = CoverageParams {
        kind: Some(args.kind),
        max_cost: Some(args.max_cost),
        metric: Some(args.metric),
        supply: Some(args.supply),
        mode: Some(
            if args.accessmod {
                "accessmod"
            } else {
                "optimal"
            }
            .to_owned(),
        ),
        order: args.order,
        group_by: crate::access::area_grouping(args.group_by, args.out.is_some())?,
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
    let report = coverage_report(&dataset, &query, &Parallel)?;
    if std::env::var_os("BACINO_TIMINGS").is_some() {
        eprintln!("load {:?}, coverage {:?}", t1 - t0, t1.elapsed());
    }
    if let Some(path) = &args.out {
        let groups = serde_json::to_value(&report.groups)?;
        crate::area_layer::write(
            &dataset,
            &format!(
                "{}-coverage-{}-{}",
                report.dataset, report.kind, report.mode
            ),
            &[
                ("population", true),
                ("covered", true),
                ("coverage", true),
                ("out_of_reach", true),
                ("mean_cost", true),
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

fn write_table(out: &mut impl Write, r: &CoverageReport) -> std::io::Result<()> {
    let how = match &r.order {
        Some(o) => format!("accessmod, order {o}"),
        None => "optimal".to_owned(),
    };
    writeln!(
        out,
        "{} within {} {} ({}, {how}): {} of {} covered ({:.2} %), {} out of reach, {} places left",
        r.kind,
        r.max_cost,
        r.unit,
        r.metric,
        r.covered,
        r.demand_total,
        100.0 * r.coverage,
        r.out_of_reach,
        r.room_left
    )?;
    writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>9} {:>12} {:>12}",
        "group", "population", "covered", "share", "out_of_reach", "mean_cost"
    )?;
    for g in &r.groups {
        match g {
            CoverageGroup::Stats {
                key,
                population,
                covered,
                out_of_reach,
                mean_cost,
                ..
            } => writeln!(
                out,
                "{:<24} {:>10} {:>10} {:>8.2}% {:>12} {:>12}",
                key.as_deref().unwrap_or("(none)"),
                population,
                covered,
                100.0 * *covered as f64 / *population as f64,
                out_of_reach,
                mean_cost.map_or("-".to_owned(), |c| format!("{c:.1}"))
            )?,
            CoverageGroup::Suppressed { key, .. } => writeln!(
                out,
                "{:<24} {:>10}",
                key.as_deref().unwrap_or("(none)"),
                "suppressed"
            )?,
        }
    }
    Ok(())
}
