//! Resident → facility distances and their grouped statistics (CONTRACT §2, §4).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::LocalFrame;
use crate::index::FacilityIndex;
use crate::metric::{Metric, PreparedNetwork};
use crate::model::{FacilityIdx, FacilityKind, LonLat, NONE};
use crate::stats::{round_mm, serialize_whole, serialize_whole_opt, Summary};
use bacino_network::{NetworkInfo, Target as NetTarget};

mod groups;
mod query;

pub use groups::{GroupStats, TimeSummary};
pub use query::{DistanceQuery, GroupBy, Target};

/// Per-resident distances and the facility each was measured to.
#[derive(Debug, Clone)]
pub struct ResidentDistances {
    /// Metres (geodesic, or the length of the fastest route under a network
    /// metric); NaN when the resident could not be measured (no `gp_id`,
    /// or unreachable).
    pub distance_m: Vec<f64>,
    /// Seconds of the fastest route, under a network metric.
    pub time_s: Option<Vec<f64>>,
    /// Facility measured to, or [`NONE`].
    pub facility: Vec<FacilityIdx>,
    /// Rows that a network metric could not route (beyond `snap_max_m` of
    /// any usable road, or no facility reachable), or that a cost table
    /// gives no cost for.
    pub unreachable: Vec<u32>,
    /// True when `distance_m` holds seconds (a `table` in seconds).
    pub seconds_only: bool,
}

/// A group's distances: plain when every weight is 1.
enum Values {
    Unit(Vec<f64>),
    Weighted(Vec<(f64, f64)>),
}

impl Values {
    fn is_empty(&self) -> bool {
        match self {
            Values::Unit(v) => v.is_empty(),
            Values::Weighted(v) => v.is_empty(),
        }
    }
}

/// Rows per unit of parallel work.
const CHUNK: usize = 16_384;

/// Measures every resident of `dataset` to `target` under `metric`.
pub fn resident_distances<E: Executor>(
    dataset: &Dataset,
    target: Target,
    metric: Metric<'_>,
    exec: &E,
) -> Result<ResidentDistances> {
    resident_distances_of(dataset, target, metric, None, exec)
}

/// Measures the residents at `rows` (every resident when `None`) to
/// `target` under `metric`: entry `j` of the result is row `rows[j]`, and
/// `unreachable` lists positions in `rows`. Each resident's figures do not
/// depend on which others are measured with it.
pub fn resident_distances_of<E: Executor>(
    dataset: &Dataset,
    target: Target,
    metric: Metric<'_>,
    rows: Option<&[u32]>,
    exec: &E,
) -> Result<ResidentDistances> {
    measured_to(dataset, target, metric, rows, true, exec)
}

/// [`resident_distances_of`], leaving `facility` empty unless
/// `facilities` (the geodesic metric's column is 4 bytes a resident that
/// only a grouping by facility reads: 200 MB nationally).
fn measured_to<E: Executor>(
    dataset: &Dataset,
    target: Target,
    metric: Metric<'_>,
    rows: Option<&[u32]>,
    facilities: bool,
    exec: &E,
) -> Result<ResidentDistances> {
    let rows = Rows(rows, dataset.residents().len());
    match metric {
        Metric::Geodesic => geodesic_distances(dataset, target, rows, facilities, exec),
        Metric::Network(net) => network_distances(dataset, target, net, rows, exec),
        Metric::Table(table) => table_distances(dataset, target, table, rows),
    }
}

/// A selection of resident rows: the listed ones, or all `n`.
#[derive(Clone, Copy)]
struct Rows<'a>(Option<&'a [u32]>, usize);

impl Rows<'_> {
    fn len(self) -> usize {
        self.0.map_or(self.1, <[u32]>::len)
    }

    /// The row at position `j`.
    fn at(self, j: usize) -> usize {
        self.0.map_or(j, |r| r[j] as usize)
    }
}

/// Costs from a table: the cheapest listed active facility of the kind
/// (ties to the earlier facility of the file), or the listed GP's pair.
fn table_distances(
    dataset: &Dataset,
    target: Target,
    table: &crate::costs::CostTable,
    rows: Rows<'_>,
) -> Result<ResidentDistances> {
    let facilities = dataset.facilities();
    let n = rows.len();
    let mut out = ResidentDistances {
        distance_m: vec![f64::NAN; n],
        time_s: None,
        facility: vec![NONE; n],
        unreachable: Vec::new(),
        seconds_only: table.unit() == crate::costs::CostUnit::Seconds,
    };
    // The listed GPs are read only for the assigned target (a load may
    // not have kept them otherwise).
    let gp = match target {
        Target::Assigned => dataset.residents().gp(),
        Target::Nearest(_) => &[],
    };
    if let Target::Nearest(kind) = target {
        if facilities.active_of_kind(kind).is_empty() {
            return Err(Error::Unavailable(format!(
                "the dataset has no active facility of kind `{kind}`"
            )));
        }
    }
    for j in 0..n {
        let r = rows.at(j);
        let hit = match target {
            Target::Nearest(kind) => table
                .of(r)
                .iter()
                .filter(|(f, _)| {
                    let f = facilities.get(*f);
                    f.kind == kind && f.is_active()
                })
                .fold(
                    None,
                    |best: Option<(FacilityIdx, f64)>, &(f, c)| match best {
                        Some((_, b)) if b <= c => best,
                        _ => Some((f, c)),
                    },
                ),
            Target::Assigned => match gp[r] {
                NONE => continue,
                g => table.of(r).iter().find(|(f, _)| *f == g).copied(),
            },
        };
        match hit {
            Some((f, c)) => {
                out.distance_m[j] = c;
                out.facility[j] = f;
            }
            None => out.unreachable.push(j as u32),
        }
    }
    Ok(out)
}

/// Positions measured and, for each, the fastest cost and facility reached.
type RoutedRows = (Vec<u32>, Vec<Option<(bacino_network::Cost, u32)>>);

/// A group's key, name, metres and (under a network metric) seconds.
type Group = (Option<String>, Option<String>, Values, Option<Values>);

/// Fastest routes over a prepared network: nearest by one backward search
/// from every facility of the kind; assigned by one search per facility.
fn network_distances<E: Executor>(
    dataset: &Dataset,
    target: Target,
    prepared: &PreparedNetwork,
    rows: Rows<'_>,
    exec: &E,
) -> Result<ResidentDistances> {
    let net = prepared.network();
    let facilities = dataset.facilities();
    let fsnap = prepared.facility_snaps();
    let rsnap = prepared.resident_snaps();
    let n = rows.len();
    let mut out = ResidentDistances {
        distance_m: vec![f64::NAN; n],
        time_s: Some(vec![f64::NAN; n]),
        facility: vec![NONE; n],
        unreachable: Vec::new(),
        seconds_only: false,
    };
    let target_of = |f: FacilityIdx| fsnap[f as usize].map(|snap| NetTarget { label: f, snap });
    let results: Vec<RoutedRows> = match target {
        Target::Nearest(kind) => {
            let active = facilities.active_of_kind(kind);
            if active.is_empty() {
                return Err(Error::Unavailable(format!(
                    "the dataset has no active facility of kind `{kind}`"
                )));
            }
            let targets: Vec<NetTarget> = active.into_iter().filter_map(target_of).collect();
            let got = match rows.0 {
                None => net.nearest(&targets, rsnap),
                Some(r) => {
                    let snaps: Vec<_> = r.iter().map(|&i| rsnap[i as usize]).collect();
                    net.nearest(&targets, &snaps)
                }
            };
            vec![((0..n as u32).collect(), got)]
        }
        Target::Assigned => {
            let gp = dataset.residents().gp();
            let mut by_gp: Vec<Vec<u32>> = vec![Vec::new(); facilities.len()];
            for j in 0..n {
                let g = gp[rows.at(j)];
                if g != NONE {
                    by_gp[g as usize].push(j as u32);
                }
            }
            let work: Vec<(FacilityIdx, Vec<u32>)> = by_gp
                .into_iter()
                .enumerate()
                .filter(|(_, r)| !r.is_empty())
                .map(|(f, r)| (f as FacilityIdx, r))
                .collect();
            exec.map(work, |(f, positions)| {
                let origins: Vec<_> = positions
                    .iter()
                    .map(|&j| rsnap[rows.at(j as usize)])
                    .collect();
                let got = match target_of(f) {
                    Some(t) => net
                        .costs_to_one(&t, &origins)
                        .into_iter()
                        .map(|c| c.map(|c| (c, f)))
                        .collect(),
                    None => vec![None; positions.len()],
                };
                (positions, got)
            })
        }
    };
    let times = out.time_s.as_mut().expect("set above");
    for (positions, got) in results {
        for (&j, hit) in positions.iter().zip(got) {
            match hit {
                Some((cost, f)) => {
                    out.distance_m[j as usize] = cost.length_m();
                    times[j as usize] = cost.time_s();
                    out.facility[j as usize] = f;
                }
                None => out.unreachable.push(j),
            }
        }
    }
    out.unreachable.sort_unstable();
    Ok(out)
}

fn geodesic_distances<E: Executor>(
    dataset: &Dataset,
    target: Target,
    rows: Rows<'_>,
    facilities_kept: bool,
    exec: &E,
) -> Result<ResidentDistances> {
    let residents = dataset.residents();
    let locs = residents.locations();
    let facilities = dataset.facilities();
    // Outputs are allocated whole (zeroed, so untouched until written) and
    // every chunk of work fills its own slice: nothing to concatenate.
    let n = rows.len();
    let mut out = ResidentDistances {
        distance_m: vec![0.0; n],
        time_s: None,
        facility: Vec::new(),
        unreachable: Vec::new(),
        seconds_only: false,
    };
    // Without the facility column, each chunk writes into a scratch one.
    let mut facility = vec![0; if facilities_kept { n } else { 0 }];
    let chunks: Vec<_> = out
        .distance_m
        .chunks_mut(CHUNK)
        .zip(
            facility
                .chunks_mut(CHUNK)
                .map(Some)
                .chain(std::iter::repeat_with(|| None)),
        )
        .zip(chunk_ranges(n, CHUNK))
        .collect();
    match target {
        Target::Assigned => {
            let gp = residents.gp();
            // The short-line kernel (Karney beyond 50 km), from each
            // facility's frame, built once.
            let frames: Vec<LocalFrame> = facilities
                .iter()
                .map(|f| LocalFrame::new(f.location))
                .collect();
            exec.map(chunks, |((d, f), r)| {
                let mut scratch = Vec::new();
                let f = f.unwrap_or_else(|| scratch_of(&mut scratch, d.len()));
                for_each_frame(locs, rows, r, |k, j, from| {
                    (d[k], f[k]) = match gp[rows.at(j)] {
                        NONE => (f64::NAN, NONE),
                        g => (from.distance_to(&frames[g as usize]), g),
                    };
                });
            });
        }
        Target::Nearest(kind) => {
            let index = FacilityIndex::active(facilities, kind);
            if index.is_empty() {
                return Err(Error::Unavailable(format!(
                    "the dataset has no active facility of kind `{kind}`"
                )));
            }
            exec.map(chunks, |((d, f), r)| {
                let mut scratch = Vec::new();
                let f = f.unwrap_or_else(|| scratch_of(&mut scratch, d.len()));
                for_each_frame(locs, rows, r, |k, _, from| {
                    let hit = index.nearest_to_frame(from).expect("index is not empty");
                    (d[k], f[k]) = (hit.distance_m, hit.facility);
                });
            });
        }
    }
    out.facility = facility;
    Ok(out)
}

/// Calls `each(k, j, frame)` with the [`LocalFrame`] of the resident of
/// every row `j` of `range` (`k` counting from 0), built a block at a time
/// ([`LocalFrame::extend_with`]: the sines and cosines in vector
/// registers, five times faster than one at a time).
fn for_each_frame(
    locs: &[LonLat],
    rows: Rows<'_>,
    range: std::ops::Range<usize>,
    mut each: impl FnMut(usize, usize, &LocalFrame),
) {
    const BLOCK: usize = 512;
    let (mut points, mut frames) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
    for start in range.clone().step_by(BLOCK) {
        let block = start..(start + BLOCK).min(range.end);
        points.clear();
        points.extend(block.clone().map(|j| locs[rows.at(j)]));
        frames.clear();
        LocalFrame::extend_with(&mut frames, &points);
        for (j, frame) in block.zip(&frames) {
            each(j - range.start, j, frame);
        }
    }
}

/// `scratch` as `len` facility slots, for a chunk whose facilities are not
/// kept.
fn scratch_of(scratch: &mut Vec<FacilityIdx>, len: usize) -> &mut [FacilityIdx] {
    scratch.resize(len, 0);
    scratch
}

/// The distances document (CONTRACT §4), as printed by `bacino stats` and
/// returned by `GET /v1/datasets/{name}/distances`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistanceReport {
    /// Dataset name.
    pub dataset: String,
    /// `assigned` or `nearest`.
    pub to: &'static str,
    /// Facility kind for `nearest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<FacilityKind>,
    /// `geodesic` (WGS84, Karney), `car` or `foot`.
    pub metric: &'static str,
    /// The extract and profile, under a network metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// The cost table, under the `table` metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<crate::costs::CostsInfo>,
    /// People a network metric could not route (beyond `snap_max_m` of any
    /// usable road, or no facility reachable); only under a network metric.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_whole_opt"
    )]
    pub unreachable: Option<f64>,
    /// Grouping used, `null` for none.
    pub group_by: Option<String>,
    /// Groups smaller than this are suppressed.
    pub min_group_size: f64,
    /// People without a measurable distance (e.g. no `gp_id` with `to=assigned`).
    #[serde(serialize_with = "serialize_whole")]
    pub unmeasured: f64,
    /// One entry per group, sorted by key (`null` last).
    pub groups: Vec<GroupStats>,
}

/// Default privacy threshold (CONTRACT §2).
pub const DEFAULT_MIN_GROUP_SIZE: f64 = 10.0;

/// Computes the distances report for `query`.
pub fn distance_report<E: Executor>(
    dataset: &Dataset,
    query: &DistanceQuery,
    exec: &E,
) -> Result<DistanceReport> {
    let residents = dataset.residents();
    let (head, measured) = measure(dataset, query, None, exec)?;
    // Unit weights are not looked up (nor made into a column).
    let unit = residents.has_unit_weights();
    let weights = if unit { &[][..] } else { residents.weights() };
    Ok(assemble(
        head,
        query.cdf_steps,
        measured,
        weights,
        unit,
        exec,
    ))
}

/// The residents at some rows, measured and grouped: what a distances
/// document is computed from (a shard's part holds one). The facility
/// measured to is in `codes` under `facility` groups, and
/// `distances.facility` is empty.
pub(crate) struct Measured {
    /// Group code of each position ([`NONE`]: no key).
    pub codes: Vec<u32>,
    /// The groups' labels, by code.
    pub labels: Vec<GroupLabel>,
    /// The figures, by position.
    pub distances: ResidentDistances,
}

/// The report's head (everything but `unmeasured`, `unreachable` and the
/// groups) and the residents at `rows` (all when `None`) measured for
/// `query`.
pub(crate) fn measure<E: Executor>(
    dataset: &Dataset,
    query: &DistanceQuery,
    rows: Option<&[u32]>,
    exec: &E,
) -> Result<(DistanceReport, Measured)> {
    // Resolve the grouping before the expensive part so bad names fail fast.
    let (codes, labels) = resolve_groups(dataset, &query.group_by, exec)?;
    let metric = dataset.metric(query.metric, exec)?;
    let by_facility = query.group_by == GroupBy::Facility;
    let mut distances = measured_to(dataset, query.target, metric, rows, by_facility, exec)?;
    let (codes, labels) = if by_facility {
        let labels = dataset
            .facilities()
            .iter()
            .map(|x| (x.id.0.clone(), x.name.clone()))
            .collect();
        (std::mem::take(&mut distances.facility), labels)
    } else if let Some(rows) = rows {
        (rows.iter().map(|&r| codes[r as usize]).collect(), labels)
    } else {
        (codes, labels)
    };
    let (to, kind) = match query.target {
        Target::Assigned => ("assigned", None),
        Target::Nearest(k) => ("nearest", Some(k)),
    };
    let network = metric.network_info().cloned();
    let costs = match metric {
        Metric::Table(t) => Some(t.info().clone()),
        _ => None,
    };
    let head = DistanceReport {
        unreachable: (network.is_some() || costs.is_some()).then_some(0.0),
        costs,
        dataset: dataset.name.clone(),
        to,
        kind,
        metric: metric.name().as_str(),
        network,
        group_by: query.group_by.name().map(str::to_owned),
        min_group_size: query.min_group_size,
        unmeasured: 0.0,
        groups: Vec::new(),
    };
    Ok((
        head,
        Measured {
            codes,
            labels,
            distances,
        },
    ))
}

/// The report from its head and the values: groups summarised, suppressed
/// under the head's `min_group_size`, sorted by key; `weights` are by
/// position, and not looked at (and may be empty) when `unit`. A function of the values in position order only, so a merge of shards that puts every
/// resident back at its row gives the unsharded document bit for bit.
/// Groups of at least this many unit-weight values are summarised by all
/// threads ([`Summary::from_values_with`]); smaller ones, one per thread.
const PARALLEL_SUMMARY: usize = 1 << 20;

pub(crate) fn assemble<E: Executor>(
    mut head: DistanceReport,
    cdf_steps: u32,
    measured: Measured,
    weights: &[f64],
    unit: bool,
    exec: &E,
) -> DistanceReport {
    let Measured {
        codes,
        labels,
        distances: mut d,
    } = measured;
    // Not needed from here (`facility` groups came as `codes`): freed
    // before the values are bucketed.
    drop(std::mem::take(&mut d.facility));
    let nlabels = labels.len();
    let single = unit && head.group_by.is_none();
    let seconds_only = d.seconds_only;
    let weight_of = |i: usize| if unit { 1.0 } else { weights[i] };
    let unreachable: f64 = d
        .unreachable
        .iter()
        .fold(0.0, |a, &i| a + weight_of(i as usize));
    let (lengths, missing) = bucketize(d.distance_m, &codes, nlabels, weights, unit, single);
    let times = d
        .time_s
        .map(|t| bucketize(t, &codes, nlabels, weights, unit, single).0);
    let unmeasured = missing - unreachable;
    let mut groups: Vec<Group> = {
        let mut times = times.map(|t| t.into_iter());
        lengths
            .into_iter()
            .enumerate()
            .map(|(i, b)| (i, b, times.as_mut().and_then(|t| t.next())))
            .filter(|(_, b, _)| !b.is_empty())
            .map(|(i, b, t)| match labels.get(i) {
                Some((k, n)) => (Some(k.clone()), n.clone(), b, t),
                None => (None, None, b, t),
            })
            .collect()
    };
    groups.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let min = head.min_group_size;
    let grid = (cdf_steps > 0).then(|| crate::stats::quantile_grid(cdf_steps));
    // The summary, and the quantiles on the grid when asked for.
    let summarise = |values: Values| {
        let cdf = grid.as_ref().and_then(|g| {
            let mut pairs: Vec<(f64, f64)> = match &values {
                Values::Unit(v) => v.iter().map(|&x| (x, 1.0)).collect(),
                Values::Weighted(p) => p.clone(),
            };
            crate::stats::quantiles(&mut pairs, g)
                .map(|q| q.into_iter().map(round_mm).collect::<Vec<f64>>())
        });
        let summary = match values {
            // One large group (everyone, say): selected by every thread.
            Values::Unit(v) if v.len() >= PARALLEL_SUMMARY => Summary::from_values_with(&v, exec),
            Values::Unit(mut v) => Summary::from_values_in_place(&mut v),
            Values::Weighted(mut p) => Summary::from_weighted(&mut p),
        };
        summary.map(|s| (s, cdf))
    };
    let mut groups = exec.map(groups, |(key, name, values, time)| {
        match summarise(values) {
            Some((s, cdf)) if s.count >= min => {
                let (time, cdf_time) = match time.and_then(summarise) {
                    Some((t, c)) => (Some(TimeSummary::from(t)), c),
                    None => (None, None),
                };
                GroupStats::Stats {
                    key,
                    name,
                    summary: s.rounded(),
                    time,
                    seconds_only,
                    cdf,
                    cdf_time,
                }
            }
            _ => GroupStats::Suppressed {
                key,
                name,
                suppressed: true,
            },
        }
    });
    // The groups partition the people measured, whose total is known
    // (residents less `unmeasured` and `unreachable`): a lone suppressed
    // group draws the smallest shown one with it.
    if let Some(i) =
        crate::disclosure::complementary_cell(groups.iter().map(|g| g.summary().map(|s| s.count)))
    {
        groups[i].suppress();
    }
    if head.unreachable.is_some() {
        head.unreachable = Some(unreachable);
    }
    head.unmeasured = unmeasured;
    head.groups = groups;
    head
}

/// A group's key and display name.
pub type GroupLabel = (String, Option<String>);

/// Each resident's group code and the groups' `(key, name)` labels for a
/// grouping ([`NONE`]: no key). `GroupBy::Facility` depends on what is
/// measured and gives no codes here.
pub fn resolve_groups<E: Executor>(
    dataset: &Dataset,
    group_by: &GroupBy,
    exec: &E,
) -> Result<(Vec<u32>, Vec<GroupLabel>)> {
    let residents = dataset.residents();
    Ok(match group_by {
        GroupBy::All => (vec![0; residents.len()], vec![("all".into(), None)]),
        GroupBy::Group => categorical(residents.group(), dataset),
        GroupBy::Municipality => {
            let (c, l) = categorical(residents.municipality(), dataset);
            (c, with_area_names(l, dataset))
        }
        GroupBy::Area => {
            let areas = dataset.areas().ok_or_else(|| {
                Error::param(
                    "group_by",
                    "`area` needs an [areas] file in the dataset manifest",
                )
            })?;
            let labels = (0..areas.len())
                .map(|i| (areas.id(i).to_owned(), areas.name(i).map(str::to_owned)))
                .collect();
            (dataset.resident_areas(exec).to_vec(), labels)
        }
        GroupBy::Facility => (Vec::new(), Vec::new()),
        GroupBy::Column(name) => {
            if name == "gp_id" {
                let f = dataset.facilities();
                let labels = f.iter().map(|x| (x.id.0.clone(), x.name.clone())).collect();
                (residents.gp().to_vec(), labels)
            } else {
                let col = residents.extra(name).ok_or_else(|| {
                    let mut known: Vec<&str> =
                        vec!["group", "municipality", "area", "facility", "gp_id"];
                    known.extend(residents.extra_names());
                    Error::param(
                        "group_by",
                        format!(
                            "unknown column `{name}` (expected one of: {})",
                            known.join(", ")
                        ),
                    )
                })?;
                categorical(col, dataset)
            }
        }
    })
}

/// Splits per-resident values (NaN = not measured) into one bucket per
/// group code plus a last "no key" bucket; returns the buckets and the
/// weight not measured. Buckets are sized by a first counting pass: growing
/// them would copy and fault pages repeatedly.
fn bucketize(
    values: Vec<f64>,
    codes: &[u32],
    nlabels: usize,
    weights: &[f64],
    unit: bool,
    single: bool,
) -> (Vec<Values>, f64) {
    let bucket_of = |i: usize| match codes[i] {
        NONE => nlabels,
        c => c as usize,
    };
    if single {
        // One group: the values themselves, without a copy.
        let n = values.len();
        let mut d = values;
        d.retain(|x| !x.is_nan());
        let missing = (n - d.len()) as f64;
        return (vec![Values::Unit(d), Values::Unit(Vec::new())], missing);
    }
    let mut missing = 0.0;
    let mut counts = vec![0usize; nlabels + 1];
    for (i, &d) in values.iter().enumerate() {
        if d.is_nan() {
            missing += if unit { 1.0 } else { weights[i] };
        } else {
            counts[bucket_of(i)] += 1;
        }
    }
    let buckets = if unit {
        let mut b: Vec<Vec<f64>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
        for (i, &d) in values.iter().enumerate() {
            if !d.is_nan() {
                b[bucket_of(i)].push(d);
            }
        }
        b.into_iter().map(Values::Unit).collect()
    } else {
        let mut b: Vec<Vec<(f64, f64)>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
        for (i, &d) in values.iter().enumerate() {
            if !d.is_nan() {
                b[bucket_of(i)].push((d, weights[i]));
            }
        }
        b.into_iter().map(Values::Weighted).collect()
    };
    (buckets, missing)
}

fn categorical(
    col: &crate::model::Categorical,
    _dataset: &Dataset,
) -> (Vec<u32>, Vec<(String, Option<String>)>) {
    (
        col.codes().to_vec(),
        col.values().iter().map(|v| (v.clone(), None)).collect(),
    )
}

/// Names municipality keys after the areas whose id they equal.
fn with_area_names(
    labels: Vec<(String, Option<String>)>,
    dataset: &Dataset,
) -> Vec<(String, Option<String>)> {
    let Some(areas) = dataset.areas() else {
        return labels;
    };
    let names: BTreeMap<&str, &str> = (0..areas.len())
        .filter_map(|i| Some((areas.id(i), areas.name(i)?)))
        .collect();
    labels
        .into_iter()
        .map(|(k, n)| {
            let n = n.or_else(|| names.get(k.as_str()).map(|s| (*s).to_owned()));
            (k, n)
        })
        .collect()
}
