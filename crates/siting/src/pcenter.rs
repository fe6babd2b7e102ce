//! The p-center problem (Hakimi 1965): open `p` sites so that the largest
//! cost from a demand point to its nearest open site is least. Unweighted,
//! as in spopt: a point with people in it counts whatever its weight.
//!
//! The optimum is one of the distinct costs. Bisection over them (Minieka
//! 1970) asks at each radius whether `p` sites cover everyone
//! ([`crate::lscp`]'s search, stopped at the first cover of `p` sites or
//! fewer, or at the proof that none exists). The answer is proven when the
//! next smaller distinct cost has been shown to need more than `p` sites.

use std::time::Duration;

use crate::cover::Coverage;
use crate::lscp::{mask, min_cover};
use crate::{Clock, Instance, SitingError, Solution};

/// Options of [`pcenter`].
#[derive(Debug, Clone)]
pub struct PcenterParams {
    /// New sites to open (at least 1).
    pub p: usize,
    /// Sites already open.
    pub existing: Vec<u32>,
    /// Return the best solution so far, with its gap, after this long.
    pub time_limit: Option<Duration>,
    /// Abandons the search when raised (the caller's request is gone).
    pub interrupt: Option<bacino_core::Interrupt>,
}

impl PcenterParams {
    /// Open `p` sites, no existing ones.
    pub fn new(p: usize) -> PcenterParams {
        PcenterParams {
            p,
            existing: Vec::new(),
            time_limit: None,
            interrupt: None,
        }
    }
}

/// Solves the p-center problem: `objective` is the largest cost.
pub fn pcenter(inst: &Instance, params: &PcenterParams) -> Result<Solution, SitingError> {
    let m = inst.sites();
    let existing = mask(m, &params.existing);
    crate::pmedian::check_p(params.p, &existing)?;
    let clock = Clock::new(params.time_limit, params.interrupt.clone());
    // Each point must reach some site: the least radius is at least every
    // point's nearest cost.
    let mut lo = 0.0f64;
    for i in 0..inst.demand() {
        if inst.weights()[i] == 0.0 {
            continue;
        }
        match inst.row(i).1.first() {
            Some(&c) => lo = lo.max(c),
            None => {
                return Err(SitingError::Infeasible(format!(
                    "demand point {i} is out of reach of every candidate site"
                )))
            }
        }
    }
    let radii: Vec<f64> = inst
        .distinct_costs()
        .into_iter()
        .filter(|&c| c >= lo)
        .collect();
    let (mut nodes, mut iterations) = (0u64, 0u64);
    let mut decide = |r: f64| -> Option<Option<Vec<u32>>> {
        let cov = Coverage::new(inst, r, &existing, false);
        let out = min_cover(&cov, Some(params.p), clock.clone());
        nodes += out.nodes;
        iterations += out.iterations;
        match out.best {
            Some(b) if b.len() <= params.p => Some(Some(b)),
            _ if out.lower > params.p => Some(None),
            _ => None, // the clock ran out undecided
        }
    };
    // Invariant: radii[hi] is feasible (with `best`), radii[..=lo_bad] are not.
    let last = radii.len() - 1;
    let mut best = match decide(radii[last]) {
        Some(Some(b)) => b,
        Some(None) => {
            return Err(SitingError::Infeasible(format!(
                "{} sites cannot reach every demand point at any distance",
                params.p
            )))
        }
        None => {
            return Err(SitingError::Infeasible(
                "no solution found within the time limit".into(),
            ))
        }
    };
    let (mut lo_i, mut hi_i) = (0usize, last); // answer in radii[lo_i..=hi_i]
    while lo_i < hi_i {
        let mid = lo_i + (hi_i - lo_i) / 2;
        match decide(radii[mid]) {
            Some(Some(b)) => {
                best = b;
                hi_i = mid;
            }
            Some(None) => lo_i = mid + 1,
            None => break,
        }
    }
    // Fill up to p sites (a p-center uses all p; extra sites never hurt).
    let mut open = best;
    let mut chosen = existing.clone();
    for &j in &open {
        chosen[j as usize] = true;
    }
    let mut j = 0;
    while open.len() < params.p {
        if !chosen[j] {
            chosen[j] = true;
            open.push(j as u32);
        }
        j += 1;
    }
    open.sort_unstable();
    let list: Vec<u32> = (0..m as u32).filter(|&j| chosen[j as usize]).collect();
    let objective = (0..inst.demand())
        .filter(|&i| inst.weights()[i] != 0.0)
        .map(|i| {
            inst.nearest_open(i, &chosen, &list)
                .map_or(f64::INFINITY, |x| x.1)
        })
        .fold(0.0f64, f64::max);
    Ok(Solution::new(
        open,
        objective,
        radii[lo_i],
        nodes,
        iterations,
    ))
}
