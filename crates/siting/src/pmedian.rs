//! The p-median problem: open `p` sites (beside the existing ones) so that
//! the weighted sum of each demand point's cost to its nearest open site is
//! least (Hakimi 1964; ReVelle & Swain 1970).
//!
//! **Bound.** The Lagrangian relaxation of the assignment constraints
//! (Cornuéjols, Fisher & Nemhauser 1977; Beasley 1993): for multipliers
//! `λ`, `L(λ) = Σ_i λ_i + Σ_{j open} ρ_j` with `ρ_j = Σ_i min(0, w_i c_ij −
//! λ_i)`, the open sites being the existing ones and the `p` free sites of
//! least `ρ`. Every `L(λ)` is a lower bound on the optimum; projected
//! subgradient steps (Polyak, target the incumbent) raise it toward the
//! linear-programming bound. Each `λ_i` is in weight × cost, so the step
//! follows `W g` (a point's multiplier moves in proportion to its weight):
//! with demand points of very different weights (cells, buildings) plain
//! `g` crawls for the heavy ones and the bound stalls. A truncated row costs nothing here: with `λ_i
//! ≤ w_i · beyond_i`, a site the row leaves out adds 0 to every `ρ`.
//!
//! **Solutions.** Greedy addition, then the fast interchange (Whitaker
//! 1983; Resende & Werneck 2007): each pass prices every swap at once from
//! each demand point's nearest and second-nearest open sites and makes the
//! best; the Lagrangian solutions of the search are polished the same way.
//!
//! **Proof.** Depth-first branch-and-bound on the sites. At each node the
//! subgradient restarts from the parent's multipliers; the reduced-cost
//! test fixes a site closed (or open) when forcing it the other way would
//! lift the bound past the incumbent; the node is pruned once its bound
//! reaches the incumbent. A node whose sites are all decided is evaluated
//! exactly. The answer's `bound` is the least bound of the nodes pruned (or
//! left when the time ran out), so its gap is honest.

use std::time::Duration;

use crate::bnb::{branch_and_bound, free_by_rho, Dual, Relaxation, FREE, OPEN};
use crate::{Clock, Instance, SitingError, Solution, Sum};

/// Options of [`pmedian`].
#[derive(Debug, Clone)]
pub struct PmedianParams {
    /// New sites to open (at least 1).
    pub p: usize,
    /// Sites already open (they stay open and are not counted in `p`).
    pub existing: Vec<u32>,
    /// Stop when the relative gap is within this (default 1e-12, well
    /// inside [`PROVEN_GAP`]: the answer is the optimum, not a near tie).
    pub gap: f64,
    /// Return the best solution so far, with its gap, after this long.
    pub time_limit: Option<Duration>,
    /// Abandons the search when raised (the caller's request is gone).
    pub interrupt: Option<bacino_core::Interrupt>,
    /// New sites to start the search from (instead of the greedy
    /// solution), e.g. a solution of a coarser instance.
    pub start: Option<Vec<u32>>,
    /// Multipliers `λ` to start the bound from (one per demand point, in
    /// weight × cost; any values give a valid bound).
    pub multipliers: Option<Vec<f64>>,
}

impl PmedianParams {
    /// Open `p` sites, no existing ones, to proven optimality.
    pub fn new(p: usize) -> PmedianParams {
        PmedianParams {
            p,
            existing: Vec::new(),
            gap: 1e-12,
            time_limit: None,
            interrupt: None,
            start: None,
            multipliers: None,
        }
    }
}

const NONE: u32 = u32::MAX;

/// A solution of the relaxation within this of the incumbent is polished
/// by the interchange.
const POLISH_WINDOW: f64 = 1e-3;

/// Solves the p-median problem on `inst`.
pub fn pmedian(inst: &Instance, params: &PmedianParams) -> Result<Solution, SitingError> {
    pmedian_with_multipliers(inst, params).map(|x| x.0)
}

/// [`pmedian`], and the root's best multipliers `λ` (one per demand
/// point, in weight × cost), to start a finer instance's search from.
pub fn pmedian_with_multipliers(
    inst: &Instance,
    params: &PmedianParams,
) -> Result<(Solution, Vec<f64>), SitingError> {
    let mut ctx = Ctx::checked(inst, params)?;
    let sol = ctx.solve(params.start.as_deref(), params.multipliers.as_deref());
    let lam = ctx.root_lam.take().unwrap_or_default();
    Ok((sol, lam))
}

/// A good p-median solution without a proof: the greedy solution (or
/// `params.start`) improved by the fast interchange until no swap
/// improves it. Returns the new sites and the objective.
pub fn pmedian_heuristic(
    inst: &Instance,
    params: &PmedianParams,
) -> Result<(Vec<u32>, f64), SitingError> {
    let ctx = Ctx::checked(inst, params)?;
    let mut open = ctx.start(params.start.as_deref());
    let v = ctx.improve(&mut open);
    let new = (0..inst.sites() as u32)
        .filter(|&j| open[j as usize] && !ctx.existing[j as usize])
        .collect();
    Ok((new, v))
}

fn check_multipliers(inst: &Instance, params: &PmedianParams) {
    if let Some(l) = &params.multipliers {
        assert_eq!(l.len(), inst.demand(), "one multiplier per demand point");
    }
}

/// A start must open `p` distinct sites that are not open already.
fn check_start(params: &PmedianParams, existing: &[bool]) -> Result<(), SitingError> {
    let Some(start) = &params.start else {
        return Ok(());
    };
    let mut seen = existing.to_vec();
    for &j in start {
        if (j as usize) >= seen.len() || seen[j as usize] {
            return Err(SitingError::BadP {
                p: params.p,
                message: format!("the start opens site {j} twice, or a site out of range"),
            });
        }
        seen[j as usize] = true;
    }
    if start.len() != params.p {
        return Err(SitingError::BadP {
            p: params.p,
            message: format!("the start opens {} sites", start.len()),
        });
    }
    Ok(())
}

/// `p` new sites must be at least 1 and at most the sites not open yet.
pub(crate) fn check_p(p: usize, existing: &[bool]) -> Result<(), SitingError> {
    let free = existing.iter().filter(|&&e| !e).count();
    if p == 0 {
        return Err(SitingError::BadP {
            p: 0,
            message: "at least one new site must be placed".into(),
        });
    }
    if p > free {
        return Err(SitingError::BadP {
            p,
            message: format!("only {free} candidate sites are not already open"),
        });
    }
    Ok(())
}

struct Ctx<'a> {
    inst: &'a Instance,
    existing: Vec<bool>,
    p: usize,
    /// Cost per unit weight of a demand point no open site reaches.
    penalty: f64,
    gap: f64,
    clock: Clock,
    ub: f64,
    best: Vec<bool>,
    iterations: u64,
    nodes: u64,
    /// The best multipliers of the root.
    root_lam: Option<Vec<f64>>,
}

impl<'a> Ctx<'a> {
    /// The search of `params` on `inst`, once `p`, the start and the
    /// multipliers are checked.
    fn checked(inst: &'a Instance, params: &PmedianParams) -> Result<Ctx<'a>, SitingError> {
        let mut existing = vec![false; inst.sites()];
        for &e in &params.existing {
            existing[e as usize] = true;
        }
        check_p(params.p, &existing)?;
        check_start(params, &existing)?;
        check_multipliers(inst, params);
        Ok(Ctx::new(inst, existing, params))
    }

    fn new(inst: &'a Instance, existing: Vec<bool>, params: &PmedianParams) -> Ctx<'a> {
        let mut max_cost = 0.0f64;
        for i in 0..inst.demand() {
            let (_, c) = inst.row(i);
            if let Some(&x) = c.last() {
                max_cost = max_cost.max(x);
            }
            if inst.beyond(i).is_finite() {
                max_cost = max_cost.max(inst.beyond(i));
            }
        }
        Ctx {
            inst,
            p: params.p,
            penalty: 2.0 * max_cost + 1.0,
            gap: params.gap.max(0.0),
            clock: Clock::new(params.time_limit, params.interrupt.clone()),
            ub: f64::INFINITY,
            best: existing.clone(),
            existing,
            iterations: 0,
            nodes: 0,
            root_lam: None,
        }
    }

    fn open_list(open: &[bool]) -> Vec<u32> {
        (0..open.len() as u32)
            .filter(|&j| open[j as usize])
            .collect()
    }

    /// The objective of `open`: Σ w · cost to the nearest open site.
    fn evaluate(&self, open: &[bool]) -> f64 {
        let inst = self.inst;
        let list = Self::open_list(open);
        let mut s = Sum::default();
        for (i, &w) in inst.weights().iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let c = inst
                .nearest_open(i, open, &list)
                .map_or(self.penalty, |x| x.1);
            s.add(w * c);
        }
        s.value()
    }

    /// The objective of `open` when it is below `limit`. A truncated row
    /// with no open site counts its lower bound first: a set of sites far
    /// from much of the demand is turned down without a single geodesic
    /// beyond the rows.
    fn evaluate_below(&self, open: &[bool], limit: f64) -> Option<f64> {
        let inst = self.inst;
        let mut s = Sum::default();
        for (i, &w) in inst.weights().iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let (sites, c) = inst.row(i);
            let x = match sites.iter().position(|&j| open[j as usize]) {
                Some(k) => c[k],
                None => inst.beyond(i).min(self.penalty),
            };
            s.add(w * x);
        }
        (s.value() < limit).then(|| self.evaluate(open))
    }

    fn offer(&mut self, open: &[bool], objective: f64) {
        if objective < self.ub {
            self.ub = objective;
            self.best.copy_from_slice(open);
        }
    }

    /// Greedy addition from the existing sites.
    fn greedy(&self) -> Vec<bool> {
        let inst = self.inst;
        let m = inst.sites();
        let mut open = self.existing.clone();
        let mut d1: Vec<f64> = (0..inst.demand())
            .map(|i| {
                inst.nearest_open(i, &open, &Self::open_list(&open))
                    .map_or(self.penalty, |x| x.1)
            })
            .collect();
        for _ in 0..self.p {
            let mut gain = vec![0.0f64; m];
            for (i, &w) in inst.weights().iter().enumerate() {
                let (s, c) = inst.row(i);
                for (&j, &x) in s.iter().zip(c) {
                    if x >= d1[i] {
                        break;
                    }
                    gain[j as usize] += w * (d1[i] - x);
                }
            }
            let j = (0..m)
                .filter(|&j| !open[j])
                .max_by(|&a, &b| gain[a].total_cmp(&gain[b]).then(b.cmp(&a)))
                .expect("p ≤ free sites");
            open[j] = true;
            for (i, d) in d1.iter_mut().enumerate() {
                *d = d.min(inst.cost(i, j as u32));
            }
        }
        open
    }

    /// The fast interchange: best swaps until none improves.
    fn improve(&self, open: &mut [bool]) -> f64 {
        let inst = self.inst;
        let m = inst.sites();
        let mut obj = self.evaluate(open);
        loop {
            if self.clock.expired() {
                return obj;
            }
            let list = Self::open_list(open);
            let swappable: Vec<u32> = list
                .iter()
                .copied()
                .filter(|&j| !self.existing[j as usize])
                .collect();
            let k = swappable.len();
            let mut pos = vec![NONE; m];
            for (q, &j) in swappable.iter().enumerate() {
                pos[j as usize] = q as u32;
            }
            let mut gain = vec![0.0f64; m];
            let mut loss = vec![0.0f64; k];
            let mut extra = vec![0.0f64; m * k];
            for (i, &w) in inst.weights().iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                let (first, d2) = inst.two_nearest_open(i, open, &list);
                let (s1, d1) = first.unwrap_or((NONE, self.penalty));
                let d2 = d2.min(self.penalty);
                let q = if s1 == NONE { NONE } else { pos[s1 as usize] };
                if q != NONE {
                    loss[q as usize] += w * (d2 - d1);
                }
                let (s, c) = inst.row(i);
                for (&j, &x) in s.iter().zip(c) {
                    if x >= d2 {
                        break;
                    }
                    if open[j as usize] {
                        continue;
                    }
                    if x < d1 {
                        gain[j as usize] += w * (d1 - x);
                    }
                    if q != NONE {
                        extra[j as usize * k + q as usize] += w * (d2 - x.max(d1));
                    }
                }
            }
            let mut best = (0.0f64, NONE, NONE);
            for j in 0..m {
                if open[j] || self.existing[j] {
                    continue;
                }
                for q in 0..k {
                    let profit = gain[j] - loss[q] + extra[j * k + q];
                    if profit > best.0 {
                        best = (profit, j as u32, swappable[q]);
                    }
                }
            }
            if best.1 == NONE || best.0 <= 1e-12 * obj.abs() {
                return obj;
            }
            let (_, add, drop) = best;
            open[add as usize] = true;
            open[drop as usize] = false;
            let new = self.evaluate(open);
            if new < obj * (1.0 - 1e-15) {
                obj = new;
            } else {
                open[add as usize] = false;
                open[drop as usize] = true;
                return obj;
            }
        }
    }

    /// The cap on each multiplier at a node: above `w · cost` to a site
    /// forced open, or past a truncated row's lower bound, `λ` cannot
    /// raise the bound (and past `beyond` it would no longer be one).
    fn caps(&self, state: &[u8]) -> Vec<f64> {
        let inst = self.inst;
        (0..inst.demand())
            .map(|i| {
                let w = inst.weights()[i];
                let (s, c) = inst.row(i);
                let forced = s
                    .iter()
                    .zip(c)
                    .find(|(&j, _)| state[j as usize] == OPEN)
                    .map_or(f64::INFINITY, |(_, &x)| x);
                w * forced.min(inst.beyond(i)).min(self.penalty)
            })
            .collect()
    }

    /// `L(λ)`, each site's `ρ`, and the relaxation's open sites.
    fn dual(
        &self,
        lam: &[f64],
        state: &[u8],
        need: usize,
        rho: &mut [f64],
        order: &mut Vec<u32>,
    ) -> f64 {
        let inst = self.inst;
        rho.fill(0.0);
        let mut base = Sum::default();
        for (i, &w) in inst.weights().iter().enumerate() {
            let l = lam[i];
            base.add(l);
            let (s, c) = inst.row(i);
            for (&j, &x) in s.iter().zip(c) {
                let v = w * x - l;
                if v >= 0.0 {
                    break;
                }
                rho[j as usize] += v;
            }
        }
        free_by_rho(state, rho, order);
        for (j, &st) in state.iter().enumerate() {
            if st == OPEN {
                base.add(rho[j]);
            }
        }
        for &j in &order[..need] {
            base.add(rho[j as usize]);
        }
        base.value()
    }

    /// Projected subgradient from `lam`; returns the best bound seen.
    fn subgradient(
        &mut self,
        state: &[u8],
        need: usize,
        lam: Vec<f64>,
        budget: u32,
        mu0: f64,
    ) -> Dual {
        let inst = self.inst;
        let n = inst.demand();
        let m = inst.sites();
        let caps = self.caps(state);
        let mut lam: Vec<f64> = lam
            .iter()
            .zip(&caps)
            .map(|(&l, &c)| l.clamp(0.0, c))
            .collect();
        let mut rho = vec![0.0; m];
        let mut order = Vec::with_capacity(m);
        let mut open = vec![false; m];
        let mut g = vec![0.0f64; n];
        let mut best = Dual {
            bound: f64::NEG_INFINITY,
            rho: vec![0.0; m],
            lam: lam.clone(),
        };
        let mut mu = mu0;
        let mut stall = 0u32;
        let mut last_open: Vec<bool> = Vec::new();
        for it in 0..budget {
            self.iterations += 1;
            let l = self.dual(&lam, state, need, &mut rho, &mut order);
            if l > best.bound {
                if l > best.bound + 1e-12 * l.abs() {
                    stall = 0;
                }
                best.bound = l;
                best.rho.copy_from_slice(&rho);
                best.lam.copy_from_slice(&lam);
            } else {
                stall += 1;
                if stall >= 20 {
                    mu /= 2.0;
                    stall = 0;
                }
            }
            for (j, o) in open.iter_mut().enumerate() {
                *o = state[j] == OPEN;
            }
            for &j in &order[..need] {
                open[j as usize] = true;
            }
            // The relaxation's sites are a solution: keep the best.
            if it % 8 == 0 && open != last_open {
                if let Some(v) = self.evaluate_below(&open, self.ub * (1.0 + POLISH_WINDOW)) {
                    let mut polished = open.clone();
                    let w = self.improve(&mut polished);
                    self.offer(&polished, w);
                    self.offer(&open, v);
                }
                last_open.clone_from(&open);
            }
            if best.bound >= self.ub - self.slack() || mu < 1e-6 || self.clock.expired() {
                break;
            }
            // g_i = 1 − (open sites cheaper than λ_i for i), projected.
            let mut norm = 0.0;
            for (i, &w) in inst.weights().iter().enumerate() {
                let (s, c) = inst.row(i);
                let mut k = 0i32;
                for (&j, &x) in s.iter().zip(c) {
                    if w * x >= lam[i] {
                        break;
                    }
                    k += open[j as usize] as i32;
                }
                let mut gi = f64::from(1 - k);
                if (gi > 0.0 && lam[i] >= caps[i]) || (gi < 0.0 && lam[i] <= 0.0) {
                    gi = 0.0;
                }
                // The step along `W g` (λ_i is in weight × cost, so each
                // point's multiplier moves in proportion to its weight),
                // the Polyak length over `gᵀ W g`.
                g[i] = gi * w;
                norm += gi * gi * w;
            }
            if norm == 0.0 {
                break;
            }
            let step = mu * (self.ub - l).max(1e-12 * l.abs()) / norm;
            for i in 0..n {
                if g[i] != 0.0 {
                    lam[i] = (lam[i] + step * g[i]).clamp(0.0, caps[i]);
                }
            }
        }
        best
    }

    /// The start of the search: `start` beside the existing sites, or
    /// the greedy solution.
    fn start(&self, start: Option<&[u32]>) -> Vec<bool> {
        match start {
            Some(s) => {
                let mut open = self.existing.clone();
                for &j in s {
                    open[j as usize] = true;
                }
                open
            }
            None => self.greedy(),
        }
    }

    fn solve(&mut self, start: Option<&[u32]>, multipliers: Option<&[f64]>) -> Solution {
        let m = self.inst.sites();
        let mut open = self.start(start);
        let v = self.improve(&mut open);
        self.offer(&open, v);

        let state: Vec<u8> = self
            .existing
            .iter()
            .map(|&e| if e { OPEN } else { FREE })
            .collect();
        // A site no demand point can reach closer than an existing site is
        // never worth a place... unless p forces it; the search decides.
        let lam0: Vec<f64> = match multipliers {
            Some(l) => l.to_vec(),
            None => (0..self.inst.demand())
                .map(|i| {
                    let w = self.inst.weights()[i];
                    let (_, c) = self.inst.row(i);
                    w * c.get(1).or(c.first()).copied().unwrap_or(self.penalty)
                })
                .collect(),
        };
        let floor = branch_and_bound(self, state, lam0, (3000, 2.0), (150, 0.5));
        let objective = self.ub;
        let bound = floor.min(objective);
        let open: Vec<u32> = (0..m as u32)
            .filter(|&j| self.best[j as usize] && !self.existing[j as usize])
            .collect();
        Solution::new(open, objective, bound, self.nodes, self.iterations)
    }
}

impl Relaxation for Ctx<'_> {
    fn existing(&self) -> &[bool] {
        &self.existing
    }
    fn p(&self) -> usize {
        self.p
    }
    fn incumbent(&self) -> f64 {
        self.ub
    }
    fn slack(&self) -> f64 {
        self.gap * self.ub.abs()
    }
    fn expired(&self) -> bool {
        self.clock.expired()
    }
    fn count_node(&mut self) {
        self.nodes += 1;
    }
    fn subgradient(
        &mut self,
        state: &[u8],
        need: usize,
        lam: Vec<f64>,
        budget: u32,
        mu: f64,
    ) -> Dual {
        let d = Ctx::subgradient(self, state, need, lam, budget, mu);
        if self.root_lam.is_none() {
            self.root_lam = Some(d.lam.clone());
        }
        d
    }
    fn leaf(&mut self, open: &[bool]) -> f64 {
        let v = self.evaluate(open);
        self.offer(open, v);
        v
    }
}
