//! Resident → facility distances and their grouped statistics (CONTRACT §2, §4).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::exec::{chunk_ranges, Executor};
use crate::geodesic::geodesic_distance_m;
use crate::index::FacilityIndex;
use crate::model::{FacilityIdx, FacilityKind, NONE};
use crate::stats::Summary;

/// What each resident is measured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The facility in the resident's `gp_id`.
    Assigned,
    /// The nearest active facility of a kind.
    Nearest(FacilityKind),
}

impl Target {
    /// Builds a target from the contract's `to` and `kind` parameters.
    pub fn from_params(to: &str, kind: Option<&str>) -> Result<Target> {
        let kind = kind
            .map(|k| {
                k.parse::<FacilityKind>()
                    .map_err(|m| Error::param("kind", m))
            })
            .transpose()?;
        match to {
            "assigned" => Ok(Target::Assigned),
            "nearest" => Ok(Target::Nearest(kind.ok_or_else(|| {
                Error::param("kind", "required with to=nearest (e.g. kind=gp)")
            })?)),
            other => Err(Error::param(
                "to",
                format!("expected `assigned` or `nearest`, found `{other}`"),
            )),
        }
    }
}

/// How residents are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// One group, key `all`.
    All,
    /// The `group` column.
    Group,
    /// The `municipality` column (filled from areas when missing).
    Municipality,
    /// The area the resident lies in (point in polygon).
    Area,
    /// The facility measured to (nearest or assigned).
    Facility,
    /// Any other residents column.
    Column(String),
}

impl FromStr for GroupBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<GroupBy> {
        Ok(match s.trim() {
            "" | "all" | "none" => GroupBy::All,
            "group" => GroupBy::Group,
            "municipality" => GroupBy::Municipality,
            "area" => GroupBy::Area,
            "facility" => GroupBy::Facility,
            other => GroupBy::Column(other.to_owned()),
        })
    }
}

impl GroupBy {
    fn name(&self) -> Option<&str> {
        match self {
            GroupBy::All => None,
            GroupBy::Group => Some("group"),
            GroupBy::Municipality => Some("municipality"),
            GroupBy::Area => Some("area"),
            GroupBy::Facility => Some("facility"),
            GroupBy::Column(c) => Some(c),
        }
    }
}

/// Per-resident distances and the facility each was measured to.
#[derive(Debug, Clone)]
pub struct ResidentDistances {
    /// Metres; NaN when the resident could not be measured (no `gp_id`).
    pub distance_m: Vec<f64>,
    /// Facility measured to, or [`NONE`].
    pub facility: Vec<FacilityIdx>,
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

/// A group's key, name and distances.
type Bucket = (Option<String>, Option<String>, Values);

/// Rows per unit of parallel work.
const CHUNK: usize = 16_384;

/// Measures every resident of `dataset` to `target`.
pub fn resident_distances<E: Executor>(
    dataset: &Dataset,
    target: Target,
    exec: &E,
) -> Result<ResidentDistances> {
    let residents = dataset.residents();
    let locs = residents.locations();
    let facilities = dataset.facilities();
    // Outputs are allocated whole (zeroed, so untouched until written) and
    // every chunk of work fills its own slice: nothing to concatenate.
    let n = locs.len();
    let mut out = ResidentDistances {
        distance_m: vec![0.0; n],
        facility: vec![0; n],
    };
    let chunks: Vec<_> = out
        .distance_m
        .chunks_mut(CHUNK)
        .zip(out.facility.chunks_mut(CHUNK))
        .zip(chunk_ranges(n, CHUNK))
        .collect();
    match target {
        Target::Assigned => {
            let gp = residents.gp();
            exec.map(chunks, |((d, f), r)| {
                for ((d, f), i) in d.iter_mut().zip(f.iter_mut()).zip(r) {
                    (*d, *f) = match gp[i] {
                        NONE => (f64::NAN, NONE),
                        g => (geodesic_distance_m(locs[i], facilities.get(g).location), g),
                    };
                }
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
                for ((d, f), i) in d.iter_mut().zip(f.iter_mut()).zip(r) {
                    let hit = index.nearest(locs[i]).expect("index is not empty");
                    (*d, *f) = (hit.distance_m, hit.facility);
                }
            });
        }
    }
    Ok(out)
}

/// One group of a [`DistanceReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GroupStats {
    /// Enough people: the figures.
    Stats {
        /// Group key (`null` for residents without a value).
        key: Option<String>,
        /// Human name of the key, when known (municipality or area names).
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The figures.
        #[serde(flatten)]
        summary: Summary,
    },
    /// Fewer than `min_group_size` people: no figures.
    Suppressed {
        /// Group key.
        key: Option<String>,
        /// Human name of the key, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Always true.
        suppressed: bool,
    },
}

impl GroupStats {
    /// The group key.
    pub fn key(&self) -> Option<&str> {
        match self {
            GroupStats::Stats { key, .. } | GroupStats::Suppressed { key, .. } => key.as_deref(),
        }
    }

    /// The figures, unless suppressed.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            GroupStats::Stats { summary, .. } => Some(summary),
            GroupStats::Suppressed { .. } => None,
        }
    }
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
    /// Always `geodesic` (WGS84, Karney).
    pub metric: &'static str,
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

fn serialize_whole<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        s.serialize_u64(*x as u64)
    } else {
        s.serialize_f64(*x)
    }
}

/// A distances request.
#[derive(Debug, Clone)]
pub struct DistanceQuery {
    /// What to measure to.
    pub target: Target,
    /// How to group.
    pub group_by: GroupBy,
    /// Privacy threshold in people (default 10).
    pub min_group_size: f64,
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
    // Resolve the grouping before the expensive part so bad names fail fast.
    let (codes, labels): (Vec<u32>, Vec<(String, Option<String>)>) = match &query.group_by {
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
    };
    let measured = resident_distances(dataset, query.target, exec)?;
    let (codes, labels) = if query.group_by == GroupBy::Facility {
        let labels = dataset
            .facilities()
            .iter()
            .map(|x| (x.id.0.clone(), x.name.clone()))
            .collect();
        (measured.facility.clone(), labels)
    } else {
        (codes, labels)
    };

    // Per group the distances (unit weights) or (distance, weight) pairs;
    // the last bucket is "no key". Buckets are sized by a first counting
    // pass: growing them would copy and fault pages repeatedly.
    let weights = residents.weights();
    let unit = residents.has_unit_weights();
    let nb = labels.len() + 1;
    let bucket_of = |i: usize| match codes[i] {
        NONE => labels.len(),
        c => c as usize,
    };
    let mut unmeasured = 0.0;
    let buckets: Vec<Values> = if unit && query.group_by == GroupBy::All {
        // One group: the distances themselves, without a copy.
        let mut d = measured.distance_m;
        d.retain(|x| !x.is_nan());
        unmeasured = (residents.len() - d.len()) as f64;
        vec![Values::Unit(d), Values::Unit(Vec::new())]
    } else {
        let mut counts = vec![0usize; nb];
        for (i, &d) in measured.distance_m.iter().enumerate() {
            if d.is_nan() {
                unmeasured += weights[i];
            } else {
                counts[bucket_of(i)] += 1;
            }
        }
        if unit {
            let mut b: Vec<Vec<f64>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
            for (i, &d) in measured.distance_m.iter().enumerate() {
                if !d.is_nan() {
                    b[bucket_of(i)].push(d);
                }
            }
            b.into_iter().map(Values::Unit).collect()
        } else {
            let mut b: Vec<Vec<(f64, f64)>> =
                counts.iter().map(|&c| Vec::with_capacity(c)).collect();
            for (i, &d) in measured.distance_m.iter().enumerate() {
                if !d.is_nan() {
                    b[bucket_of(i)].push((d, weights[i]));
                }
            }
            b.into_iter().map(Values::Weighted).collect()
        }
    };
    let mut groups: Vec<Bucket> = buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(i, b)| match labels.get(i) {
            Some((k, n)) => (Some(k.clone()), n.clone(), b),
            None => (None, None, b),
        })
        .collect();
    groups.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let min = query.min_group_size;
    let groups = exec.map(groups, |(key, name, values)| {
        let summary = match values {
            Values::Unit(mut v) => Summary::from_values_in_place(&mut v),
            Values::Weighted(mut p) => Summary::from_weighted(&mut p),
        };
        match summary {
            Some(s) if s.count >= min => GroupStats::Stats {
                key,
                name,
                summary: s.rounded(),
            },
            _ => GroupStats::Suppressed {
                key,
                name,
                suppressed: true,
            },
        }
    });
    let (to, kind) = match query.target {
        Target::Assigned => ("assigned", None),
        Target::Nearest(k) => ("nearest", Some(k)),
    };
    Ok(DistanceReport {
        dataset: dataset.name.clone(),
        to,
        kind,
        metric: "geodesic",
        group_by: query.group_by.name().map(str::to_owned),
        min_group_size: min,
        unmeasured,
        groups,
    })
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
