//! Location-allocation (CONTRACT §7): where to open `p` sites so that the
//! people they serve travel least (p-median), are covered most (maximal
//! covering), are all covered with the fewest sites (set covering), or
//! travel at most the least largest cost (p-center) — the capacitated
//! p-median, where each site serves at most its capacity, and the set
//! covering with backup (as many sites as the least cover, the most people
//! covered twice).
//!
//! Every solver returns its proof with its answer: the objective of the
//! best solution found, a proven `bound` on the optimum, and the relative
//! `gap` between them. `proven` is true only when the gap is within
//! [`PROVEN_GAP`] (floating-point rounding); a time limit returns the best
//! solution with its honest gap.
//!
//! - [`instance`]: demand × candidate costs, rows cheapest first, possibly
//!   truncated (a lower bound stands for the sites a row leaves out);
//! - [`pmedian`]: Lagrangian relaxation with subgradient steps, a fast
//!   interchange heuristic, and branch-and-bound with reduced-cost fixing;
//! - [`cpmedian`]: the capacitated p-median with splittable assignment,
//!   its knapsack Lagrangian bound and the same search, each site set
//!   evaluated by the certified transportation solver;
//! - [`mclp`]: the same scheme on the Lagrangian relaxation of coverage;
//! - [`lscp`]: set covering by branch-and-bound on the Lagrangian bound,
//!   rounded up, with unit propagation;
//! - [`lscpb`]: set covering with backup — as few sites as the least cover,
//!   the most weight covered twice — by the same search as `mclp`;
//! - [`pcenter`]: bisection over the distinct costs, each radius decided
//!   by the set-covering search;
//! - [`report`]: siting on a dataset — demand, candidates, metric — behind
//!   `bacino site` and `POST /v1/datasets/{name}/siting`.
//!
//! ```
//! use bacino_siting::{pmedian, Instance, PmedianParams};
//! // Three towns on a line at 0, 1 and 10 km, one site to open among them.
//! let at = [0.0, 1000.0, 10000.0];
//! let cost: Vec<Vec<f64>> =
//!     at.iter().map(|a| at.iter().map(|b| f64::abs(a - b)).collect()).collect();
//! let inst = Instance::dense(vec![100.0, 100.0, 50.0], &cost);
//! let s = pmedian(&inst, &PmedianParams::new(1)).unwrap();
//! assert_eq!(s.open, vec![1]);
//! assert_eq!(s.objective, 100.0 * 1000.0 + 50.0 * 9000.0);
//! assert!(s.proven);
//! ```

mod bnb;
pub mod candidates;
mod cover;
pub mod cpmedian;
mod demand;
pub mod instance;
pub mod lscp;
pub mod lscpb;
pub mod mclp;
pub mod params;
pub mod pcenter;
pub mod pmedian;
pub mod report;
pub mod truncate;

use std::time::{Duration, Instant};

pub use candidates::read_candidates;
pub use cpmedian::{cpmedian, Assignment, CpmedianParams};
pub use instance::{FarCost, Instance};
pub use lscp::{lscp, LscpParams};
pub use lscpb::{lscpb, LscpbParams};
pub use mclp::{mclp, MclpParams};
pub use params::{CandidatePoint, CandidatesParam, SitingParams};
pub use pcenter::{pcenter, PcenterParams};
pub use pmedian::{pmedian, pmedian_heuristic, pmedian_with_multipliers, PmedianParams};
pub use report::{
    export_costs, siting_report, Candidates, DemandAt, Model, SitingQuery, SitingReport,
};

/// A relative gap this small counts as optimality proven: what is left is
/// floating-point rounding in sums of a million terms.
pub const PROVEN_GAP: f64 = 1e-9;

/// A solver's answer with its proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The chosen new sites (indices into the instance's sites), ascending.
    pub open: Vec<u32>,
    /// The objective of `open` (with the existing sites).
    pub objective: f64,
    /// A proven bound on the optimum: a lower bound when minimising, an
    /// upper bound when maximising.
    pub bound: f64,
    /// `|objective − bound| / |objective|` (0 when both are 0).
    pub gap: f64,
    /// True when the gap is within [`PROVEN_GAP`].
    pub proven: bool,
    /// Branch-and-bound nodes explored.
    pub nodes: u64,
    /// Bound (Lagrangian) iterations.
    pub iterations: u64,
}

impl Solution {
    fn new(open: Vec<u32>, objective: f64, bound: f64, nodes: u64, iterations: u64) -> Solution {
        let gap = relative_gap(objective, bound);
        Solution {
            open,
            objective,
            bound,
            gap,
            proven: gap <= PROVEN_GAP,
            nodes,
            iterations,
        }
    }
}

/// `|objective − bound| / |objective|`, 0 when both are 0.
pub fn relative_gap(objective: f64, bound: f64) -> f64 {
    if objective == bound {
        0.0
    } else if objective == 0.0 {
        f64::INFINITY
    } else {
        ((objective - bound) / objective).abs()
    }
}

/// Why a model has no answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SitingError {
    /// `p` is out of range.
    #[error("p = {p}: {message}")]
    BadP {
        /// As asked.
        p: usize,
        /// What is wrong.
        message: String,
    },
    /// No choice of sites satisfies the model.
    #[error("infeasible: {0}")]
    Infeasible(String),
}

/// A deadline for a search, and the caller's interrupt: the time limit
/// ends the search with its best answer and honest gap; a raised interrupt
/// (the client gone, the request's deadline passed) abandons it by
/// unwinding (see [`bacino_core::Interrupt`]).
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    end: Option<Instant>,
    interrupt: Option<bacino_core::Interrupt>,
}

impl Clock {
    pub fn new(limit: Option<Duration>, interrupt: Option<bacino_core::Interrupt>) -> Clock {
        Clock {
            end: limit.map(|l| Instant::now() + l),
            interrupt,
        }
    }

    pub fn expired(&self) -> bool {
        if let Some(i) = &self.interrupt {
            i.check();
        }
        self.end.is_some_and(|e| Instant::now() >= e)
    }
}

pub(crate) use bacino_access::kernel::Sum;

#[cfg(test)]
mod tests;
