//! The Ambulatori Diffusi report (CONTRACT §9, `bacino ad`): slots offered
//! and booked per ISO week or month, occupancy and doctors with an active
//! agenda, and the distances of `ad_user` residents to the AD GP they
//! visited beside those of listed patients to their own GP, overall and by
//! municipality.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bacino_network::NetworkInfo;
use serde::Serialize;

use crate::agendas::{civil_from_days, iso_week, Day};
use crate::costs::CostsInfo;
use crate::dataset::Dataset;
use crate::distances::{resident_distances, GroupStats, Target, TimeSummary};
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::index::FacilityIndex;
use crate::metric::{Metric, MetricName};
use crate::model::{LonLat, NONE};
use crate::reassign::{place, scenario_report, Figures, TimeFigures};
use crate::stats::Summary;

/// How agenda days are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    /// ISO 8601 weeks, `"2022-W27"` (the ISO year of the week).
    #[default]
    Week,
    /// Calendar months, `"2022-07"`.
    Month,
}

impl Period {
    /// `week` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The label of the period holding `day`.
    pub fn label(self, day: Day) -> String {
        match self {
            Period::Week => {
                let (y, w) = iso_week(day);
                format!("{y:04}-W{w:02}")
            }
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                format!("{y:04}-{m:02}")
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = Error;

    fn from_str(s: &str) -> Result<Period> {
        match s.trim() {
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            other => Err(Error::param(
                "by",
                format!("expected `week` or `month`, found `{other}`"),
            )),
        }
    }
}

/// An AD report request.
#[derive(Debug, Clone, PartialEq)]
pub struct AdQuery {
    /// Weeks or months.
    pub by: Period,
    /// The metric of the distances.
    pub metric: MetricName,
    /// Privacy threshold for the distance figures, people.
    pub min_group_size: f64,
    /// Match the people without a GP to each period's slots within this
    /// distance, metres (`None`: no matching).
    pub match_max_m: Option<f64>,
}

impl Default for AdQuery {
    fn default() -> Self {
        AdQuery {
            by: Period::Week,
            metric: MetricName::Geodesic,
            min_group_size: crate::distances::DEFAULT_MIN_GROUP_SIZE,
            match_max_m: None,
        }
    }
}

/// The people without a GP matched to one period's slots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matching {
    /// People without a GP of their own (no `gp_id`, or `ad_user`).
    pub people: u64,
    /// Of whom given a slot within `max_distance_m`.
    pub seen: u64,
    /// Of whom left without one (no AD GP with a slot left within reach).
    pub unseen: u64,
    /// Distances of the seen to their slot's GP.
    pub distance: Figures,
    /// Their travel times, under a metric with times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeFigures>,
    /// The matching was certified optimal.
    pub proven: bool,
}

/// The slots of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodSlots {
    /// `"2022-W27"` or `"2022-07"`.
    pub period: String,
    /// Slots offered.
    pub slots_available: u64,
    /// Slots booked.
    pub slots_booked: u64,
    /// Offered and not booked.
    pub slots_free: u64,
    /// Booked / available, to 4 decimals (`null` when nothing was offered).
    pub occupancy: Option<f64>,
    /// AD GPs offering at least one slot.
    pub doctors_active: u64,
    /// Distances of the people without a GP to the nearest AD GP with a
    /// free slot in the period (`{"suppressed": true}` under
    /// `min_group_size` people or when no slot is free).
    pub reach: Figures,
    /// Their travel times, under a metric with times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach_time: Option<TimeFigures>,
    /// The optimal matching of the people without a GP to the period's
    /// slots offered, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching: Option<Matching>,
}

/// Distances of AD users and of listed patients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdDistances {
    /// `ad_user` residents to the AD GP they visited.
    pub ad_user: GroupStats,
    /// Residents listed with a GP of their own, to that GP.
    pub listed: GroupStats,
}

/// [`AdDistances`] of one municipality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdMunicipality {
    /// ISTAT code (`null` for residents without one).
    pub key: Option<String>,
    /// Area name, when the dataset has areas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ad_user` residents to the AD GP they visited.
    pub ad_user: GroupStats,
    /// Listed patients to their own GP.
    pub listed: GroupStats,
}

/// The `bacino ad` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdReport {
    /// Dataset name.
    pub dataset: String,
    /// `week` or `month`.
    pub by: &'static str,
    /// The agendas file, `null` without `[agendas]` (then no periods).
    pub agendas: Option<String>,
    /// The metric of the distances.
    pub metric: &'static str,
    /// The extract and profile, under a network metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// The cost table, under `table`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<CostsInfo>,
    /// Privacy threshold of the distance figures, people.
    pub min_group_size: f64,
    /// The matching's maximum distance, metres, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_max_distance_m: Option<f64>,
    /// Slots per period, in time order.
    pub periods: Vec<PeriodSlots>,
    /// Distances overall.
    pub distances: AdDistances,
    /// Distances by municipality of residence, by key (`null` last).
    pub by_municipality: Vec<AdMunicipality>,
}

/// A period's slots offered and booked, and per AD GP (offered, free).
type PeriodSums = (u64, u64, BTreeMap<u32, (u64, u64)>);

/// Builds the AD report of `dataset`.
pub fn ad_report<E: Executor>(dataset: &Dataset, query: &AdQuery, exec: &E) -> Result<AdReport> {
    if query.min_group_size.is_nan() || query.min_group_size < 0.0 {
        return Err(Error::param(
            "min_group_size",
            format!(
                "expected a number of people >= 0, found {}",
                query.min_group_size
            ),
        ));
    }
    if let Some(m) = query.match_max_m {
        if !(m.is_finite() && m > 0.0) {
            return Err(Error::param(
                "match_max_m",
                format!("expected a positive number of metres, found {m}"),
            ));
        }
    }
    let metric = dataset.metric(query.metric, exec)?;
    let residents = dataset.residents();
    let ad_user = residents.group_code("ad_user");
    let groups = residents.group().codes();
    let weights = residents.weights();
    // People without a GP of their own: no gp_id, or an AD GP's visitor.
    let without: Vec<usize> = (0..residents.len())
        .filter(|&r| residents.gp()[r] == NONE || Some(groups[r]) == ad_user)
        .filter(|&r| weights[r] > 0.0)
        .collect();
    let min = query.min_group_size;
    // Slots per period: label order is time order (zero-padded).
    // period -> (available, booked, per GP (available, free))
    let mut by: BTreeMap<String, PeriodSums> = BTreeMap::new();
    if let Some(a) = dataset.agendas() {
        for s in &a.rows {
            let p = by.entry(query.by.label(s.day)).or_default();
            p.0 += u64::from(s.available);
            p.1 += u64::from(s.booked);
            let g = p.2.entry(s.gp).or_default();
            g.0 += u64::from(s.available);
            g.1 += u64::from(s.available - s.booked);
        }
    }
    let mut periods = Vec::with_capacity(by.len());
    for (period, (available, booked, gps)) in by {
        let free: Vec<u32> = gps.iter().filter(|g| g.1 .1 > 0).map(|g| *g.0).collect();
        let (reach, reach_time) = reach(dataset, metric, &without, &free, min, exec)?;
        let matching = match query.match_max_m {
            None => None,
            Some(max_d) => {
                let receivers: Vec<(u32, u64)> = gps.iter().map(|(&g, &(a, _))| (g, a)).collect();
                let solved = place(dataset, &without, &receivers, max_d, None, metric, exec)?;
                let report = scenario_report(dataset, &solved, min);
                Some(Matching {
                    people: report.patients,
                    seen: report.placed,
                    unseen: report.orphans,
                    distance: report
                        .new_distance
                        .unwrap_or(Figures::Suppressed { suppressed: true }),
                    time: report.new_time,
                    proven: report.optimality.proven,
                })
            }
        };
        periods.push(PeriodSlots {
            period,
            slots_available: available,
            slots_booked: booked,
            slots_free: available - booked,
            occupancy: (available > 0)
                .then(|| (booked as f64 / available as f64 * 10_000.0).round() / 10_000.0),
            doctors_active: gps.values().filter(|g| g.0 > 0).count() as u64,
            reach,
            reach_time,
            matching,
        });
    }

    // Distances to the GP named in gp_id: the AD GP visited for `ad_user`
    // rows, their own for the others.
    let d = resident_distances(dataset, Target::Assigned, metric, exec)?;
    let munis = residents.municipality().codes();
    let timed = d.time_s.is_some();
    // municipality -> [ad_user (m, s), listed (m, s)]
    type Pairs = Vec<(f64, f64)>;
    let mut muni: BTreeMap<u32, [(Pairs, Pairs); 2]> = BTreeMap::new();
    let mut all: [(Pairs, Pairs); 2] = Default::default();
    for r in 0..residents.len() {
        if residents.gp()[r] == NONE || d.distance_m[r].is_nan() {
            continue;
        }
        let k = usize::from(Some(groups[r]) != ad_user);
        let w = weights[r];
        let t = d.time_s.as_ref().map_or(f64::NAN, |t| t[r]);
        let m = muni.entry(munis[r]).or_default();
        for slot in [&mut all[k], &mut m[k]] {
            slot.0.push((d.distance_m[r], w));
            if timed {
                slot.1.push((t, w));
            } else if d.seconds_only {
                slot.1.push((d.distance_m[r], w));
            }
        }
    }
    let so = d.seconds_only;
    let [(mut am, mut as_), (mut lm, mut ls)] = all;
    let distances = AdDistances {
        ad_user: GroupStats::of_pairs("ad_user", &mut am, &mut as_, timed, so, min),
        listed: GroupStats::of_pairs("listed", &mut lm, &mut ls, timed, so, min),
    };
    let names: BTreeMap<&str, &str> = dataset.areas().map_or_else(BTreeMap::new, |areas| {
        (0..areas.len())
            .filter_map(|i| Some((areas.id(i), areas.name(i)?)))
            .collect()
    });
    let values = residents.municipality().values();
    let mut by_municipality: Vec<AdMunicipality> = muni
        .into_iter()
        .map(|(code, [(mut am, mut as_), (mut lm, mut ls)])| {
            let key = (code != NONE).then(|| values[code as usize].clone());
            let name = key
                .as_deref()
                .and_then(|k| names.get(k))
                .map(|s| (*s).to_owned());
            AdMunicipality {
                key,
                name,
                ad_user: GroupStats::of_pairs("ad_user", &mut am, &mut as_, timed, so, min),
                listed: GroupStats::of_pairs("listed", &mut lm, &mut ls, timed, so, min),
            }
        })
        .collect();
    by_municipality.sort_by(|a, b| match (&a.key, &b.key) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Ok(AdReport {
        dataset: dataset.name.clone(),
        by: query.by.as_str(),
        agendas: dataset.agendas().map(|a| a.path.clone()),
        metric: metric.name().as_str(),
        network: metric.network_info().cloned(),
        costs: match metric {
            crate::metric::Metric::Table(t) => Some(t.info().clone()),
            _ => None,
        },
        min_group_size: min,
        match_max_distance_m: query.match_max_m,
        periods,
        distances,
        by_municipality,
    })
}

/// Figures of `rows`' distances to the nearest of `members` under
/// `metric` (people no member can be reached from are left out).
fn reach<E: Executor>(
    dataset: &Dataset,
    metric: Metric<'_>,
    rows: &[usize],
    members: &[u32],
    min_group_size: f64,
    exec: &E,
) -> Result<(Figures, Option<TimeFigures>)> {
    let weights = dataset.residents().weights();
    let locs = dataset.residents().locations();
    let mut metres: Vec<(f64, f64)> = Vec::new();
    let mut seconds: Vec<(f64, f64)> = Vec::new();
    let timed = matches!(metric, Metric::Network(_))
        || matches!(metric, Metric::Table(t) if t.unit() == crate::costs::CostUnit::Seconds);
    if !members.is_empty() {
        match metric {
            Metric::Geodesic => {
                let index = FacilityIndex::new(dataset.facilities(), members);
                let near: Vec<Option<f64>> = exec
                    .map(crate::exec::chunk_ranges(rows.len(), 4096), |r| {
                        let points: Vec<LonLat> = rows[r].iter().map(|&row| locs[row]).collect();
                        let mut near = Vec::with_capacity(points.len());
                        index.for_each_nearest(&points, |n| near.push(n.map(|n| n.distance_m)));
                        near
                    })
                    .concat();
                for (&row, d) in rows.iter().zip(near) {
                    if let Some(d) = d {
                        metres.push((d, weights[row]));
                    }
                }
            }
            Metric::Network(net) => {
                let snaps = net.facility_snaps();
                let targets: Vec<bacino_network::Target> = members
                    .iter()
                    .filter_map(|&f| {
                        Some(bacino_network::Target {
                            label: f,
                            snap: snaps[f as usize]?,
                        })
                    })
                    .collect();
                let origins: Vec<_> = rows.iter().map(|&r| net.resident_snaps()[r]).collect();
                for (&row, c) in rows.iter().zip(net.network().nearest(&targets, &origins)) {
                    if let Some((c, _)) = c {
                        metres.push((c.length_m(), weights[row]));
                        seconds.push((c.time_s(), weights[row]));
                    }
                }
            }
            Metric::Table(t) => {
                for &row in rows {
                    let best = t
                        .of(row)
                        .iter()
                        .filter(|(f, _)| members.binary_search(f).is_ok())
                        .map(|p| p.1)
                        .fold(f64::INFINITY, f64::min);
                    if best.is_finite() {
                        if t.unit() == crate::costs::CostUnit::Seconds {
                            seconds.push((best, weights[row]));
                        } else {
                            metres.push((best, weights[row]));
                        }
                    }
                }
            }
        }
    }
    let shown = |s: &Summary| s.count >= min_group_size && s.count > 0.0;
    let figures = match Summary::from_weighted(&mut metres) {
        Some(s) if shown(&s) => Figures::Stats(s.rounded()),
        _ => Figures::Suppressed { suppressed: true },
    };
    let time = timed.then(|| match Summary::from_weighted(&mut seconds) {
        Some(s) if shown(&s) => TimeFigures::Stats {
            count: s.count,
            time: TimeSummary::from(s),
        },
        _ => TimeFigures::Suppressed { suppressed: true },
    });
    Ok((figures, time))
}
