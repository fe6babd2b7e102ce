//! A siting request as text (the command line) or JSON (the HTTP body),
//! checked into a [`SitingQuery`] with errors that name the field.

use std::path::Path;
use std::time::Duration;

use bacino_core::{Error, FacilityKind, OpenFacility, Result};
use serde::Deserialize;

use crate::candidates::read_candidates;
use crate::report::{Candidates, DemandAt, Model, SitingQuery};

/// Candidate sites as given over HTTP: `"kind:K"`, `"areas"`, or a list.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CandidatesParam {
    /// `kind:K` or `areas`.
    Named(String),
    /// Points `{id, lon, lat, capacity?}`.
    Points(Vec<CandidatePoint>),
}

/// A candidate site given by its point.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CandidatePoint {
    /// Id (distinct from the dataset's facility ids).
    pub id: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Capacity, when it matters.
    #[serde(default)]
    pub capacity: Option<u32>,
}

/// The request's fields (CONTRACT §7).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitingParams {
    /// `pmedian`, `cpmedian`, `mclp`, `lscp`, `lscpb` or `pcenter`.
    pub model: Option<String>,
    /// Candidate sites (required).
    pub candidates: Option<CandidatesParam>,
    /// `kind:K`: those facilities stay open.
    pub existing: Option<String>,
    /// New sites.
    pub p: Option<usize>,
    /// Service distance in the metric's unit.
    pub service_distance: Option<f64>,
    /// Capacity of candidate sites without their own (cpmedian).
    pub capacity: Option<u64>,
    /// Metric (default geodesic).
    pub metric: Option<String>,
    /// Residents' group forming the demand.
    pub demand_group: Option<String>,
    /// `residents` (default) or `areas`.
    pub demand: Option<String>,
    /// Kind the plan opens new sites as (default gp).
    pub site_kind: Option<String>,
    /// Relative gap to stop at (pmedian).
    pub gap: Option<f64>,
    /// Seconds before returning the best solution with its gap.
    pub time_limit_s: Option<f64>,
    /// Privacy threshold (HTTP: not below the server's).
    pub min_group_size: Option<f64>,
    /// Demand × site pairs above which a resident-level p-median
    /// truncates its rows (default 20 M).
    pub max_pairs: Option<u64>,
}

fn kind_of(field: &str, s: &str) -> Result<FacilityKind> {
    s.parse().map_err(|m: String| Error::param(field, m))
}

impl SitingParams {
    /// The query; `files` says whether `candidates` may name a CSV file
    /// (the command line) or not (HTTP, where they come inline).
    pub fn to_query(&self, min_group_size: f64, files: bool) -> Result<SitingQuery> {
        let model: Model = self
            .model
            .as_deref()
            .ok_or_else(|| {
                Error::param(
                    "model",
                    "required: pmedian, cpmedian, mclp, lscp, lscpb or pcenter",
                )
            })?
            .parse()?;
        let site_kind = match &self.site_kind {
            None => FacilityKind::Gp,
            Some(s) => kind_of("site_kind", s)?,
        };
        let candidates = match &self.candidates {
            None => {
                return Err(Error::param(
                    "candidates",
                    "required: `kind:K`, `areas`, or the candidate sites",
                ))
            }
            Some(CandidatesParam::Named(s)) => {
                let s = s.trim();
                if let Some(k) = s.strip_prefix("kind:") {
                    Candidates::Kind(kind_of("candidates", k)?)
                } else if s == "areas" {
                    Candidates::Areas
                } else if files {
                    Candidates::Points(read_candidates(Path::new(s), site_kind)?)
                } else {
                    return Err(Error::param(
                        "candidates",
                        format!(
                            "expected `kind:K`, `areas` or a list of {{id, lon, lat}}, found `{s}`"
                        ),
                    ));
                }
            }
            Some(CandidatesParam::Points(list)) => {
                if list.is_empty() {
                    return Err(Error::param(
                        "candidates",
                        "expected at least one candidate site",
                    ));
                }
                Candidates::Points(
                    list.iter()
                        .map(|c| OpenFacility {
                            id: c.id.clone(),
                            kind: site_kind,
                            lon: c.lon,
                            lat: c.lat,
                            capacity: c.capacity,
                            name: None,
                            municipality: None,
                        })
                        .collect(),
                )
            }
        };
        let existing = match self.existing.as_deref().map(str::trim) {
            None => None,
            Some(s) => match s.strip_prefix("kind:") {
                Some(k) => Some(kind_of("existing", k)?),
                None => {
                    return Err(Error::param(
                        "existing",
                        format!("expected `kind:K`, found `{s}`"),
                    ))
                }
            },
        };
        let demand_at = match self.demand.as_deref().map(str::trim) {
            None | Some("residents") => DemandAt::Residents,
            Some("areas") => DemandAt::Areas,
            Some(o) => {
                return Err(Error::param(
                    "demand",
                    format!("expected `residents` or `areas`, found `{o}`"),
                ))
            }
        };
        let gap = match self.gap {
            Some(g) if !(g.is_finite() && (0.0..1.0).contains(&g)) => {
                return Err(Error::param(
                    "gap",
                    format!("expected a number in 0..1, found {g}"),
                ))
            }
            g => g,
        };
        let time_limit = match self.time_limit_s {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => {
                return Err(Error::param(
                    "time_limit_s",
                    format!("expected a positive number of seconds, found {t}"),
                ))
            }
        };
        Ok(SitingQuery {
            model,
            candidates,
            existing,
            p: self.p,
            service: self.service_distance,
            capacity: match (model, self.capacity) {
                (_, Some(0)) => {
                    return Err(Error::param(
                        "capacity",
                        "expected a positive number of people",
                    ))
                }
                (crate::report::Model::Cpmedian, c) => c,
                (_, None) => None,
                (_, Some(_)) => {
                    return Err(Error::param("capacity", "only cpmedian takes a capacity"))
                }
            },
            metric: self.metric.as_deref().unwrap_or("geodesic").parse()?,
            group: self.demand_group.clone(),
            demand_at,
            site_kind,
            gap,
            time_limit,
            min_group_size: self.min_group_size.unwrap_or(min_group_size),
            max_pairs: self.max_pairs.unwrap_or(crate::report::MAX_PAIRS),
        })
    }
}
