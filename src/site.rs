//! `bacino site`: where to open the next sites — p-median, maximal
//! covering, set covering or p-center — solved with a proven bound.

use std::io::Write;
use std::path::PathBuf;

use bacino_batch::Parallel;
use bacino_siting::{export_costs, siting_report, CandidatesParam, SitingParams, SitingReport};

use crate::{load, prepare_metric};

#[derive(clap::Args)]
pub(crate) struct SiteArgs {
    /// Dataset directory (with dataset.toml) or manifest file.
    dir: PathBuf,
    /// pmedian, cpmedian, mclp, lscp, lscpb or pcenter.
    #[arg(long)]
    model: String,
    /// Candidate sites: a CSV `id,lon,lat[,capacity]`, `kind:K` (the
    /// active facilities of a kind) or `areas` (each area's population
    /// centre).
    #[arg(long)]
    candidates: String,
    /// `kind:K`: those facilities stay open; `p` more are placed.
    #[arg(long)]
    existing: Option<String>,
    /// New sites to place (all models but lscp; lscpb: default the least cover's).
    #[arg(long)]
    p: Option<usize>,
    /// Service distance in the metric's unit (mclp, lscp, lscpb).
    #[arg(long)]
    service_distance: Option<f64>,
    /// Capacity (people) of the candidate sites without their own
    /// (cpmedian).
    #[arg(long)]
    capacity: Option<u64>,
    /// geodesic (metres), car or foot (seconds over the dataset's
    /// [network]), or table (the dataset's [costs]).
    #[arg(long, default_value = "geodesic")]
    metric: String,
    /// Only residents of this group are demand (e.g. no_gp).
    #[arg(long)]
    demand_group: Option<String>,
    /// Demand at each resident (`residents`) or summed at each area's
    /// population centre (`areas`).
    #[arg(long, default_value = "residents")]
    demand: String,
    /// The kind the plan opens new sites as.
    #[arg(long, default_value = "gp")]
    site_kind: String,
    /// Stop at this relative gap (pmedian; default 1e-12).
    #[arg(long)]
    gap: Option<f64>,
    /// Seconds before returning the best solution with its honest gap.
    #[arg(long)]
    time_limit: Option<f64>,
    /// A site's served population under this is suppressed.
    #[arg(long, default_value_t = bacino_core::DEFAULT_MIN_GROUP_SIZE)]
    min_group_size: f64,
    /// Demand × site pairs above which a resident-level p-median keeps
    /// each resident's nearer sites only (the bound stays proven).
    #[arg(long, default_value_t = bacino_siting::report::MAX_PAIRS)]
    max_pairs: u64,
    /// Also write the instance (`demand,weight,site,existing,cost`, one
    /// line per pair in reach) here, to run another solver on it.
    #[arg(long)]
    export_costs: Option<PathBuf>,
    /// Also write the chosen sites as points here (by extension: .geojson, .fgb, .gpkg, .parquet).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn site(args: SiteArgs) -> anyhow::Result<()> {
    let params = SitingParams {
        model: Some(args.model),
        candidates: Some(CandidatesParam::Named(args.candidates)),
        existing: args.existing,
        p: args.p,
        service_distance: args.service_distance,
        capacity: args.capacity,
        metric: Some(args.metric),
        demand_group: args.demand_group,
        demand: Some(args.demand),
        site_kind: Some(args.site_kind),
        gap: args.gap,
        time_limit_s: args.time_limit,
        min_group_size: None,
        max_pairs: Some(args.max_pairs),
    };
    let query = params.to_query(args.min_group_size, true)?;
    let dataset = load(&args.dir)?;
    prepare_metric(&dataset, query.metric)?;
    if let Some(path) = &args.export_costs {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?,
        );
        export_costs(&dataset, &query, &Parallel, &mut f)?;
        f.flush()?;
    }
    let report = siting_report(&dataset, &query, &Parallel)?;
    if let Some(path) = &args.out {
        let sites = sites_geojson(&report);
        let features: geojson::FeatureCollection = serde_json::from_value(sites.clone())?;
        crate::out::write(path, &format!("{}_sites", dataset.name), &features, || {
            serde_json::to_string_pretty(&sites).unwrap_or_default()
        })?;
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}

/// The chosen sites as an RFC 7946 FeatureCollection of points.
pub(crate) fn sites_geojson(r: &SitingReport) -> serde_json::Value {
    let features: Vec<serde_json::Value> = r
        .sites
        .iter()
        .map(|s| {
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "id": s.id,
                    "model": r.model,
                    "served": s.served,
                    format!("mean_cost_{}", r.unit): s.mean_cost,
                },
            })
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features})
}
