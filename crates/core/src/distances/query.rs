//! What a distances request asks: the target, the grouping, and the
//! residents' columns those read.

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::metric::MetricName;
use crate::model::FacilityKind;
use crate::ResidentColumns;

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
    /// The contract spelling, `None` for no grouping.
    pub fn name(&self) -> Option<&str> {
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

/// A distances request.
#[derive(Debug, Clone)]
pub struct DistanceQuery {
    /// What to measure to.
    pub target: Target,
    /// How to group.
    pub group_by: GroupBy,
    /// Privacy threshold in people (default 10).
    pub min_group_size: f64,
    /// The metric (default geodesic).
    pub metric: MetricName,
    /// With `n > 0`, each group also carries its distribution: the
    /// quantiles at 0, 1/n, …, 1 (`cdf_m`, and `cdf_s` under a network
    /// metric). 0: none.
    pub cdf_steps: u32,
}

impl Target {
    /// The residents' column this target reads beyond their locations:
    /// `gp_id` for the assigned GP.
    pub fn residents_column(&self) -> Option<&str> {
        match self {
            Target::Assigned => Some("gp_id"),
            Target::Nearest(_) => None,
        }
    }
}

impl GroupBy {
    /// The residents' column this grouping reads (areas and facilities
    /// are found from the locations and the distances).
    pub fn residents_column(&self) -> Option<&str> {
        match self {
            GroupBy::All | GroupBy::Area | GroupBy::Facility => None,
            GroupBy::Group => Some("group"),
            GroupBy::Municipality => Some("municipality"),
            GroupBy::Column(c) => Some(c),
        }
    }
}

impl DistanceQuery {
    /// The residents' columns this query reads: what a load for it must
    /// keep (see [`ResidentColumns`]).
    pub fn columns(&self) -> ResidentColumns {
        [
            self.target.residents_column(),
            self.group_by.residents_column(),
        ]
        .into_iter()
        .flatten()
        .fold(ResidentColumns::minimal(), ResidentColumns::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(target: Target, group_by: &str) -> DistanceQuery {
        DistanceQuery {
            target,
            group_by: group_by.parse().unwrap(),
            min_group_size: 10.0,
            metric: MetricName::Geodesic,
            cdf_steps: 0,
        }
    }

    #[test]
    fn a_query_keeps_the_columns_its_target_and_grouping_read() {
        let near = Target::Nearest(FacilityKind::Gp);
        for g in ["all", "area", "facility"] {
            assert_eq!(query(near, g).columns(), ResidentColumns::minimal(), "{g}");
        }
        let c = query(near, "municipality").columns();
        assert!(c.keeps_municipality() && !c.keeps_group() && !c.keeps_gp());
        let c = query(near, "group").columns();
        assert!(c.keeps_group() && !c.keeps_municipality());
        let c = query(near, "region").columns();
        assert!(c.keeps_extra("region") && !c.keeps_extra("province") && !c.keeps_gp());
        let c = query(near, "gp_id").columns();
        assert!(c.keeps_gp() && !c.keeps_extra("gp_id"));
        let c = query(Target::Assigned, "all").columns();
        assert!(c.keeps_gp() && !c.keeps_municipality());
    }
}
