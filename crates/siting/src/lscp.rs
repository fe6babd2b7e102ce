//! The location set covering problem (Toregas et al. 1971): the fewest new
//! sites such that every demand point is within the service distance of an
//! open site. Also the feasibility test behind [`crate::pcenter`]: can `p`
//! sites cover everyone at this radius?
//!
//! Demand points of one reach are merged first. The search is depth-first
//! branch-and-bound: at each node unit propagation opens a site that is
//! the last one reaching some point; the Lagrangian relaxation of the
//! covering constraints (Beasley 1990), raised by projected subgradient
//! steps, bounds the node, rounded up since the objective is a count;
//! reduced costs fix sites in or out; and the node branches on the
//! uncovered point with the fewest sites left, one child per site (the
//! earlier ones closed), cheapest reduced cost first. A greedy cover over
//! the Lagrangian reduced costs, made irredundant, gives the solutions.

use std::time::Duration;

use crate::cover::{reduce_cover, Coverage};
use crate::{Clock, Instance, SitingError, Solution};

/// Options of [`lscp`].
#[derive(Debug, Clone)]
pub struct LscpParams {
    /// The service distance (a site covers a point at cost ≤ it).
    pub service: f64,
    /// Sites already open.
    pub existing: Vec<u32>,
    /// Return the best cover so far, with its gap, after this long.
    pub time_limit: Option<Duration>,
    /// Abandons the search when raised (the caller's request is gone).
    pub interrupt: Option<bacino_core::Interrupt>,
}

impl LscpParams {
    /// Cover everyone within `service`, no existing sites.
    pub fn new(service: f64) -> LscpParams {
        LscpParams {
            service,
            existing: Vec::new(),
            time_limit: None,
            interrupt: None,
        }
    }
}

/// Solves the set covering problem: `objective` is the number of new
/// sites.
pub fn lscp(inst: &Instance, params: &LscpParams) -> Result<Solution, SitingError> {
    let existing = mask(inst.sites(), &params.existing);
    let cov = Coverage::new(inst, params.service, &existing, false);
    if cov.unreachable_points > 0 {
        return Err(SitingError::Infeasible(format!(
            "{} demand points ({} people) are farther than {} from every candidate site",
            cov.unreachable_points, cov.unreachable, params.service
        )));
    }
    let out = min_cover(
        &cov,
        None,
        Clock::new(params.time_limit, params.interrupt.clone()),
    );
    let best = out
        .best
        .expect("a cover exists when every point is reachable");
    let objective = best.len() as f64;
    Ok(Solution::new(
        best,
        objective,
        out.lower as f64,
        out.nodes,
        out.iterations,
    ))
}

pub(crate) fn mask(sites: usize, list: &[u32]) -> Vec<bool> {
    let mut m = vec![false; sites];
    for &j in list {
        m[j as usize] = true;
    }
    m
}

/// What a covering search found.
pub(crate) struct CoverOutcome {
    /// The least cover found (sites ascending), if any within the limit.
    pub best: Option<Vec<u32>>,
    /// A proven lower bound on the least cover.
    pub lower: usize,
    pub nodes: u64,
    pub iterations: u64,
}

const FREE: u8 = 0;
const IN: u8 = 1;
const OUT: u8 = 2;

struct Node {
    state: Vec<u8>,
    u: Vec<f64>,
    bound: usize,
}

struct Search<'a> {
    rows: &'a [Vec<u32>],
    cols: Vec<Vec<u32>>,
    clock: Clock,
    /// Covers of `ub` sites or more are of no interest.
    ub: usize,
    best: Option<Vec<u32>>,
    /// Stop once a cover this small is found.
    enough: usize,
    nodes: u64,
    iterations: u64,
}

/// The least cover of `cov`'s rows. With `limit = Some(p)` the search only
/// decides whether a cover of at most `p` sites exists: it stops at the
/// first one, and `best` is `None` when there is none.
pub(crate) fn min_cover(cov: &Coverage, limit: Option<usize>, clock: Clock) -> CoverOutcome {
    let m = cov.sites;
    let rows = reduce_cover(&cov.rows, m);
    let mut cols = vec![Vec::new(); m];
    for (r, row) in rows.iter().enumerate() {
        for &j in row {
            cols[j as usize].push(r as u32);
        }
    }
    let mut s = Search {
        rows: &rows,
        cols,
        clock,
        ub: limit.map_or(m + 1, |p| p + 1),
        best: None,
        enough: limit.unwrap_or(0),
        nodes: 0,
        iterations: 0,
    };
    if cov.rows.is_empty() {
        return CoverOutcome {
            best: Some(Vec::new()),
            lower: 0,
            nodes: 0,
            iterations: 0,
        };
    }
    let mut stack = vec![Node {
        state: vec![FREE; m],
        u: vec![0.5; rows.len()],
        bound: 0,
    }];
    let mut floor = usize::MAX;
    while let Some(node) = stack.pop() {
        if node.bound >= s.ub {
            continue;
        }
        if s.clock.expired() {
            floor = stack
                .iter()
                .map(|n| n.bound)
                .fold(node.bound.min(floor), usize::min);
            break;
        }
        if s.best.as_ref().is_some_and(|b| b.len() <= s.enough) {
            break;
        }
        s.nodes += 1;
        s.expand(node, &mut stack, &mut floor);
    }
    let lower = match &s.best {
        Some(b) => floor.min(b.len()),
        None => floor.min(s.ub),
    };
    CoverOutcome {
        best: s.best,
        lower,
        nodes: s.nodes,
        iterations: s.iterations,
    }
}

impl Search<'_> {
    fn offer(&mut self, cover: Vec<u32>) {
        if cover.len() < self.ub {
            self.ub = cover.len();
            self.best = Some(cover);
        }
    }

    /// Rows no `IN` site covers; `None` when one of them has no site left.
    /// Opens the last site of a row (repeatedly).
    fn propagate(&self, state: &mut [u8]) -> Option<Vec<u32>> {
        loop {
            let mut open_one = None;
            let mut unc = Vec::new();
            for (r, row) in self.rows.iter().enumerate() {
                let mut free = 0;
                let mut last = 0;
                let mut covered = false;
                for &j in row {
                    match state[j as usize] {
                        IN => {
                            covered = true;
                            break;
                        }
                        FREE => {
                            free += 1;
                            last = j;
                        }
                        _ => {}
                    }
                }
                if covered {
                    continue;
                }
                match free {
                    0 => return None,
                    1 => {
                        open_one = Some(last);
                        break;
                    }
                    _ => unc.push(r as u32),
                }
            }
            match open_one {
                Some(j) => state[j as usize] = IN,
                None => return Some(unc),
            }
        }
    }

    fn expand(&mut self, node: Node, stack: &mut Vec<Node>, floor: &mut usize) {
        let Node { mut state, u, .. } = node;
        let Some(unc) = self.propagate(&mut state) else {
            return;
        };
        let nin = state.iter().filter(|&&s| s == IN).count();
        if unc.is_empty() {
            let cover: Vec<u32> = (0..state.len() as u32)
                .filter(|&j| state[j as usize] == IN)
                .collect();
            *floor = (*floor).min(cover.len());
            self.offer(cover);
            return;
        }
        if nin + 1 >= self.ub {
            *floor = (*floor).min(nin + 1);
            return;
        }
        let (lb, rc, u) = self.subgradient(&state, &unc, u, nin);
        if lb >= self.ub {
            *floor = (*floor).min(lb);
            return;
        }
        // Reduced-cost fixing against the incumbent.
        let l = lb_value(&rc, &state, &u, &unc, nin);
        for (j, st) in state.iter_mut().enumerate() {
            if *st != FREE {
                continue;
            }
            if rc[j] > 0.0 && ceil(l + rc[j]) >= self.ub {
                *st = OUT;
            } else if rc[j] < 0.0 && ceil(l - rc[j]) >= self.ub {
                *st = IN;
            }
        }
        let Some(unc) = self.propagate(&mut state) else {
            return;
        };
        if unc.is_empty() {
            stack.push(Node {
                state,
                u,
                bound: lb,
            });
            return;
        }
        // Branch on the uncovered row with the fewest free sites.
        let r = *unc
            .iter()
            .min_by_key(|&&r| {
                let n = self.rows[r as usize]
                    .iter()
                    .filter(|&&j| state[j as usize] == FREE)
                    .count();
                (n, r)
            })
            .expect("not empty");
        let mut sites: Vec<u32> = self.rows[r as usize]
            .iter()
            .copied()
            .filter(|&j| state[j as usize] == FREE)
            .collect();
        sites.sort_by(|&a, &b| rc[a as usize].total_cmp(&rc[b as usize]).then(a.cmp(&b)));
        let mut children = Vec::with_capacity(sites.len());
        let mut base = state;
        for &j in &sites {
            let mut child = base.clone();
            child[j as usize] = IN;
            children.push(Node {
                state: child,
                u: u.clone(),
                bound: lb,
            });
            base[j as usize] = OUT;
        }
        stack.extend(children.into_iter().rev());
    }

    /// Raises the Lagrangian bound of a node; returns the bound (rounded
    /// up), the reduced costs and the multipliers at the best point.
    fn subgradient(
        &mut self,
        state: &[u8],
        unc: &[u32],
        mut u: Vec<f64>,
        nin: usize,
    ) -> (usize, Vec<f64>, Vec<f64>) {
        let m = state.len();
        let mut is_unc = vec![false; self.rows.len()];
        for &r in unc {
            is_unc[r as usize] = true;
        }
        let mut rc = vec![0.0f64; m];
        let mut best = (f64::NEG_INFINITY, rc.clone(), u.clone());
        let mut mu: f64 = if self.nodes == 1 { 1.0 } else { 2.0 };
        let mut stall = 0;
        let budget = if self.nodes == 1 { 1500 } else { 300 };
        for it in 0..budget {
            self.iterations += 1;
            for j in 0..m {
                rc[j] = if state[j] == FREE {
                    1.0 - self.cols[j]
                        .iter()
                        .filter(|&&r| is_unc[r as usize])
                        .map(|&r| u[r as usize])
                        .sum::<f64>()
                } else {
                    0.0
                };
            }
            let l = lb_value(&rc, state, &u, unc, nin);
            if l > best.0 + 1e-9 {
                best = (l, rc.clone(), u.clone());
                stall = 0;
            } else {
                stall += 1;
                if stall >= 60 {
                    mu /= 2.0;
                    stall = 0;
                }
            }
            if it % 10 == 0 {
                let c = self.greedy(state, unc, &rc);
                self.offer(c);
            }
            if ceil(best.0) >= self.ub || mu < 1e-4 || self.clock.expired() {
                break;
            }
            // g_r = 1 − (sites with negative reduced cost covering r).
            let mut g: Vec<f64> = vec![0.0; self.rows.len()];
            let mut norm = 0.0;
            for &r in unc {
                let k = self.rows[r as usize]
                    .iter()
                    .filter(|&&j| state[j as usize] == FREE && rc[j as usize] < 0.0)
                    .count();
                let mut gr = 1.0 - k as f64;
                if gr < 0.0 && u[r as usize] <= 0.0 {
                    gr = 0.0;
                }
                g[r as usize] = gr;
                norm += gr * gr;
            }
            if norm == 0.0 {
                break;
            }
            let target = self.ub as f64 - 1.0 + 1e-3;
            let step = mu * (target - l).max(0.01) / norm;
            for &r in unc {
                let r = r as usize;
                u[r] = (u[r] + step * g[r]).max(0.0);
            }
        }
        (ceil(best.0), best.1, best.2)
    }

    /// A cover: the node's sites, those of negative reduced cost, then the
    /// site covering most uncovered rows until none is left; redundant
    /// sites dropped.
    fn greedy(&self, state: &[u8], unc: &[u32], rc: &[f64]) -> Vec<u32> {
        let m = state.len();
        let mut chosen: Vec<bool> = (0..m)
            .map(|j| state[j] == IN || (state[j] == FREE && rc[j] < 0.0))
            .collect();
        let mut need: Vec<bool> = vec![false; self.rows.len()];
        let mut left = 0usize;
        for &r in unc {
            if !self.rows[r as usize].iter().any(|&j| chosen[j as usize]) {
                need[r as usize] = true;
                left += 1;
            }
        }
        while left > 0 {
            let mut pick = (0usize, f64::INFINITY, u32::MAX);
            for j in 0..m {
                if chosen[j] || state[j] == OUT {
                    continue;
                }
                let n = self.cols[j].iter().filter(|&&r| need[r as usize]).count();
                if n > pick.0 || (n == pick.0 && n > 0 && rc[j] < pick.1) {
                    pick = (n, rc[j], j as u32);
                }
            }
            if pick.0 == 0 {
                // Only closed sites reach the rest: cover with any site.
                let r = need.iter().position(|&x| x).expect("left > 0");
                let j = self.rows[r][0];
                chosen[j as usize] = true;
                for &q in &self.cols[j as usize] {
                    if need[q as usize] {
                        need[q as usize] = false;
                        left -= 1;
                    }
                }
                continue;
            }
            chosen[pick.2 as usize] = true;
            for &q in &self.cols[pick.2 as usize] {
                if need[q as usize] {
                    need[q as usize] = false;
                    left -= 1;
                }
            }
        }
        // Every row (also those the node covers) must stay covered.
        let mut count = vec![0u32; self.rows.len()];
        for (r, row) in self.rows.iter().enumerate() {
            count[r] = row.iter().filter(|&&j| chosen[j as usize]).count() as u32;
        }
        let mut order: Vec<u32> = (0..m as u32).filter(|&j| chosen[j as usize]).collect();
        order.sort_by_key(|&j| (self.cols[j as usize].len(), j));
        for j in order {
            if self.cols[j as usize].iter().all(|&r| count[r as usize] > 1) {
                chosen[j as usize] = false;
                for &r in &self.cols[j as usize] {
                    count[r as usize] -= 1;
                }
            }
        }
        (0..m as u32).filter(|&j| chosen[j as usize]).collect()
    }
}

fn lb_value(rc: &[f64], state: &[u8], u: &[f64], unc: &[u32], nin: usize) -> f64 {
    let mut l = nin as f64 + unc.iter().map(|&r| u[r as usize]).sum::<f64>();
    for (j, &c) in rc.iter().enumerate() {
        if state[j] == FREE && c < 0.0 {
            l += c;
        }
    }
    l
}

/// The least whole number at or above `x`, allowing for rounding.
fn ceil(x: f64) -> usize {
    if x <= 0.0 {
        0
    } else {
        (x - 1e-6).ceil().max(0.0) as usize
    }
}
