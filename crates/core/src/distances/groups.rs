//! One group's figures in a distances document: [`GroupStats`] and its
//! travel-time part [`TimeSummary`], with their contract spelling.

use serde::Serialize;

use crate::stats::{round_mm, serialize_whole, Summary};

/// One group of a [`DistanceReport`].
#[derive(Debug, Clone, PartialEq)]
pub enum GroupStats {
    /// Enough people: the figures.
    Stats {
        /// Group key (`null` for residents without a value).
        key: Option<String>,
        /// Human name of the key, when known (municipality or area names).
        name: Option<String>,
        /// The figures (metres; seconds when `seconds_only`).
        summary: Summary,
        /// Travel-time figures (seconds), under a network metric.
        time: Option<TimeSummary>,
        /// The figures are seconds (a `table` in seconds): written as `*_s`.
        seconds_only: bool,
        /// The distribution: quantiles on [`DistanceQuery::cdf_steps`]'
        /// grid, metres (seconds when `seconds_only`); written `cdf_m`.
        cdf: Option<Vec<f64>>,
        /// The same of travel times, seconds, under a network metric;
        /// written `cdf_s`.
        cdf_time: Option<Vec<f64>>,
    },
    /// Fewer than `min_group_size` people: no figures.
    Suppressed {
        /// Group key.
        key: Option<String>,
        /// Human name of the key, when known.
        name: Option<String>,
        /// Always true.
        suppressed: bool,
    },
}

/// A count of people, written as an integer when whole.
struct Whole(f64);

impl Serialize for Whole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serialize_whole(&self.0, s)
    }
}

impl Serialize for GroupStats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            GroupStats::Stats {
                key,
                name,
                summary: x,
                time,
                seconds_only,
                cdf,
                cdf_time,
            } => {
                m.serialize_entry("key", key)?;
                if let Some(n) = name {
                    m.serialize_entry("name", n)?;
                }
                m.serialize_entry("count", &Whole(x.count))?;
                let figures = [x.median_m, x.p25_m, x.p75_m, x.p90_m, x.mean_m, x.max_m];
                let names_m = ["median_m", "p25_m", "p75_m", "p90_m", "mean_m", "max_m"];
                let names_s = ["median_s", "p25_s", "p75_s", "p90_s", "mean_s", "max_s"];
                if *seconds_only {
                    for (k, v) in names_s.iter().zip(figures) {
                        m.serialize_entry(k, &v)?;
                    }
                } else {
                    for (k, v) in names_m.iter().zip(figures) {
                        m.serialize_entry(k, &v)?;
                    }
                }
                if let Some(t) = time {
                    let t = [t.median_s, t.p25_s, t.p75_s, t.p90_s, t.mean_s, t.max_s];
                    for (k, v) in names_s.iter().zip(t) {
                        m.serialize_entry(k, &v)?;
                    }
                }
                if let Some(c) = cdf {
                    m.serialize_entry(if *seconds_only { "cdf_s" } else { "cdf_m" }, c)?;
                }
                if let Some(c) = cdf_time {
                    m.serialize_entry("cdf_s", c)?;
                }
            }
            GroupStats::Suppressed {
                key,
                name,
                suppressed,
            } => {
                m.serialize_entry("key", key)?;
                if let Some(n) = name {
                    m.serialize_entry("name", n)?;
                }
                m.serialize_entry("suppressed", suppressed)?;
            }
        }
        m.end()
    }
}

impl GroupStats {
    /// The figures of one group from `(value, weight)` pairs of metres and
    /// of seconds (a `table` in seconds: `seconds` only, written `*_s`),
    /// suppressed under `min_group_size` people. Reorders the pairs.
    pub(crate) fn of_pairs(
        key: &str,
        metres: &mut [(f64, f64)],
        seconds: &mut [(f64, f64)],
        timed: bool,
        seconds_only: bool,
        min_group_size: f64,
    ) -> GroupStats {
        let main = if seconds_only {
            &mut *seconds
        } else {
            &mut *metres
        };
        match Summary::from_weighted(main) {
            Some(s) if s.count >= min_group_size && s.count > 0.0 => GroupStats::Stats {
                key: Some(key.to_owned()),
                name: None,
                summary: s.rounded(),
                time: (timed && !seconds_only)
                    .then(|| Summary::from_weighted(seconds).map(TimeSummary::from))
                    .flatten(),
                seconds_only,
                cdf: None,
                cdf_time: None,
            },
            _ => GroupStats::Suppressed {
                key: Some(key.to_owned()),
                name: None,
                suppressed: true,
            },
        }
    }

    /// Hides the figures (secondary suppression), keeping key and name.
    pub fn suppress(&mut self) {
        if let GroupStats::Stats { key, name, .. } = self {
            *self = GroupStats::Suppressed {
                key: key.take(),
                name: name.take(),
                suppressed: true,
            };
        }
    }

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

    /// The travel-time figures, under a network metric and unless
    /// suppressed.
    pub fn time(&self) -> Option<&TimeSummary> {
        match self {
            GroupStats::Stats { time, .. } => time.as_ref(),
            GroupStats::Suppressed { .. } => None,
        }
    }
}

/// Travel-time figures of a group (seconds), beside its metres under a
/// network metric (CONTRACT §5: `*_s` and `*_m` of the same routes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimeSummary {
    /// Weighted median.
    pub median_s: f64,
    /// 25th percentile.
    pub p25_s: f64,
    /// 75th percentile.
    pub p75_s: f64,
    /// 90th percentile.
    pub p90_s: f64,
    /// Weighted mean.
    pub mean_s: f64,
    /// Largest.
    pub max_s: f64,
}

impl From<Summary> for TimeSummary {
    fn from(s: Summary) -> TimeSummary {
        TimeSummary {
            median_s: round_mm(s.median_m),
            p25_s: round_mm(s.p25_m),
            p75_s: round_mm(s.p75_m),
            p90_s: round_mm(s.p90_m),
            mean_s: round_mm(s.mean_m),
            max_s: round_mm(s.max_m),
        }
    }
}
