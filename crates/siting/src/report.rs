//! Siting on a dataset (CONTRACT §7): the demand (residents, or their
//! areas), the candidate sites (a CSV, the facilities of a kind, or the
//! areas), the existing sites, the costs under the dataset's metric, the
//! model solved, and a document with the proof, the sites, the new
//! distances and the scenario plan that opens the sites.
//!
//! Only aggregates leave: a site's served population under
//! `min_group_size` is suppressed, and the new distances are statistics
//! over the demand.

use std::time::{Duration, Instant};

use bacino_core::network::NetworkInfo;
use bacino_core::{
    CostsInfo, Dataset, Error, Executor, FacilityIdx, FacilityKind, Metric, MetricName,
    OpenFacility, Result, Summary,
};
use serde::Serialize;

use crate::demand::{cost_rows, demand, nearest_open, Demand};
use crate::{
    cpmedian, lscp, lscpb, mclp, pcenter, pmedian, CpmedianParams, Instance, LscpParams,
    LscpbParams, MclpParams, PcenterParams, PmedianParams, SitingError, Solution, Sum,
};

/// A location-allocation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Least weighted cost with `p` new sites.
    Pmedian,
    /// Most weight within the service distance with `p` new sites.
    Mclp,
    /// Fewest new sites covering everyone within the service distance.
    Lscp,
    /// As many new sites as the least cover (or `p`), covering everyone
    /// and the most weight twice (backup coverage).
    Lscpb,
    /// Least largest cost with `p` new sites.
    Pcenter,
    /// Least weighted cost with `p` new sites, each serving at most its
    /// capacity (people split across sites as needed).
    Cpmedian,
}

impl Model {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Pmedian => "pmedian",
            Model::Mclp => "mclp",
            Model::Lscp => "lscp",
            Model::Lscpb => "lscpb",
            Model::Pcenter => "pcenter",
            Model::Cpmedian => "cpmedian",
        }
    }
}

impl std::str::FromStr for Model {
    type Err = Error;

    fn from_str(s: &str) -> Result<Model> {
        match s.trim() {
            "pmedian" => Ok(Model::Pmedian),
            "mclp" => Ok(Model::Mclp),
            "lscp" => Ok(Model::Lscp),
            "lscpb" => Ok(Model::Lscpb),
            "pcenter" => Ok(Model::Pcenter),
            "cpmedian" => Ok(Model::Cpmedian),
            other => Err(Error::param(
                "model",
                format!(
                    "expected pmedian, cpmedian, mclp, lscp, lscpb or pcenter, found `{other}`"
                ),
            )),
        }
    }
}

/// Where the candidate sites come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidates {
    /// The active facilities of a kind.
    Kind(FacilityKind),
    /// Given points (`id,lon,lat[,capacity]`).
    Points(Vec<OpenFacility>),
    /// The areas' demand points (each area's population centre; only
    /// areas of at least `min_group_size` people, since the sites chosen
    /// are output).
    Areas,
}

/// Where the demand sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandAt {
    /// Each resident at its point, with its weight.
    Residents,
    /// The residents of each area summed at the area's population centre
    /// (the weighted mean of their points).
    Areas,
}

/// A siting request.
#[derive(Debug, Clone)]
pub struct SitingQuery {
    /// The model.
    pub model: Model,
    /// Candidate sites.
    pub candidates: Candidates,
    /// Facilities of this kind stay open (not counted in `p`).
    pub existing: Option<FacilityKind>,
    /// New sites (pmedian, cpmedian, mclp, pcenter; lscpb: default the
    /// least cover's).
    pub p: Option<usize>,
    /// Service distance in the metric's unit (mclp, lscp, lscpb).
    pub service: Option<f64>,
    /// Capacity of the candidate sites that have none of their own
    /// (cpmedian).
    pub capacity: Option<u64>,
    /// The metric.
    pub metric: MetricName,
    /// Only residents of this `group` are demand (e.g. `no_gp`).
    pub group: Option<String>,
    /// Residents or areas.
    pub demand_at: DemandAt,
    /// The kind the plan opens new sites as.
    pub site_kind: FacilityKind,
    /// Stop at this relative gap (pmedian; default 1e-12).
    pub gap: Option<f64>,
    /// Return the best solution with its gap after this long.
    pub time_limit: Option<Duration>,
    /// Privacy threshold.
    pub min_group_size: f64,
    /// Above this many demand × site pairs, a geodesic p-median at
    /// resident level keeps each resident's nearer sites only (truncated
    /// rows: the bound stays proven, see `truncate`).
    pub max_pairs: u64,
}

/// Pairs above which a resident-level p-median truncates its rows.
pub const MAX_PAIRS: u64 = 20_000_000;

/// The instance a siting run solved.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceDoc {
    /// Demand × site pairs stored.
    pub pairs: usize,
    /// True when rows list each demand point's nearer sites only, with a
    /// lower bound on the rest (resident-level p-median).
    pub truncated: bool,
}

/// The demand of a siting run.
#[derive(Debug, Clone, Serialize)]
pub struct DemandDoc {
    /// `residents` or `areas`.
    pub at: &'static str,
    /// The residents' group, when restricted.
    pub group: Option<String>,
    /// Demand points.
    pub points: usize,
    /// People.
    pub people: f64,
    /// People out of reach of every candidate and existing site.
    pub unreachable: f64,
}

/// A chosen site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteDoc {
    /// Candidate id.
    pub id: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// People whose nearest open site it is (covered by it first, for the
    /// covering models); `null` under `min_group_size`.
    pub served: Option<f64>,
    /// Their mean cost, in the metric's unit; `null` when suppressed.
    pub mean_cost: Option<f64>,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct SitingReport {
    /// Model.
    pub model: &'static str,
    /// Metric.
    pub metric: &'static str,
    /// `m` or `s`.
    pub unit: &'static str,
    /// New sites (`null` for lscp; for lscpb the number opened).
    pub p: Option<usize>,
    /// Service distance (mclp, lscp, lscpb).
    pub service_distance: Option<f64>,
    /// pmedian: Σ weight × cost; mclp: weight covered; lscp: sites
    /// opened; lscpb: weight covered twice; pcenter: the largest cost.
    pub objective: f64,
    /// A proven bound on the optimum.
    pub bound: f64,
    /// `|objective − bound| / |objective|`.
    pub gap: f64,
    /// True when the gap is within rounding: the objective is optimal.
    pub proven: bool,
    /// Chosen candidate ids, ascending.
    pub selected: Vec<String>,
    /// Weight within the service distance of an open site (mclp, lscp,
    /// lscpb).
    pub covered: Option<f64>,
    /// Weight within the service distance of two open sites or more
    /// (mclp, lscp, lscpb).
    pub covered_twice: Option<f64>,
    /// Demand's cost to its nearest open site (existing and new), in the
    /// unit the field names; `null` under `min_group_size`.
    pub new_distance: Option<serde_json::Value>,
    /// The demand.
    pub demand: DemandDoc,
    /// Candidate sites considered.
    pub candidates: usize,
    /// The instance solved.
    pub instance: InstanceDoc,
    /// Existing sites kept open.
    pub existing: usize,
    /// The chosen sites.
    pub sites: Vec<SiteDoc>,
    /// A scenario plan opening the chosen sites (`null` when the
    /// candidates are facilities of the dataset already).
    pub plan: Option<serde_json::Value>,
    /// Branch-and-bound nodes.
    pub nodes: u64,
    /// Bound iterations.
    pub iterations: u64,
    /// Solver time in seconds.
    pub solve_s: f64,
    /// The extract, under `car`/`foot`.
    pub network: Option<NetworkInfo>,
    /// The cost table, under `table`.
    pub costs: Option<CostsInfo>,
    /// Suppression threshold.
    pub min_group_size: f64,
}

fn siting_error(e: SitingError) -> Error {
    match e {
        SitingError::BadP { p, message } => Error::param("p", format!("{p}: {message}")),
        SitingError::Infeasible(m) => Error::Unavailable(format!("infeasible: {m}")),
    }
}

/// The demand, the sites (candidates first, then the existing ones) and
/// the instance's cost rows.
struct Prepared {
    derived: Option<Dataset>,
    dem: Demand,
    members: Vec<FacilityIdx>,
    existing_members: Vec<FacilityIdx>,
    columns: Vec<FacilityIdx>,
    existing_cols: Vec<u32>,
    inst: Instance,
    reach: f64,
    unreachable: f64,
    /// A first solution and multipliers (truncated rows).
    start: Option<(Vec<u32>, Vec<f64>, Duration)>,
    truncated: bool,
}

fn prepare<E: Executor>(
    dataset: &Dataset,
    q: &SitingQuery,
    service: Option<f64>,
    exec: &E,
) -> Result<Prepared> {
    // The candidates become facilities of a derived dataset, so that every
    // metric (network snaps, cost tables) treats them as it treats any.
    let dem = demand(dataset, q, exec)?;
    let (derived, members): (Option<Dataset>, Vec<FacilityIdx>) = match &q.candidates {
        Candidates::Kind(k) => {
            let m = dataset.facilities().active_of_kind(*k);
            if m.is_empty() {
                return Err(Error::param(
                    "candidates",
                    format!("the dataset has no active `{k}` facility"),
                ));
            }
            (None, m)
        }
        Candidates::Points(list) => {
            let d = dataset
                .with_levers(list, &Default::default())
                .map_err(|e| match e {
                    Error::InvalidParameter { message, .. } => Error::param("candidates", message),
                    e => e,
                })?;
            let base = dataset.facilities().len() as u32;
            (Some(d), (base..base + list.len() as u32).collect())
        }
        Candidates::Areas => {
            let areas = dataset.areas().ok_or_else(|| {
                Error::param(
                    "candidates",
                    "`areas` needs the dataset's areas: the manifest has none",
                )
            })?;
            let centres = demand(
                dataset,
                &SitingQuery {
                    demand_at: DemandAt::Areas,
                    group: None,
                    ..q.clone()
                },
                exec,
            )?;
            let of = dataset.resident_areas(exec);
            let mut list = Vec::new();
            let mut seen = vec![false; areas.len()];
            for &r in &centres.rows {
                let a = of[r] as usize;
                // A centre leaves in the output (the sites, the plan): only
                // that of an area of at least `min_group_size` people.
                let k = centres.of_row[r] as usize;
                if !seen[a] && centres.weight[k] >= q.min_group_size {
                    seen[a] = true;
                    list.push((a, centres.at[k]));
                }
            }
            list.sort_by_key(|x| x.0);
            let open: Vec<OpenFacility> = list
                .iter()
                .map(|&(a, c)| OpenFacility {
                    id: areas.id(a).to_owned(),
                    kind: q.site_kind,
                    lon: c.lon,
                    lat: c.lat,
                    capacity: None,
                    name: areas.name(a).map(str::to_owned),
                    municipality: None,
                })
                .collect();
            let d = dataset
                .with_levers(&open, &Default::default())
                .map_err(|e| match e {
                    Error::InvalidParameter { message, .. } => Error::param("candidates", message),
                    e => e,
                })?;
            let base = dataset.facilities().len() as u32;
            (Some(d), (base..base + open.len() as u32).collect())
        }
    };
    let ds = derived.as_ref().unwrap_or(dataset);
    let facilities = ds.facilities();
    let existing_members: Vec<FacilityIdx> = match q.existing {
        None => Vec::new(),
        Some(k) => facilities
            .active_of_kind(k)
            .into_iter()
            .filter(|f| !members.contains(f))
            .collect(),
    };
    let mut columns = members.clone();
    columns.extend(&existing_members);
    let existing_cols: Vec<u32> = (members.len() as u32..columns.len() as u32).collect();
    let metric = ds.metric(q.metric, exec)?;
    let reach = match q.model {
        Model::Mclp | Model::Lscp | Model::Lscpb => service.expect("checked"),
        _ => f64::INFINITY,
    };
    let m = columns.len();
    let truncated = q.model == Model::Pmedian
        && q.demand_at == DemandAt::Residents
        && matches!(metric, Metric::Geodesic)
        && dem.at.len() as f64 * m as f64 > q.max_pairs as f64;
    let t0 = Instant::now();
    let (inst, start) = if truncated {
        let mut prm = PmedianParams::new(q.p.expect("checked"));
        prm.existing = existing_cols.clone();
        prm.time_limit = q.time_limit;
        prm.interrupt = exec.interrupt().cloned();
        let t = crate::truncate::geodesic_pmedian_instance(
            facilities,
            &dem.at,
            &dem.weight,
            &columns,
            &prm,
            exec,
        )
        .map_err(siting_error)?;
        (t.instance, Some((t.start, t.multipliers, t0.elapsed())))
    } else {
        let rows = cost_rows(ds, &dem, q.demand_at, &columns, metric, reach, exec)?;
        (Instance::from_rows(m, dem.weight.clone(), rows), None)
    };
    let unreachable: f64 = (0..inst.demand())
        .filter(|&i| inst.row(i).0.is_empty() && !inst.beyond(i).is_finite())
        .fold(0.0, |s, i| s + dem.weight[i]);

    Ok(Prepared {
        derived,
        dem,
        members,
        existing_members,
        columns,
        existing_cols,
        inst,
        reach,
        unreachable,
        start,
        truncated,
    })
}

/// The query's own consistency: `p` (not for lscp, at least 1), a
/// service distance for (and only for) mclp and lscp, a threshold, and a
/// demand the metric can place. Returns `p` and the service distance.
fn check(q: &SitingQuery) -> Result<(Option<usize>, Option<f64>)> {
    let p = match (q.model, q.p) {
        (Model::Lscp, Some(_)) => {
            return Err(Error::param(
                "p",
                "lscp finds the number of sites itself: leave `p` out",
            ))
        }
        (Model::Lscp, None) | (Model::Lscpb, None) => None,
        (_, None) => return Err(Error::param("p", "required: the number of new sites")),
        (_, Some(0)) => return Err(Error::param("p", "0: at least one new site must be placed")),
        (_, Some(p)) => Some(p),
    };
    let covering = matches!(q.model, Model::Mclp | Model::Lscp | Model::Lscpb);
    let service = match (covering, q.service) {
        (true, None) => {
            return Err(Error::param(
                "service_distance",
                "required by mclp, lscp and lscpb, in the metric's unit",
            ))
        }
        (true, Some(d)) if !(d.is_finite() && d > 0.0) => {
            return Err(Error::param(
                "service_distance",
                format!("expected a positive number, found {d}"),
            ))
        }
        (true, Some(d)) => Some(d),
        (false, Some(_)) => {
            return Err(Error::param(
                "service_distance",
                "only mclp, lscp and lscpb take a service distance",
            ))
        }
        (_, None) => None,
    };
    if !(q.min_group_size >= 0.0 && q.min_group_size.is_finite()) {
        return Err(Error::param(
            "min_group_size",
            "expected a non-negative number",
        ));
    }
    if q.demand_at == DemandAt::Areas && q.metric == MetricName::Table {
        return Err(Error::param(
            "demand",
            "a cost table is per resident: under `table` the demand must be `residents`",
        ));
    }
    Ok((p, service))
}

/// Writes the instance `query` builds as CSV `demand,weight,site,existing,cost`
/// (one line per pair in reach; the cost in the metric's unit), for
/// running another solver on the same numbers.
pub fn export_costs<E: Executor>(
    dataset: &Dataset,
    q: &SitingQuery,
    exec: &E,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let (_, service) = check(q)?;
    let pre = prepare(dataset, q, service, exec)?;
    let ds = pre.derived.as_ref().unwrap_or(dataset);
    let io = |e: std::io::Error| Error::Unavailable(format!("cannot write the costs: {e}"));
    writeln!(out, "demand,weight,site,existing,cost").map_err(io)?;
    for i in 0..pre.inst.demand() {
        let (s, c) = pre.inst.row(i);
        for (&j, &x) in s.iter().zip(c) {
            let f = ds.facilities().get(pre.columns[j as usize]);
            let existing = j as usize >= pre.members.len();
            writeln!(
                out,
                "{},{},{},{},{x:?}",
                pre.dem.ids[i], pre.dem.weight[i], f.id.0, existing
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

/// Solves `query` on `dataset`.
pub fn siting_report<E: Executor>(
    dataset: &Dataset,
    q: &SitingQuery,
    exec: &E,
) -> Result<SitingReport> {
    let (p, service) = check(q)?;
    let pre = prepare(dataset, q, service, exec)?;
    let Prepared {
        ref derived,
        ref dem,
        ref members,
        ref existing_members,
        ref columns,
        ref existing_cols,
        ref inst,
        reach,
        unreachable,
        ref start,
        truncated,
    } = pre;
    let ds = derived.as_ref().unwrap_or(dataset);
    let facilities = ds.facilities();
    let metric = ds.metric(q.metric, exec)?;
    let unit = match metric {
        Metric::Geodesic => "m",
        Metric::Network(_) => "s",
        Metric::Table(t) => match t.unit() {
            bacino_core::CostUnit::Seconds => "s",
            bacino_core::CostUnit::Metres => "m",
        },
    };
    let t0 = Instant::now();
    let mut flows = None;
    let sol: Solution = match q.model {
        Model::Cpmedian => {
            let caps = columns
                .iter()
                .map(|&f| {
                    let fac = facilities.get(f);
                    fac.capacity.map(u64::from).or(q.capacity).ok_or_else(|| {
                        Error::param(
                            "capacity",
                            format!("cpmedian needs every site's capacity, and `{}` has none: give the candidates a `capacity`, or `capacity` for all", fac.id.0),
                        )
                    })
                })
                .collect::<Result<Vec<u64>>>()?;
            let mut prm = CpmedianParams::new(p.expect("checked"), caps);
            prm.existing = existing_cols.clone();
            if let Some(g) = q.gap {
                prm.gap = g;
            }
            prm.time_limit = q.time_limit;
            prm.interrupt = exec.interrupt().cloned();
            cpmedian(inst, &prm).map(|a| {
                flows = Some(a.flows);
                a.solution
            })
        }
        Model::Pmedian => {
            let mut prm = PmedianParams::new(p.expect("checked"));
            prm.existing = existing_cols.clone();
            prm.time_limit = q.time_limit;
            prm.interrupt = exec.interrupt().cloned();
            if let Some((s, l, spent)) = start {
                prm.start = Some(s.clone());
                prm.multipliers = Some(l.clone());
                // The time limit counts the first solution's search too.
                prm.time_limit = q
                    .time_limit
                    .map(|t| t.saturating_sub(*spent).max(Duration::from_millis(1)));
            }
            if let Some(g) = q.gap {
                prm.gap = g;
            }
            if unreachable > 0.0 {
                return Err(Error::Unavailable(format!(
                    "{unreachable} people are out of reach of every candidate site under `{}`: a p-median must serve everyone",
                    q.metric.as_str()
                )));
            }
            pmedian(inst, &prm)
        }
        Model::Mclp => {
            let mut prm = MclpParams::new(p.expect("checked"), reach);
            prm.existing = existing_cols.clone();
            prm.time_limit = q.time_limit;
            prm.interrupt = exec.interrupt().cloned();
            mclp(inst, &prm)
        }
        Model::Lscp => {
            let mut prm = LscpParams::new(reach);
            prm.existing = existing_cols.clone();
            prm.time_limit = q.time_limit;
            prm.interrupt = exec.interrupt().cloned();
            lscp(inst, &prm)
        }
        Model::Lscpb => {
            let mut prm = LscpbParams::new(reach);
            prm.p = p;
            prm.existing = existing_cols.clone();
            prm.time_limit = q.time_limit;
            prm.interrupt = exec.interrupt().cloned();
            lscpb(inst, &prm)
        }
        Model::Pcenter => {
            let mut prm = PcenterParams::new(p.expect("checked"));
            prm.existing = existing_cols.clone();
            prm.time_limit = q.time_limit;
            prm.interrupt = exec.interrupt().cloned();
            pcenter(inst, &prm)
        }
    }
    .map_err(siting_error)?;
    let solve_s = t0.elapsed().as_secs_f64();

    // Each demand point's nearest open site, over every open site (the
    // model's rows may stop at the service distance).
    let open_cols: Vec<u32> = sol
        .open
        .iter()
        .chain(existing_cols.iter())
        .copied()
        .collect();
    let near = nearest_open(ds, dem, q.demand_at, columns, &open_cols, metric, exec)?;
    // Who goes where: to the nearest open site, or as the capacitated
    // assignment splits them.
    let assigned: Vec<Vec<(u32, f64, f64)>> = match &flows {
        Some(f) => f
            .iter()
            .enumerate()
            .map(|(i, fl)| {
                fl.iter()
                    .map(|&(j, n)| (j, inst.cost(i, j), f64::from(n)))
                    .collect()
            })
            .collect(),
        None => near
            .iter()
            .zip(&dem.weight)
            .map(|(n, &w)| n.map(|(j, c)| vec![(j, c, w)]).unwrap_or_default())
            .collect(),
    };
    let mut pairs: Vec<(f64, f64)> = assigned.iter().flatten().map(|&(_, c, w)| (c, w)).collect();
    let people: f64 = dem.weight.iter().sum();
    let new_distance = if pairs.iter().map(|x| x.1).sum::<f64>() < q.min_group_size {
        None
    } else {
        Summary::from_weighted(&mut pairs).map(|s| with_unit(s.rounded(), unit))
    };
    let (covered, covered_twice) = match q.model {
        Model::Mclp | Model::Lscp | Model::Lscpb => {
            let mut open = vec![false; inst.sites()];
            for &j in &open_cols {
                open[j as usize] = true;
            }
            let (mut once, mut twice) = (Sum::default(), Sum::default());
            for (i, &w) in dem.weight.iter().enumerate() {
                let n = inst
                    .within(i, reach)
                    .iter()
                    .filter(|&&j| open[j as usize])
                    .count();
                if n >= 1 {
                    once.add(w);
                }
                if n >= 2 {
                    twice.add(w);
                }
            }
            (Some(once.value()), Some(twice.value()))
        }
        _ => (None, None),
    };
    let mut sites = Vec::new();
    let mut cells = Vec::new();
    for &j in &sol.open {
        let f = facilities.get(columns[j as usize]);
        let (mut served, mut cost) = (0.0, 0.0);
        for &(s, c, w) in assigned.iter().flatten() {
            if s == j {
                served += w;
                cost += w * c;
            }
        }
        let shown = served >= q.min_group_size && served > 0.0;
        // An empty site hides nothing: a cell of no people.
        cells.push(if served == 0.0 {
            Some(0.0)
        } else {
            shown.then_some(served)
        });
        sites.push(SiteDoc {
            id: f.id.0.clone(),
            lon: f.location.lon,
            lat: f.location.lat,
            served: shown.then_some(served),
            mean_cost: shown.then(|| bacino_core::round_mm(cost / served)),
        });
    }
    // The sites partition the demand served, whose total is published: a
    // lone suppressed site draws the smallest shown one with it.
    if let Some(i) = bacino_core::complementary_cell(cells) {
        sites[i].served = None;
        sites[i].mean_cost = None;
    }
    sites.sort_by(|a, b| a.id.cmp(&b.id));
    let selected: Vec<String> = sites.iter().map(|s| s.id.clone()).collect();
    let plan = match &q.candidates {
        Candidates::Kind(_) => None,
        _ => {
            let open: Vec<serde_json::Value> = sites
                .iter()
                .map(|s| {
                    let f = facilities.get(facilities.index_of(&s.id).expect("a candidate"));
                    let mut o = serde_json::json!({"id": s.id, "kind": f.kind.as_str(), "lon": s.lon, "lat": s.lat});
                    if let Some(c) = f.capacity.map(u64::from).or(q.capacity) {
                        o["capacity"] = c.into();
                    }
                    o
                })
                .collect();
            Some(serde_json::json!({ "open": open }))
        }
    };
    Ok(SitingReport {
        model: q.model.as_str(),
        metric: q.metric.as_str(),
        unit,
        p: match q.model {
            Model::Lscpb => Some(sol.open.len()),
            _ => p,
        },
        service_distance: service,
        objective: sol.objective,
        bound: sol.bound,
        gap: sol.gap,
        proven: sol.proven,
        selected,
        covered,
        covered_twice,
        new_distance,
        demand: DemandDoc {
            at: match q.demand_at {
                DemandAt::Residents => "residents",
                DemandAt::Areas => "areas",
            },
            group: q.group.clone(),
            points: inst.demand(),
            people,
            unreachable,
        },
        candidates: members.len(),
        instance: InstanceDoc {
            pairs: inst.pairs(),
            truncated,
        },
        existing: existing_members.len(),
        sites,
        plan,
        nodes: sol.nodes,
        iterations: sol.iterations,
        solve_s,
        network: metric.network_info().cloned(),
        costs: match metric {
            Metric::Table(t) => Some(t.info().clone()),
            _ => None,
        },
        min_group_size: q.min_group_size,
    })
}

/// Statistics named in the metric's unit: `median_m` or `median_s`.
fn with_unit(s: Summary, unit: &str) -> serde_json::Value {
    let v = serde_json::to_value(s).expect("plain numbers");
    if unit == "m" {
        return v;
    }
    let obj = v.as_object().expect("an object");
    serde_json::Value::Object(
        obj.iter()
            .map(|(k, x)| {
                (
                    k.strip_suffix("_m")
                        .map_or(k.clone(), |b| format!("{b}_{unit}")),
                    x.clone(),
                )
            })
            .collect(),
    )
}
