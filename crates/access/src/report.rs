//! Accessibility of a dataset's residents, grouped (CONTRACT §6): the
//! kernel is built under the requested metric, scored by the method, and
//! summarised as population-weighted means by group, with small groups
//! suppressed.

use std::str::FromStr;

use bacino_core::network::NetworkInfo;
use bacino_core::{
    resolve_groups, CostUnit, CostsInfo, Dataset, Error, Executor, FacilityIdx, FacilityKind,
    GroupBy, Metric, MetricName, ReachIndex, Result,
};
use serde::ser::SerializeMap;
use serde::Serialize;

use crate::kernel::{Kernel, Sum};
use crate::{Decay, Decayed, GeodesicRows, Method, RaamParams, SelectionNorm};

/// What a facility offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Supply {
    /// The `capacity` column (a GP's massimale).
    #[default]
    Capacity,
    /// `capacity − list_size`, at least 0: the room left.
    Spare,
    /// 1 per facility.
    One,
}

impl Supply {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Supply::Capacity => "capacity",
            Supply::Spare => "spare",
            Supply::One => "one",
        }
    }
}

impl FromStr for Supply {
    type Err = Error;

    fn from_str(s: &str) -> Result<Supply> {
        match s.trim() {
            "capacity" => Ok(Supply::Capacity),
            "spare" => Ok(Supply::Spare),
            "one" => Ok(Supply::One),
            other => Err(Error::param(
                "supply",
                format!("expected `capacity`, `spare` or `one`, found `{other}`"),
            )),
        }
    }
}

/// An accessibility request.
#[derive(Debug, Clone)]
pub struct AccessQuery {
    /// Facilities offering the supply (active ones).
    pub kind: FacilityKind,
    /// The index.
    pub method: Method,
    /// The decay asked for (`None`: the method's default).
    pub decay: Option<Decay>,
    /// Pairs costlier than this are out of reach (inclusive bound, the
    /// metric's unit).
    pub max_cost: f64,
    /// The metric.
    pub metric: MetricName,
    /// What a facility offers.
    pub supply: Supply,
    /// 3SFCA's selection-weight normalisation.
    pub selection: SelectionNorm,
    /// RAAM's τ in the metric's unit (`None`: an hour, 3600 s, or 60 km).
    pub tau: Option<f64>,
    /// RAAM's ρ (`None`: total demand over total supply).
    pub rho: Option<f64>,
    /// Grouping.
    pub group_by: GroupBy,
    /// Groups under this many people are suppressed.
    pub min_group_size: f64,
}

/// One group of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessGroup {
    /// Figures of a group of at least `min_group_size` people.
    Stats {
        /// Group key.
        key: Option<String>,
        /// Display name (an area's), when known.
        name: Option<String>,
        /// People in the group.
        population: f64,
        /// Population-weighted mean of the residents' scores.
        access: f64,
        /// `access` over the all-resident mean.
        access_norm: f64,
        /// People with no supply in reach.
        unreached: f64,
        /// Supply allotted to the group (spatial availability only).
        allotted: Option<f64>,
    },
    /// A group too small to report.
    Suppressed {
        /// Group key.
        key: Option<String>,
        /// Display name, when known.
        name: Option<String>,
    },
}

impl AccessGroup {
    /// The group key.
    pub fn key(&self) -> Option<&str> {
        match self {
            AccessGroup::Stats { key, .. } | AccessGroup::Suppressed { key, .. } => key.as_deref(),
        }
    }

    /// The group's access, unless suppressed.
    pub fn access(&self) -> Option<f64> {
        match self {
            AccessGroup::Stats { access, .. } => Some(*access),
            AccessGroup::Suppressed { .. } => None,
        }
    }
}

impl Serialize for AccessGroup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            AccessGroup::Stats {
                key,
                name,
                population,
                access,
                access_norm,
                unreached,
                allotted,
            } => {
                m.serialize_entry("key", key)?;
                if let Some(n) = name {
                    m.serialize_entry("name", n)?;
                }
                m.serialize_entry("population", &whole(*population))?;
                m.serialize_entry("access", &finite(*access))?;
                m.serialize_entry("access_norm", &finite(*access_norm))?;
                m.serialize_entry("unreached", &whole(*unreached))?;
                if let Some(a) = allotted {
                    m.serialize_entry("allotted", a)?;
                }
            }
            AccessGroup::Suppressed { key, name } => {
                m.serialize_entry("key", key)?;
                if let Some(n) = name {
                    m.serialize_entry("name", n)?;
                }
                m.serialize_entry("suppressed", &true)?;
            }
        }
        m.end()
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// People are whole when the weights are; keeps `1849` from printing as
/// `1849.0000000002`.
fn whole(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() < 1e-6 {
        r
    } else {
        x
    }
}

/// The decay as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecayDoc {
    /// `uniform`, `step`, `gaussian`, `gravity` or `logistic`.
    pub name: &'static str,
    /// Step thresholds and weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<[f64; 2]>>,
    /// Gaussian σ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// Gravity exponent, scale and minimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Gravity scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Gravity minimum cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Logistic midpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<f64>,
    /// Logistic width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
}

impl From<&Decay> for DecayDoc {
    fn from(d: &Decay) -> DecayDoc {
        let mut doc = DecayDoc {
            name: d.name(),
            weights: None,
            sigma: None,
            alpha: None,
            scale: None,
            min: None,
            mid: None,
            width: None,
        };
        match d {
            Decay::Uniform => {}
            Decay::Step(s) => doc.weights = Some(s.iter().map(|&(t, w)| [t, w]).collect()),
            Decay::Gaussian { sigma } => doc.sigma = Some(*sigma),
            Decay::Gravity { alpha, scale, min } => {
                doc.alpha = Some(*alpha);
                doc.scale = Some(*scale);
                doc.min = Some(*min);
            }
            Decay::Logistic { mid, width } => {
                doc.mid = Some(*mid);
                doc.width = Some(*width);
            }
        }
        doc
    }
}

/// RAAM's parameters and certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaamDoc {
    /// τ (the metric's unit).
    pub tau: f64,
    /// ρ (people per unit of supply).
    pub rho: f64,
    /// Relative duality gap of the equilibrium (0 = exact).
    pub residual: f64,
    /// Newton steps.
    pub iterations: u32,
}

/// The accessibility document (CONTRACT §6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessReport {
    /// Dataset name.
    pub dataset: String,
    /// Facility kind.
    pub kind: FacilityKind,
    /// Method.
    pub method: &'static str,
    /// Metric.
    pub metric: &'static str,
    /// Unit of costs: `m` or `s`.
    pub unit: &'static str,
    /// The extract and profile, under a network metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// The cost table, under `table`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<CostsInfo>,
    /// Reach, inclusive.
    pub max_cost: f64,
    /// The decay applied (absent for RAAM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay: Option<DecayDoc>,
    /// 3SFCA's selection normalisation: `in_reach` or `all_pairs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<&'static str>,
    /// RAAM's parameters and certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raam: Option<RaamDoc>,
    /// `capacity`, `spare` or `one`.
    pub supply: &'static str,
    /// Total supply of the active facilities of the kind.
    pub supply_total: f64,
    /// Total resident weight.
    pub demand_total: f64,
    /// People with no supply in reach (their access is 0; for RAAM they
    /// are left out of the means).
    pub unreached: f64,
    /// True for every method but RAAM, whose score is a cost.
    pub higher_is_better: bool,
    /// Population-weighted mean over all residents (the `access_norm`
    /// denominator).
    pub mean: f64,
    /// Grouping, `null` for none.
    pub group_by: Option<String>,
    /// Suppression threshold.
    pub min_group_size: f64,
    /// Groups, by key.
    pub groups: Vec<AccessGroup>,
}

/// Residents per unit of parallel kernel work.
const CHUNK: usize = 8192;

/// The cost kernel of every resident to the active facilities of `members`
/// under `metric`, pruned at `max_cost`. A resident the metric cannot place
/// (off the network, or absent from the cost table) has an empty row, so
/// it is counted with the unreached.
pub fn cost_kernel<E: Executor>(
    dataset: &Dataset,
    members: &[FacilityIdx],
    metric: Metric<'_>,
    max_cost: f64,
    exec: &E,
) -> Kernel {
    let residents = dataset.residents();
    let n = residents.len();
    let mut column = vec![u32::MAX; dataset.facilities().len()];
    for (k, &f) in members.iter().enumerate() {
        column[f as usize] = k as u32;
    }
    let cols = members.len();
    // Chunks of residents are measured in parallel, each into a buffer of
    // its thread's, and appended in order.
    let chunk = match metric {
        Metric::Network(_) => CHUNK / 4,
        _ => CHUNK,
    };
    let built = |fill: &(dyn Fn(&mut Kernel, std::ops::Range<usize>) + Sync)| {
        Kernel::build_in_order(cols, n, chunk, exec, fill)
    };
    match metric {
        Metric::Geodesic => {
            let points = residents.locations();
            let index = ReachIndex::new(dataset.facilities(), members, max_cost, points);
            built(&|k, r| {
                for i in r {
                    // In column order: a row's sums have a fixed order.
                    k.push_within(|push| index.for_each_within(points[i], push));
                }
            })
        }
        Metric::Table(table) => built(&|k, r| {
            for i in r {
                let pairs = table.of(i);
                k.push_row(pairs.iter().filter_map(|&(f, c)| {
                    let j = column[f as usize];
                    (j != u32::MAX && c <= max_cost).then_some((j, c))
                }));
            }
        }),
        Metric::Network(net) => {
            let snaps = net.resident_snaps();
            let targets = net.targets(members);
            let network = net.network();
            built(&|k, r| {
                let origins: Vec<_> = r.clone().filter_map(|i| snaps[i]).collect();
                let matrix = network.matrix(&origins, &targets);
                let mut rows = matrix.iter();
                for i in r {
                    if snaps[i].is_none() {
                        k.push_row(std::iter::empty());
                        continue;
                    }
                    let costs = rows.next().expect("one matrix row per snapped origin");
                    k.push_row(targets.iter().zip(costs).filter_map(|(t, c)| {
                        let s = c.time_s();
                        (c.is_finite() && s <= max_cost).then_some((t.label, s))
                    }));
                }
            })
        }
    }
}

/// Each resident's decay weights summed over every facility, with no
/// cut-off (PySAL's 3SFCA selection normaliser).
fn all_pairs_norm<E: Executor>(
    dataset: &Dataset,
    members: &[FacilityIdx],
    metric: Metric<'_>,
    decay: &Decay,
    exec: &E,
) -> Vec<f64> {
    if let Metric::Geodesic = metric {
        let points = dataset.residents().locations();
        let index = ReachIndex::new(dataset.facilities(), members, f64::INFINITY, points);
        let rows = GeodesicRows::new(&index, members.len(), points, decay);
        return crate::fca::row_weight_sums(&rows, exec);
    }
    let k = cost_kernel(dataset, members, metric, f64::INFINITY, exec);
    crate::fca::row_weight_sums(&Decayed { cost: &k, decay }, exec)
}

/// Computes the accessibility report for `query`.
pub fn access_report<E: Executor>(
    dataset: &Dataset,
    query: &AccessQuery,
    exec: &E,
) -> Result<AccessReport> {
    report_with(dataset, query, None, exec)
}

/// Kernels built so far, by kind, metric and reach.
type Kernels = Vec<((FacilityKind, MetricName, u64), Kernel)>;

/// Reports for several queries, building each distinct kernel (kind,
/// metric, reach) once: a layer of several methods costs one distance
/// pass.
pub fn access_reports<E: Executor>(
    dataset: &Dataset,
    queries: &[AccessQuery],
    exec: &E,
) -> Result<Vec<AccessReport>> {
    let mut kernels = Vec::new();
    queries
        .iter()
        .map(|q| report_with(dataset, q, Some(&mut kernels), exec))
        .collect()
}

fn report_with<E: Executor>(
    dataset: &Dataset,
    query: &AccessQuery,
    kernels: Option<&mut Kernels>,
    exec: &E,
) -> Result<AccessReport> {
    check_reach(query.max_cost, query.min_group_size)?;
    let decay = query.method.decay(query.decay.clone(), query.max_cost)?;
    for (name, v) in [("tau", query.tau), ("rho", query.rho)] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::param(
                    name,
                    format!("expected a positive number, found {v}"),
                ));
            }
        }
    }
    let (codes, labels) = match query.group_by {
        GroupBy::Facility => return Err(Error::param(
            "group_by",
            "accessibility is per resident: group by `area`, `municipality`, `group` or a column",
        )),
        ref g => resolve_groups(dataset, g, exec)?,
    };
    let facilities = dataset.facilities();
    let members = facilities.active_of_kind(query.kind);
    let supply = supply_of(dataset, &members, query.supply, query.kind)?;
    let metric = dataset.metric(query.metric, exec)?;
    let unit = unit_of(metric);
    let norm = (query.method == Method::ThreeStep && query.selection == SelectionNorm::AllPairs)
        .then(|| all_pairs_norm(dataset, &members, metric, &decay, exec));
    let weights = dataset.residents().weights();
    let tau = query
        .tau
        .unwrap_or(if unit == "s" { 3600.0 } else { 60_000.0 });
    let params = RaamParams {
        tau,
        rho: query.rho,
        ..RaamParams::default()
    };
    let (s, raam) = match (metric, kernels) {
        // Geodesic weights are measured afresh on each sweep: nothing
        // stored, however many pairs.
        (Metric::Geodesic, _) if query.method != Method::Raam => {
            let points = dataset.residents().locations();
            let index = ReachIndex::new(facilities, &members, query.max_cost, points);
            let rows = GeodesicRows::new(&index, members.len(), points, &decay);
            (
                crate::weighted_scores(
                    query.method,
                    &rows,
                    weights,
                    &supply,
                    norm.as_deref(),
                    exec,
                ),
                None,
            )
        }
        // RAAM reads the geodesic by rows: its pairs near each row's
        // cheapest, not the hundred million within reach; facilities at
        // one point are one site.
        (Metric::Geodesic, _) => crate::raam_sites::raam_geodesic_scores(
            facilities,
            &members,
            query.max_cost,
            dataset.residents().locations(),
            weights,
            &supply,
            params,
            exec,
        ),
        // Shared with later queries.
        (_, Some(kernels)) => {
            let key = (query.kind, query.metric, query.max_cost.to_bits());
            let at = match kernels.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    let kernel = cost_kernel(dataset, &members, metric, query.max_cost, exec);
                    kernels.push((key, kernel));
                    kernels.len() - 1
                }
            };
            crate::scores_in(
                query.method,
                &decay,
                &kernels[at].1,
                weights,
                &supply,
                norm.as_deref(),
                params,
                exec,
            )
        }
        (_, None) => {
            let started = std::time::Instant::now();
            let kernel = cost_kernel(dataset, &members, metric, query.max_cost, exec);
            if query.method == Method::Raam && std::env::var_os("BACINO_RAAM_TRACE").is_some() {
                eprintln!(
                    "raam: the cost kernel, {} pairs, in {:.2} s",
                    kernel.nnz(),
                    started.elapsed().as_secs_f64()
                );
            }
            crate::scores_in(
                query.method,
                &decay,
                &kernel,
                weights,
                &supply,
                norm.as_deref(),
                params,
                exec,
            )
        }
    };

    // Group means. RAAM's unreached residents have no score and are left
    // out; every other method scores them 0.
    let nlabels = labels.len();
    let mut pop = vec![Sum::default(); nlabels + 1];
    let mut scored = vec![Sum::default(); nlabels + 1];
    let mut weighted = vec![Sum::default(); nlabels + 1];
    let mut unreached = vec![Sum::default(); nlabels + 1];
    let mut allotted = vec![Sum::default(); nlabels + 1];
    for (i, &w) in weights.iter().enumerate() {
        let g = match codes[i] {
            bacino_core::NONE => nlabels,
            c => c as usize,
        };
        pop[g].add(w);
        if !s.reached[i] {
            unreached[g].add(w);
        }
        let v = s.value[i];
        if v.is_finite() {
            scored[g].add(w);
            weighted[g].add(w * v);
        }
        if let Some(a) = s.allotted.get(i) {
            allotted[g].add(*a);
        }
    }
    let total = |v: &[Sum]| {
        let mut t = Sum::default();
        for x in v {
            t.merge(*x);
        }
        t.value()
    };
    let mean = total(&weighted) / total(&scored);
    let mut groups: Vec<AccessGroup> = (0..=nlabels)
        .filter(|&g| pop[g].value() > 0.0)
        .map(|g| {
            let (key, name) = match labels.get(g) {
                Some((k, n)) => (Some(k.clone()), n.clone()),
                None => (None, None),
            };
            let p = pop[g].value();
            if p < query.min_group_size {
                return AccessGroup::Suppressed { key, name };
            }
            let access = weighted[g].value() / scored[g].value();
            AccessGroup::Stats {
                key,
                name,
                population: p,
                access,
                access_norm: access / mean,
                unreached: unreached[g].value(),
                allotted: (!s.allotted.is_empty()).then(|| allotted[g].value()),
            }
        })
        .collect();
    groups.sort_by(|a, b| by_key(a.key(), b.key()));
    // The groups partition the people (their mean and `unreached` are
    // published): a lone suppressed group draws the smallest shown one.
    if let Some(i) = bacino_core::complementary_cell(groups.iter().map(|g| match g {
        AccessGroup::Stats { population, .. } => Some(*population),
        AccessGroup::Suppressed { .. } => None,
    })) {
        if let AccessGroup::Stats { key, name, .. } = &mut groups[i] {
            groups[i] = AccessGroup::Suppressed {
                key: key.take(),
                name: name.take(),
            };
        }
    }
    let unreached_total = total(&unreached);
    Ok(AccessReport {
        dataset: dataset.name.clone(),
        kind: query.kind,
        method: query.method.as_str(),
        metric: metric.name().as_str(),
        unit,
        network: metric.network_info().cloned(),
        costs: match metric {
            Metric::Table(t) => Some(t.info().clone()),
            _ => None,
        },
        max_cost: query.max_cost,
        decay: (query.method != Method::Raam).then(|| DecayDoc::from(&decay)),
        selection: (query.method == Method::ThreeStep).then_some(match query.selection {
            SelectionNorm::InReach => "in_reach",
            SelectionNorm::AllPairs => "all_pairs",
        }),
        raam: raam.map(|r| RaamDoc {
            tau,
            rho: r.rho,
            residual: r.residual,
            iterations: r.iterations,
        }),
        supply: query.supply.as_str(),
        supply_total: crate::kernel::sum(supply.iter().copied()),
        demand_total: total(&pop),
        unreached: whole(unreached_total),
        higher_is_better: query.method.higher_is_better(),
        mean,
        group_by: query.group_by.name().map(str::to_owned),
        min_group_size: query.min_group_size,
        groups,
    })
}

/// The checks every dataset-level analysis makes of its reach and its
/// privacy threshold.
pub(crate) fn check_reach(max_cost: f64, min_group_size: f64) -> Result<()> {
    if !(max_cost.is_finite() && max_cost > 0.0) {
        return Err(Error::param(
            "max_cost",
            format!(
                "expected a positive number in the metric's unit (metres or seconds), found {max_cost}"
            ),
        ));
    }
    if !(min_group_size.is_finite() && min_group_size >= 0.0) {
        return Err(Error::param(
            "min_group_size",
            format!("expected a number ≥ 0, found {min_group_size}"),
        ));
    }
    Ok(())
}

/// The unit of `metric`'s costs: `m` or `s`.
pub(crate) fn unit_of(metric: Metric<'_>) -> &'static str {
    match metric {
        Metric::Geodesic => "m",
        Metric::Network(_) => "s",
        Metric::Table(t) => match t.unit() {
            CostUnit::Seconds => "s",
            CostUnit::Metres => "m",
        },
    }
}

/// Group order: by key, the group without a key last.
pub(crate) fn by_key(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Supply per member facility.
pub(crate) fn supply_of(
    dataset: &Dataset,
    members: &[FacilityIdx],
    mode: Supply,
    kind: FacilityKind,
) -> Result<Vec<f64>> {
    let f = dataset.facilities();
    members
        .iter()
        .map(|&m| {
            let x = f.get(m);
            let capacity = || {
                x.capacity.map(f64::from).ok_or_else(|| {
                    Error::param(
                        "supply",
                        format!(
                            "facility `{}` ({kind}) has no `capacity` in facilities.csv: fill the column or use supply=one",
                            x.id.0
                        ),
                    )
                })
            };
            Ok(match mode {
                Supply::One => 1.0,
                Supply::Capacity => capacity()?,
                Supply::Spare => (capacity()? - dataset.list_size(m)).max(0.0),
            })
        })
        .collect()
}

/// The request as text, from the command line or a query string: parsed
/// and checked in one place so both say the same about bad input.
#[derive(Debug, Clone, Default)]
pub struct AccessParams {
    /// Facility kind (required).
    pub kind: Option<String>,
    /// Method (required).
    pub method: Option<String>,
    /// Reach, in the metric's unit (required).
    pub max_cost: Option<String>,
    /// Metric (default geodesic).
    pub metric: Option<String>,
    /// `capacity` (default), `spare` or `one`.
    pub supply: Option<String>,
    /// Step decay `T:W,T:W,…`.
    pub weights: Option<String>,
    /// Gaussian σ.
    pub gaussian: Option<String>,
    /// Gravity `ALPHA,SCALE,MIN`.
    pub gravity: Option<String>,
    /// Logistic `MID,WIDTH`.
    pub logistic: Option<String>,
    /// 3SFCA selection normalisation: `in_reach` (default) or `all_pairs`.
    pub selection: Option<String>,
    /// RAAM τ.
    pub tau: Option<String>,
    /// RAAM ρ.
    pub rho: Option<String>,
    /// Grouping (default none).
    pub group_by: Option<String>,
}

impl AccessParams {
    /// The query, or an error naming the parameter at fault.
    pub fn to_query(&self, min_group_size: f64) -> Result<AccessQuery> {
        let required = |v: &Option<String>, name: &str, what: &str| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| Error::param(name, format!("required: {what}")))
        };
        let number = |v: &Option<String>, name: &str| -> Result<Option<f64>> {
            v.as_deref()
                .map(|s| {
                    s.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| {
                            Error::param(name, format!("expected a number, found `{s}`"))
                        })
                })
                .transpose()
        };
        let kind: FacilityKind = required(&self.kind, "kind", "a facility kind, e.g. `gp`")?
            .parse()
            .map_err(|m: String| Error::param("kind", m))?;
        let method: Method = required(
            &self.method,
            "method",
            "2sfca, e2sfca, g2sfca, 3sfca, bfca, sa, huff, gravity or raam",
        )?
        .parse()?;
        let max_cost = number(&self.max_cost, "max_cost")?.ok_or_else(|| {
            Error::param(
                "max_cost",
                "required: the reach in the metric's unit (metres, or seconds for car/foot)",
            )
        })?;
        let mut decays = Vec::new();
        if let Some(w) = &self.weights {
            decays.push(Decay::parse_steps(w)?);
        }
        if let Some(g) = &self.gaussian {
            decays.push(Decay::parse_gaussian(g)?);
        }
        if let Some(g) = &self.gravity {
            decays.push(Decay::parse_gravity(g)?);
        }
        if let Some(l) = &self.logistic {
            decays.push(Decay::parse_logistic(l)?);
        }
        if decays.len() > 1 {
            return Err(Error::param(
                decays[1].name_param(),
                format!(
                    "give one decay: `{}` and `{}` both set",
                    decays[0].name_param(),
                    decays[1].name_param()
                ),
            ));
        }
        let selection = match self.selection.as_deref().map(str::trim) {
            None | Some("in_reach") => SelectionNorm::InReach,
            Some("all_pairs") => SelectionNorm::AllPairs,
            Some(other) => {
                return Err(Error::param(
                    "selection",
                    format!("expected `in_reach` or `all_pairs`, found `{other}`"),
                ))
            }
        };
        if self.selection.is_some() && method != Method::ThreeStep {
            return Err(Error::param(
                "selection",
                "only 3sfca has selection weights",
            ));
        }
        if (self.tau.is_some() || self.rho.is_some()) && method != Method::Raam {
            let name = if self.tau.is_some() { "tau" } else { "rho" };
            return Err(Error::param(name, "only raam takes tau and rho"));
        }
        Ok(AccessQuery {
            kind,
            method,
            decay: decays.pop(),
            max_cost,
            metric: self.metric.as_deref().unwrap_or("geodesic").parse()?,
            supply: self.supply.as_deref().unwrap_or("capacity").parse()?,
            selection,
            tau: number(&self.tau, "tau")?,
            rho: number(&self.rho, "rho")?,
            group_by: self.group_by.as_deref().unwrap_or("all").parse()?,
            min_group_size,
        })
    }
}
