//! Coverage with capacities: how many people the facilities of a kind can
//! take within `max_cost`, each facility up to its supply.
//!
//! - [`Mode::Optimal`] answers it exactly and without any processing
//!   order: the most people placed, then the least total cost among those
//!   placements — a min-cost maximum flow, solved and certified by
//!   [`bacino_core::place`] (the scenario solver).
//! - [`Mode::AccessMod`] reproduces the procedure of AccessMod 5's
//!   geographic coverage analysis, at resident resolution: facilities are
//!   taken one after the other in a given [`Order`]; each takes the people
//!   still uncovered within reach, nearest first, until its capacity is
//!   used (the last resident row split by whole people), and what it took
//!   is removed before the next facility. The answer depends on the order;
//!   the optimum is an upper bound of every order's.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bacino_core::network::NetworkInfo;
use bacino_core::{
    place, resolve_groups, CostsInfo, Dataset, Error, Executor, FacilityIdx, FacilityKind, GroupBy,
    Metric, MetricName, Optimality, Result, NONE,
};
use serde::ser::SerializeMap;
use serde::Serialize;

use crate::kernel::{Kernel, Sum};
use crate::report::{by_key, check_reach, cost_kernel, supply_of, unit_of};
use crate::Supply;

/// What a facility order is keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderKey {
    /// People within reach of the facility (AccessMod's "population
    /// within the maximum travel time").
    Population,
    /// The `capacity` column.
    Capacity,
    /// `capacity − list_size`.
    Spare,
    /// The declared `list_size`.
    ListSize,
    /// The facility id.
    Id,
    /// A pseudo-random permutation from a seed.
    Random(u64),
    /// A column of the facility table the schema does not read (a
    /// priority, a date): by number when every value is one, else by
    /// text (byte order).
    Column(String),
}

/// An AccessMod processing order: a key and a direction. Ties keep id
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The key.
    pub key: OrderKey,
    /// Largest first.
    pub descending: bool,
}

impl Default for Order {
    /// Most people within reach first.
    fn default() -> Order {
        Order {
            key: OrderKey::Population,
            descending: true,
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.descending { "desc" } else { "asc" };
        match &self.key {
            OrderKey::Column(name) => write!(f, "column:{name}:{dir}"),
            OrderKey::Population => write!(f, "population:{dir}"),
            OrderKey::Capacity => write!(f, "capacity:{dir}"),
            OrderKey::Spare => write!(f, "spare:{dir}"),
            OrderKey::ListSize => write!(f, "list_size:{dir}"),
            OrderKey::Id => write!(f, "id:{dir}"),
            OrderKey::Random(seed) => write!(f, "random:{seed}"),
        }
    }
}

impl FromStr for Order {
    type Err = Error;

    /// `KEY[:asc|:desc]` with KEY one of `population`, `capacity`,
    /// `spare`, `list_size` (descending by default) or `id` (ascending by
    /// default); `column:NAME[:asc|:desc]` (descending by default); or
    /// `random:SEED`.
    fn from_str(s: &str) -> Result<Order> {
        let bad = |why: String| Error::param("order", why);
        let s = s.trim();
        let (key, mut dir) = match s.split_once(':') {
            Some((k, d)) => (k.trim(), Some(d.trim())),
            None => (s, None),
        };
        let mut column = None;
        if key == "column" {
            // The name runs to the last `:asc`/`:desc`, if any.
            let rest = dir.unwrap_or("");
            let (name, d) = match rest.rsplit_once(':') {
                Some((n, d @ ("asc" | "desc"))) => (n.trim(), Some(d)),
                _ => (rest, None),
            };
            if name.is_empty() {
                return Err(bad(format!(
                    "expected `column:NAME[:asc|:desc]` with NAME a column of the facilities, \
                     found `{s}`"
                )));
            }
            column = Some(name.to_owned());
            dir = d;
        }
        if key == "random" {
            let seed = dir.and_then(|d| d.parse::<u64>().ok()).ok_or_else(|| {
                bad(format!(
                    "expected `random:SEED` with a whole SEED ≥ 0, found `{s}`"
                ))
            })?;
            return Ok(Order {
                key: OrderKey::Random(seed),
                descending: false,
            });
        }
        let key = match key {
            "column" => OrderKey::Column(column.unwrap_or_default()),
            "population" => OrderKey::Population,
            "capacity" => OrderKey::Capacity,
            "spare" => OrderKey::Spare,
            "list_size" => OrderKey::ListSize,
            "id" => OrderKey::Id,
            other => {
                return Err(bad(format!(
                    "expected population, capacity, spare, list_size, id, column:NAME or \
                     random:SEED, found `{other}`"
                )))
            }
        };
        let descending = match dir {
            None => key != OrderKey::Id,
            Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(bad(format!(
                    "expected `:asc` or `:desc` after the key, found `:{other}`"
                )))
            }
        };
        Ok(Order { key, descending })
    }
}

/// How coverage is computed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Min-cost maximum flow: exact, no order.
    #[default]
    Optimal,
    /// AccessMod 5's sequential procedure in this order.
    AccessMod(Order),
}

/// A coverage request.
#[derive(Debug, Clone)]
pub struct CoverageQuery {
    /// Facilities covering (active ones).
    pub kind: FacilityKind,
    /// Reach, inclusive, in the metric's unit.
    pub max_cost: f64,
    /// The metric.
    pub metric: MetricName,
    /// A facility's capacity: `capacity` or `spare` (whole people).
    pub supply: Supply,
    /// Optimal or AccessMod's order.
    pub mode: Mode,
    /// Grouping.
    pub group_by: GroupBy,
    /// Groups (and facilities) under this many people are suppressed.
    pub min_group_size: f64,
}

/// The result of the sequential procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Greedy {
    /// People each column took.
    pub taken: Vec<u64>,
    /// People of each row covered.
    pub covered: Vec<u64>,
    /// Σ people × cost of each row's covered people.
    pub row_cost: Vec<f64>,
    /// Σ people × cost.
    pub cost: f64,
}

/// Each column's rows as `(row, cost)`, nearest first (ties by row).
pub fn columns(kernel: &Kernel) -> Vec<Vec<(u32, f64)>> {
    let mut cols: Vec<Vec<(u32, f64)>> = vec![Vec::new(); kernel.cols()];
    for i in 0..kernel.rows() {
        let (js, cs) = kernel.row(i);
        for (&j, &c) in js.iter().zip(cs) {
            cols[j as usize].push((i as u32, c));
        }
    }
    for c in &mut cols {
        c.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    }
    cols
}

/// AccessMod's procedure on `columns` (from [`columns`]): columns in
/// `order`, each taking the people of its rows still uncovered, nearest
/// first, until `caps[j]` are taken.
pub fn greedy(
    columns: &[Vec<(u32, f64)>],
    people: &[u64],
    caps: &[u64],
    order: &[usize],
) -> Greedy {
    let mut left = people.to_vec();
    let mut taken = vec![0u64; columns.len()];
    let mut row_cost = vec![0.0; people.len()];
    for &j in order {
        let mut room = caps[j];
        for &(i, c) in &columns[j] {
            if room == 0 {
                break;
            }
            let i = i as usize;
            let t = left[i].min(room);
            if t > 0 {
                left[i] -= t;
                room -= t;
                taken[j] += t;
                row_cost[i] += t as f64 * c;
            }
        }
    }
    let covered = people.iter().zip(&left).map(|(p, l)| p - l).collect();
    Greedy {
        taken,
        covered,
        cost: crate::kernel::sum(row_cost.iter().copied()),
        row_cost,
    }
}

/// The processing order of `members` (columns), as AccessMod would have
/// it: sorted by the key, ties by id. Fails (naming `order`) when the key
/// is a column some member lacks or leaves empty.
pub fn facility_order(
    dataset: &Dataset,
    members: &[FacilityIdx],
    order: &Order,
    columns: &[Vec<(u32, f64)>],
    people: &[u64],
) -> Result<Vec<usize>> {
    let f = dataset.facilities();
    let mut idx: Vec<usize> = (0..members.len()).collect();
    // Id order first: the sorts below are stable, so ties keep it.
    idx.sort_by(|&a, &b| f.get(members[a]).id.0.cmp(&f.get(members[b]).id.0));
    let value = |j: usize| -> f64 {
        let x = f.get(members[j]);
        match order.key {
            OrderKey::Population => columns[j]
                .iter()
                .map(|&(i, _)| people[i as usize] as f64)
                .sum(),
            OrderKey::Capacity => x.capacity.map_or(f64::INFINITY, f64::from),
            OrderKey::Spare => x.capacity.map_or(f64::INFINITY, |c| {
                (f64::from(c) - dataset.list_size(members[j])).max(0.0)
            }),
            OrderKey::ListSize => dataset.list_size(members[j]),
            OrderKey::Id | OrderKey::Random(_) | OrderKey::Column(_) => 0.0,
        }
    };
    match &order.key {
        OrderKey::Id => {
            if order.descending {
                idx.reverse();
            }
        }
        OrderKey::Column(name) => {
            let mut text = Vec::with_capacity(members.len());
            for &m in members {
                let x = f.get(m);
                match x.other(name).filter(|v| !v.is_empty()) {
                    Some(v) => text.push(v),
                    None => {
                        let why = if x.other.iter().any(|(n, _)| n == name) {
                            format!("facility `{}` has no value in column `{name}`", x.id.0)
                        } else {
                            let known: Vec<&str> =
                                x.other.iter().map(|(n, _)| n.as_str()).collect();
                            format!(
                                "facility `{}` has no column `{name}` (columns an order may \
                                 use: {})",
                                x.id.0,
                                if known.is_empty() {
                                    "none".to_owned()
                                } else {
                                    known.join(", ")
                                }
                            )
                        };
                        return Err(Error::param("order", why));
                    }
                }
            }
            let numbers: Option<Vec<f64>> = text
                .iter()
                .map(|v| v.parse::<f64>().ok().filter(|x| !x.is_nan()))
                .collect();
            let cmp = |a: usize, b: usize| match &numbers {
                Some(v) => v[a].total_cmp(&v[b]),
                None => text[a].cmp(text[b]),
            };
            if order.descending {
                idx.sort_by(|&a, &b| cmp(b, a));
            } else {
                idx.sort_by(|&a, &b| cmp(a, b));
            }
        }
        OrderKey::Random(seed) => {
            // Fisher–Yates driven by SplitMix64: the same seed gives the
            // same order on every platform.
            let mut state = *seed;
            let mut next = || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            };
            for k in (1..idx.len()).rev() {
                let r = (next() % (k as u64 + 1)) as usize;
                idx.swap(k, r);
            }
        }
        _ => {
            let v: Vec<f64> = (0..members.len()).map(value).collect();
            if order.descending {
                idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
            } else {
                idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
            }
        }
    }
    Ok(idx)
}

/// One group of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum CoverageGroup {
    /// A group of at least `min_group_size` people.
    Stats {
        /// Group key.
        key: Option<String>,
        /// Display name, when known.
        name: Option<String>,
        /// People.
        population: u64,
        /// People covered.
        covered: u64,
        /// People with no facility in reach at all.
        out_of_reach: u64,
        /// Mean cost of the covered, in the metric's unit.
        mean_cost: Option<f64>,
    },
    /// Too small to report.
    Suppressed {
        /// Group key.
        key: Option<String>,
        /// Display name, when known.
        name: Option<String>,
    },
}

impl CoverageGroup {
    /// The group key.
    pub fn key(&self) -> Option<&str> {
        match self {
            CoverageGroup::Stats { key, .. } | CoverageGroup::Suppressed { key, .. } => {
                key.as_deref()
            }
        }
    }
}

impl Serialize for CoverageGroup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            CoverageGroup::Stats {
                key,
                name,
                population,
                covered,
                out_of_reach,
                mean_cost,
            } => {
                m.serialize_entry("key", key)?;
                if let Some(n) = name {
                    m.serialize_entry("name", n)?;
                }
                m.serialize_entry("population", population)?;
                m.serialize_entry("covered", covered)?;
                m.serialize_entry("coverage", &(*covered as f64 / *population as f64))?;
                m.serialize_entry("out_of_reach", out_of_reach)?;
                m.serialize_entry("mean_cost", mean_cost)?;
            }
            CoverageGroup::Suppressed { key, name } => {
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

/// What one facility took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityCoverage {
    /// Facility id.
    pub id: String,
    /// Its supply (whole people).
    pub capacity: u64,
    /// People it took; `None` when fewer than `min_group_size` (but some).
    pub taken: Option<u64>,
    /// Room it has left; `None` with `taken`.
    pub room_left: Option<u64>,
    /// Position in AccessMod's order (1 = first), in that mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// The coverage document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// Dataset name.
    pub dataset: String,
    /// Facility kind.
    pub kind: FacilityKind,
    /// `optimal` or `accessmod`.
    pub mode: &'static str,
    /// AccessMod's order, in that mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
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
    /// `capacity` or `spare`.
    pub supply: &'static str,
    /// Places offered by the facilities.
    pub supply_total: u64,
    /// People.
    pub demand_total: u64,
    /// People placed within reach.
    pub covered: u64,
    /// People not placed.
    pub uncovered: u64,
    /// `covered / demand_total`.
    pub coverage: f64,
    /// People with no facility of the kind in reach (under a network
    /// metric, those off the network too).
    pub out_of_reach: u64,
    /// Places left unused.
    pub room_left: u64,
    /// Σ people × cost of the covered, in the metric's unit.
    pub total_cost: f64,
    /// Mean cost of the covered.
    pub mean_cost: Option<f64>,
    /// The proof of optimality, in the optimal mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimality: Option<Optimality>,
    /// Grouping, `null` for none.
    pub group_by: Option<String>,
    /// Suppression threshold.
    pub min_group_size: f64,
    /// Groups, by key.
    pub groups: Vec<CoverageGroup>,
    /// Facilities, by id.
    pub facilities: Vec<FacilityCoverage>,
}

/// Computes coverage for `query`.
pub fn coverage_report<E: Executor>(
    dataset: &Dataset,
    query: &CoverageQuery,
    exec: &E,
) -> Result<CoverageReport> {
    check_reach(query.max_cost, query.min_group_size)?;
    if query.supply == Supply::One {
        return Err(Error::param(
            "supply",
            "coverage places people up to each facility's room: use `capacity` or `spare`",
        ));
    }
    let (codes, labels) =
        match query.group_by {
            GroupBy::Facility => return Err(Error::param(
                "group_by",
                "coverage is per resident: group by `area`, `municipality`, `group` or a column",
            )),
            ref g => resolve_groups(dataset, g, exec)?,
        };
    let residents = dataset.residents();
    let weights = residents.weights();
    let mut people = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        if !(w >= 0.0 && w.fract() == 0.0 && w <= f64::from(u32::MAX)) {
            return Err(Error::Unavailable(format!(
                "coverage counts whole people, but resident row {} has weight {w}",
                i + 1
            )));
        }
        people.push(w as u64);
    }
    let facilities = dataset.facilities();
    let members = facilities.active_of_kind(query.kind);
    let caps: Vec<u64> = supply_of(dataset, &members, query.supply, query.kind)?
        .into_iter()
        .map(|s| s.floor() as u64)
        .collect();
    let metric = dataset.metric(query.metric, exec)?;
    let unit = unit_of(metric);
    let kernel = cost_kernel(dataset, &members, metric, query.max_cost, exec);
    let in_reach: Vec<bool> = (0..kernel.rows())
        .map(|i| !kernel.row_range(i).is_empty())
        .collect();

    // Per row: people covered and their summed cost; per column: taken.
    let mut covered = vec![0u64; people.len()];
    let mut row_cost = vec![0.0f64; people.len()];
    let mut taken = vec![0u64; members.len()];
    let mut rank: Option<Vec<u32>> = None;
    let mut optimality = None;
    let mut order_doc = None;
    match &query.mode {
        Mode::Optimal => {
            let rows: Vec<usize> = (0..people.len()).filter(|&i| people[i] > 0).collect();
            let receivers: Vec<(FacilityIdx, u64)> =
                members.iter().copied().zip(caps.iter().copied()).collect();
            let (max_d, max_t) = if unit == "s" {
                (f64::INFINITY, Some(query.max_cost))
            } else {
                (query.max_cost, None)
            };
            let solved = place(dataset, &rows, &receivers, max_d, max_t, metric, exec)?;
            let mut column = BTreeMap::new();
            for (j, &f) in members.iter().enumerate() {
                column.insert(f, j);
            }
            for r in &solved.rows {
                if r.to == NONE {
                    continue;
                }
                let c = if unit == "s" { r.time_s } else { r.distance_m };
                covered[r.resident] += u64::from(r.people);
                row_cost[r.resident] += f64::from(r.people) * c;
                taken[column[&r.to]] += u64::from(r.people);
            }
            optimality = Some(solved.optimality);
        }
        Mode::AccessMod(order) => {
            let cols = columns(&kernel);
            let ord = facility_order(dataset, &members, order, &cols, &people)?;
            let g = greedy(&cols, &people, &caps, &ord);
            covered = g.covered;
            row_cost = g.row_cost;
            taken = g.taken;
            let mut rk = vec![0u32; members.len()];
            for (k, &j) in ord.iter().enumerate() {
                rk[j] = k as u32 + 1;
            }
            rank = Some(rk);
            order_doc = Some(order.to_string());
        }
    }

    let nlabels = labels.len();
    let mut pop = vec![0u64; nlabels + 1];
    let mut cov = vec![0u64; nlabels + 1];
    let mut out = vec![0u64; nlabels + 1];
    let mut gcost = vec![Sum::default(); nlabels + 1];
    for i in 0..people.len() {
        let g = match codes[i] {
            NONE => nlabels,
            c => c as usize,
        };
        pop[g] += people[i];
        cov[g] += covered[i];
        if !in_reach[i] {
            out[g] += people[i];
        }
        gcost[g].add(row_cost[i]);
    }
    let min = query.min_group_size;
    let mut groups: Vec<CoverageGroup> = (0..=nlabels)
        .filter(|&g| pop[g] > 0)
        .map(|g| {
            let (key, name) = match labels.get(g) {
                Some((k, n)) => (Some(k.clone()), n.clone()),
                None => (None, None),
            };
            if (pop[g] as f64) < min {
                return CoverageGroup::Suppressed { key, name };
            }
            CoverageGroup::Stats {
                key,
                name,
                population: pop[g],
                covered: cov[g],
                out_of_reach: out[g],
                mean_cost: (cov[g] > 0).then(|| gcost[g].value() / cov[g] as f64),
            }
        })
        .collect();
    groups.sort_by(|a, b| by_key(a.key(), b.key()));
    // Groups partition the demand and facilities the people covered, both
    // published: a lone suppressed cell draws the smallest shown one.
    if let Some(i) = bacino_core::complementary_cell(groups.iter().map(|g| match g {
        CoverageGroup::Stats { population, .. } => Some(*population as f64),
        CoverageGroup::Suppressed { .. } => None,
    })) {
        if let CoverageGroup::Stats { key, name, .. } = &mut groups[i] {
            groups[i] = CoverageGroup::Suppressed {
                key: key.take(),
                name: name.take(),
            };
        }
    }
    let mut fac: Vec<FacilityCoverage> = members
        .iter()
        .enumerate()
        .map(|(j, &f)| {
            let small = taken[j] > 0 && (taken[j] as f64) < min;
            FacilityCoverage {
                id: facilities.get(f).id.0.clone(),
                capacity: caps[j],
                taken: (!small).then_some(taken[j]),
                room_left: (!small).then_some(caps[j] - taken[j]),
                rank: rank.as_ref().map(|r| r[j]),
            }
        })
        .collect();
    fac.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(i) = bacino_core::complementary_cell(fac.iter().map(|f| f.taken.map(|t| t as f64)))
    {
        fac[i].taken = None;
        fac[i].room_left = None;
    }

    let demand_total: u64 = people.iter().sum();
    let covered_total: u64 = covered.iter().sum();
    let supply_total: u64 = caps.iter().sum();
    let mut total_cost = Sum::default();
    for &c in &row_cost {
        total_cost.add(c);
    }
    let total_cost = total_cost.value();
    Ok(CoverageReport {
        dataset: dataset.name.clone(),
        kind: query.kind,
        mode: match query.mode {
            Mode::Optimal => "optimal",
            Mode::AccessMod(_) => "accessmod",
        },
        order: order_doc,
        metric: metric.name().as_str(),
        unit,
        network: metric.network_info().cloned(),
        costs: match metric {
            Metric::Table(t) => Some(t.info().clone()),
            _ => None,
        },
        max_cost: query.max_cost,
        supply: query.supply.as_str(),
        supply_total,
        demand_total,
        covered: covered_total,
        uncovered: demand_total - covered_total,
        coverage: if demand_total > 0 {
            covered_total as f64 / demand_total as f64
        } else {
            0.0
        },
        out_of_reach: (0..people.len())
            .filter(|&i| !in_reach[i])
            .map(|i| people[i])
            .sum(),
        room_left: supply_total - covered_total,
        total_cost,
        mean_cost: (covered_total > 0).then(|| total_cost / covered_total as f64),
        optimality,
        group_by: query.group_by.name().map(str::to_owned),
        min_group_size: min,
        groups,
        facilities: fac,
    })
}

/// The request as text, from the command line or a query string.
#[derive(Debug, Clone, Default)]
pub struct CoverageParams {
    /// Facility kind (required).
    pub kind: Option<String>,
    /// Reach, in the metric's unit (required).
    pub max_cost: Option<String>,
    /// Metric (default geodesic).
    pub metric: Option<String>,
    /// `capacity` (default) or `spare`.
    pub supply: Option<String>,
    /// `optimal` (default) or `accessmod`.
    pub mode: Option<String>,
    /// AccessMod's order (only with `accessmod`).
    pub order: Option<String>,
    /// Grouping (default none).
    pub group_by: Option<String>,
}

impl CoverageParams {
    /// The query, or an error naming the parameter at fault.
    pub fn to_query(&self, min_group_size: f64) -> Result<CoverageQuery> {
        let kind: FacilityKind = self
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::param("kind", "required: a facility kind, e.g. `gp`"))?
            .parse()
            .map_err(|m: String| Error::param("kind", m))?;
        let max_cost =
            match self.max_cost.as_deref() {
                None => return Err(Error::param(
                    "max_cost",
                    "required: the reach in the metric's unit (metres, or seconds for car/foot)",
                )),
                Some(s) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        Error::param("max_cost", format!("expected a number, found `{s}`"))
                    })?,
            };
        let order = self.order.as_deref().map(str::parse::<Order>).transpose()?;
        let mode = match self.mode.as_deref().map(str::trim) {
            None | Some("optimal") => {
                if order.is_some() {
                    return Err(Error::param(
                        "order",
                        "an order only applies to mode `accessmod`; the optimum has none",
                    ));
                }
                Mode::Optimal
            }
            Some("accessmod") => Mode::AccessMod(order.unwrap_or_default()),
            Some(other) => {
                return Err(Error::param(
                    "mode",
                    format!("expected `optimal` or `accessmod`, found `{other}`"),
                ))
            }
        };
        Ok(CoverageQuery {
            kind,
            max_cost,
            metric: self.metric.as_deref().unwrap_or("geodesic").parse()?,
            supply: self.supply.as_deref().unwrap_or("capacity").parse()?,
            mode,
            group_by: self.group_by.as_deref().unwrap_or("all").parse()?,
            min_group_size,
        })
    }
}
