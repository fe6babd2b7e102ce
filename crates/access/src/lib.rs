//! Accessibility indices (CONTRACT §6): supply per person within reach,
//! with distance decay and competition, at resident level and under any
//! metric.
//!
//! - [`decay`]: step, Gaussian, gravity and logistic decay functions;
//! - [`kernel`]: the sparse resident × facility kernel, pruned at
//!   `max_cost`, and compensated sums;
//! - [`fca`]: 2SFCA (E2SFCA, G2SFCA), 3SFCA, Huff, BFCA, spatial
//!   availability, weighted catchment;
//! - [`raam`]: the Rational Agent Access Model solved to equilibrium
//!   ([`raam_sites`]: on the geodesic, facilities at one point as one);
//! - [`coverage`]: how many people the facilities can take within reach
//!   given their capacities — exactly (min-cost maximum flow), or by
//!   AccessMod's order-dependent procedure;
//! - [`report`]: the dataset-level analysis behind `bacino access` and
//!   `GET /v1/datasets/{name}/access`.
//!
//! The algorithms are pure and sequential; building the kernel (the
//! distances) runs on an [`bacino_core::Executor`].

mod cholesky;
pub mod coverage;
pub mod decay;
mod exp;
pub mod fca;
pub mod kernel;
pub mod raam;
mod raam_finish;
mod raam_near;
pub mod raam_sites;
mod raam_warm;
pub mod report;
pub mod rows;

use std::fmt;
use std::str::FromStr;

use bacino_core::{Error, Result};

pub use coverage::{coverage_report, CoverageParams, CoverageQuery, CoverageReport, Mode, Order};
pub use decay::Decay;
pub use fca::Scores;
pub use kernel::Kernel;
pub use raam::{Raam, RaamParams};
pub use report::{
    access_report, access_reports, AccessGroup, AccessParams, AccessQuery, AccessReport, Supply,
};
pub use rows::{CostRows, Decayed, GeodesicCosts, GeodesicRows, NearWindows, Row, WeightRows};

/// An accessibility method (CONTRACT §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Two-step floating catchment, any decay (uniform by default).
    TwoStep,
    /// Enhanced 2SFCA: step weights.
    Enhanced,
    /// Gaussian 2SFCA.
    Gaussian,
    /// Three-step floating catchment.
    ThreeStep,
    /// Balanced floating catchment.
    Balanced,
    /// Spatial availability.
    SpatialAvailability,
    /// Huff-model 2SFCA.
    Huff,
    /// Weighted catchment (gravity potential without competition).
    Gravity,
    /// Rational Agent Access Model, to equilibrium.
    Raam,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 9] = [
        Method::TwoStep,
        Method::Enhanced,
        Method::Gaussian,
        Method::ThreeStep,
        Method::Balanced,
        Method::SpatialAvailability,
        Method::Huff,
        Method::Gravity,
        Method::Raam,
    ];

    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::TwoStep => "2sfca",
            Method::Enhanced => "e2sfca",
            Method::Gaussian => "g2sfca",
            Method::ThreeStep => "3sfca",
            Method::Balanced => "bfca",
            Method::SpatialAvailability => "sa",
            Method::Huff => "huff",
            Method::Gravity => "gravity",
            Method::Raam => "raam",
        }
    }

    /// True when a higher score means better access (all but RAAM, whose
    /// score is a cost).
    pub fn higher_is_better(self) -> bool {
        self != Method::Raam
    }

    /// The decay the method uses given what was asked for, or an error
    /// naming the parameter: E2SFCA needs step weights (default: Luo &
    /// Qi's 1, 0.68, 0.22 at a third, two thirds and all of `max_cost`),
    /// G2SFCA a Gaussian, RAAM none.
    pub fn decay(self, asked: Option<Decay>, max_cost: f64) -> Result<Decay> {
        if let Some(d) = &asked {
            d.validate()?;
        }
        match (self, asked) {
            (Method::Raam, Some(d)) => Err(Error::param(
                d.name_param(),
                "raam takes no decay: travel cost enters through tau",
            )),
            (Method::Raam, None) => Ok(Decay::Uniform),
            (Method::Enhanced, None) => Ok(Decay::Step(vec![
                (max_cost / 3.0, 1.0),
                (2.0 * max_cost / 3.0, 0.68),
                (max_cost, 0.22),
            ])),
            (Method::Enhanced, Some(d @ Decay::Step(_))) => Ok(d),
            (Method::Enhanced, Some(d)) => Err(Error::param(
                d.name_param(),
                "e2sfca takes step weights (`weights`), not this decay",
            )),
            (Method::Gaussian, Some(d @ Decay::Gaussian { .. })) => Ok(d),
            (Method::Gaussian, _) => Err(Error::param(
                "gaussian",
                "g2sfca needs the Gaussian's sigma (`gaussian`, in the metric's unit)",
            )),
            (_, Some(d)) => Ok(d),
            (_, None) => Ok(Decay::Uniform),
        }
    }
}

impl Decay {
    /// The parameter that sets this decay.
    pub fn name_param(&self) -> &'static str {
        match self {
            Decay::Uniform => "method",
            Decay::Step(_) => "weights",
            Decay::Gaussian { .. } => "gaussian",
            Decay::Gravity { .. } => "gravity",
            Decay::Logistic { .. } => "logistic",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
                Error::param(
                    "method",
                    format!("expected one of {}, found `{s}`", names.join(", ")),
                )
            })
    }
}

/// How 3SFCA normalises its selection weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelectionNorm {
    /// Over the facilities in reach (Wan, Zou & Sternberg 2012): the
    /// default.
    #[default]
    InReach,
    /// Over every facility, before the cut-off (PySAL `three_stage_fca`).
    AllPairs,
}

/// Scores every row of a cost kernel: the decay is applied to the costs,
/// then the method. `all_pairs_norm` is needed only for 3SFCA with
/// [`SelectionNorm::AllPairs`]: each row's decay weights summed over every
/// facility, before the cut-off.
pub fn scores(
    method: Method,
    decay: &Decay,
    cost: &Kernel,
    demand: &[f64],
    supply: &[f64],
    all_pairs_norm: Option<&[f64]>,
    raam_params: RaamParams,
) -> (Scores, Option<Raam>) {
    let seq = bacino_core::Sequential;
    scores_in(
        method,
        decay,
        cost,
        demand,
        supply,
        all_pairs_norm,
        raam_params,
        &seq,
    )
}

/// [`scores`], with RAAM's passes run by `exec`.
#[allow(clippy::too_many_arguments)]
pub fn scores_in<E: bacino_core::Executor>(
    method: Method,
    decay: &Decay,
    cost: &Kernel,
    demand: &[f64],
    supply: &[f64],
    all_pairs_norm: Option<&[f64]>,
    raam_params: RaamParams,
    exec: &E,
) -> (Scores, Option<Raam>) {
    if method == Method::Raam {
        return raam_scores(cost, demand, supply, raam_params, exec);
    }
    (
        weighted_scores(
            method,
            &Decayed { cost, decay },
            demand,
            supply,
            all_pairs_norm,
            exec,
        ),
        None,
    )
}

/// RAAM's equilibrium costs as scores (NaN, and not reached, for a row
/// with nothing in reach), on costs read by rows.
pub fn raam_scores<R: CostRows + ?Sized, E: bacino_core::Executor>(
    cost: &R,
    demand: &[f64],
    supply: &[f64],
    params: RaamParams,
    exec: &E,
) -> (Scores, Option<Raam>) {
    let r = raam::raam_in(cost, demand, supply, params, exec);
    let reached = r.cost.iter().map(|c| !c.is_nan()).collect();
    let s = Scores {
        value: r.cost.clone(),
        reached,
        facility_demand: r.facility_demand.clone(),
        allotted: Vec::new(),
    };
    (s, Some(r))
}

/// The scores of every method but RAAM from the decay weights `w`, read
/// by rows (a stored kernel, a cost kernel through its decay, or pairs
/// measured afresh).
pub fn weighted_scores<R: WeightRows + ?Sized, E: bacino_core::Executor>(
    method: Method,
    w: &R,
    demand: &[f64],
    supply: &[f64],
    all_pairs_norm: Option<&[f64]>,
    exec: &E,
) -> Scores {
    match method {
        Method::TwoStep | Method::Enhanced | Method::Gaussian => {
            fca::two_step(w, demand, supply, exec)
        }
        Method::ThreeStep => fca::three_step(w, demand, supply, all_pairs_norm, exec),
        Method::Huff => fca::huff(w, demand, supply, exec),
        Method::Balanced => fca::balanced(w, demand, supply, exec),
        Method::SpatialAvailability => fca::spatial_availability(w, demand, supply, exec),
        Method::Gravity => fca::weighted_catchment(w, supply, exec),
        Method::Raam => unreachable!("RAAM scores costs, not weights"),
    }
}

#[cfg(test)]
mod tests;
