//! The location set covering problem with backup coverage (LSCP-B; Hogan &
//! ReVelle 1986, as in Church & Murray 2018 and spopt's `LSCPB`): with as
//! many sites as the least cover needs (or a given `p`), cover everyone
//! and cover as much weight as possible **twice**.
//!
//! ```text
//! max Σ_i w_i u_i   s.t.   Σ_j a_ij y_j ≥ 1 + u_i (each i),   Σ_j y_j = p,
//!                          u_i, y_j ∈ {0, 1}
//! ```
//!
//! A point that only one site can reach is never covered twice: its `u_i`
//! is 0. (spopt writes that constraint as `Σ a_ij y_j ≥ 1 + 0·u_i` for such
//! a point, which leaves its `u_i` free, so every such point counts as
//! backed up: on its San Francisco test data it reports 167 of 205 tracts
//! where the optimum is 145, and 22 tracts have one store in reach.)
//!
//! **Bound**: relaxing the coverage constraints with multipliers `λ_i ≥ 0`
//! gives `U(λ) = Σ_i max(0, w_i − λ_i) − Σ_i λ_i h_i + Σ_{p largest} σ_j`
//! with `σ_j = Σ_{i ∋ j} λ_i` and `h_i` the covers point `i` still needs
//! (1 when no open site reaches it yet, else 0); every `U` bounds the
//! optimum from above and projected subgradient steps lower it. With whole
//! weights the bound is rounded down. **Solutions**: the least cover
//! padded, then the Lagrangian's sites made a cover, each improved by the
//! best feasible swaps. **Proof**: depth-first branch-and-bound on the
//! sites, unit propagation on the points only one free site still covers,
//! and reduced-cost fixing, as in [`crate::mclp`].

use std::time::Duration;

use crate::cover::integral;
use crate::lscp::{lscp, mask};
use crate::mclp::{fix_and_pick, EMA, FREE, IN, OUT, STALL};
use crate::{Clock, Instance, LscpParams, SitingError, Solution, Sum, PROVEN_GAP};

/// Options of [`lscpb`].
#[derive(Debug, Clone)]
pub struct LscpbParams {
    /// The service distance (a site covers a point at cost ≤ it).
    pub service: f64,
    /// New sites to open; `None` opens as many as the least cover needs.
    pub p: Option<usize>,
    /// Sites already open.
    pub existing: Vec<u32>,
    /// Return the best solution so far, with its gap, after this long.
    pub time_limit: Option<Duration>,
    /// Abandons the search when raised (the caller's request is gone).
    pub interrupt: Option<bacino_core::Interrupt>,
}

impl LscpbParams {
    /// Cover everyone within `service` with the fewest sites, backing up
    /// the most weight.
    pub fn new(service: f64) -> LscpbParams {
        LscpbParams {
            service,
            p: None,
            existing: Vec::new(),
            time_limit: None,
            interrupt: None,
        }
    }
}

/// Solves LSCP-B: `objective` is the weight within the service distance of
/// at least two open sites (existing ones count), every point being within
/// it of one. `open.len()` is the number of new sites. When `p` is left
/// out and the least cover is not proven within the time limit, the
/// answer is for the size of the best cover found and is not `proven`.
pub fn lscpb(inst: &Instance, params: &LscpbParams) -> Result<Solution, SitingError> {
    let m = inst.sites();
    let clock = Clock::new(params.time_limit, params.interrupt.clone());
    let mut lp = LscpParams::new(params.service);
    lp.existing = params.existing.clone();
    lp.time_limit = params.time_limit;
    lp.interrupt = params.interrupt.clone();
    let least = lscp(inst, &lp)?;
    let p = match params.p {
        None => least.open.len(),
        Some(p) if p < least.open.len() && least.proven => {
            return Err(SitingError::Infeasible(format!(
                "{p} new sites cannot cover everyone within {}: the least cover needs {}",
                params.service,
                least.open.len()
            )))
        }
        Some(p) => p,
    };
    let existing = mask(m, &params.existing);
    let free = existing.iter().filter(|&&e| !e).count();
    if p > free {
        return Err(SitingError::BadP {
            p,
            message: format!("only {free} candidate sites are not already open"),
        });
    }
    let rows = Rows::new(inst, params.service, &existing);
    let mut s = Search {
        cols: rows.columns(m),
        whole: integral(&rows.weight) && rows.done.fract() == 0.0,
        rows: &rows,
        existing: &existing,
        p,
        clock,
        lb: f64::NEG_INFINITY,
        best: Vec::new(),
        nodes: 0,
        iterations: 0,
    };
    // The least cover (padded to p) is the first solution; with p given
    // below the least cover found (unproven), it may be none.
    if least.open.len() <= p {
        let mut open = least.open.clone();
        s.pad(&mut open);
        if let Some(v) = s.improve(&mut open) {
            s.offer(&open, v);
        }
    }
    let ceiling = s.search();
    if s.best.is_empty() && p > 0 {
        return Err(SitingError::Infeasible(format!(
            "no {p} new sites found covering everyone within {}",
            params.service
        )));
    }
    let mut sol = Solution::new(
        s.best.clone(),
        s.lb + rows.done,
        ceiling + rows.done,
        least.nodes + s.nodes,
        least.iterations + s.iterations,
    );
    if params.p.is_none() && !least.proven {
        sol.proven = false;
    }
    Ok(sol)
}

/// Demand points by the free sites that reach them and how many existing
/// sites do (0 or 1; points two existing sites reach are backed up
/// already).
struct Rows {
    sites: Vec<Vec<u32>>,
    weight: Vec<f64>,
    /// Covers the point needs from new sites before its backup counts: 1
    /// when no existing site reaches it, else 0.
    base: Vec<u8>,
    /// Weight backed up by the existing sites alone.
    done: f64,
}

impl Rows {
    fn new(inst: &Instance, radius: f64, existing: &[bool]) -> Rows {
        let mut rows = Rows {
            sites: Vec::new(),
            weight: Vec::new(),
            base: Vec::new(),
            done: 0.0,
        };
        let mut seen: std::collections::HashMap<(Vec<u32>, u8), usize> = Default::default();
        for i in 0..inst.demand() {
            let w = inst.weights()[i];
            let reach = inst.within(i, radius);
            let e = reach.iter().filter(|&&j| existing[j as usize]).count();
            if e >= 2 {
                rows.done += w;
                continue;
            }
            let mut s: Vec<u32> = reach
                .iter()
                .copied()
                .filter(|&j| !existing[j as usize])
                .collect();
            if s.is_empty() {
                // Covered once by an existing site, never twice (lscp has
                // refused a point nobody reaches).
                continue;
            }
            s.sort_unstable();
            let base = u8::from(e == 0);
            // One free site and no existing one: covered once at most.
            let w = if base == 1 && s.len() == 1 { 0.0 } else { w };
            if base == 0 && w == 0.0 {
                continue;
            }
            match seen.entry((s, base)) {
                std::collections::hash_map::Entry::Occupied(o) => rows.weight[*o.get()] += w,
                std::collections::hash_map::Entry::Vacant(v) => {
                    rows.sites.push(v.key().0.clone());
                    rows.weight.push(w);
                    rows.base.push(base);
                    v.insert(rows.sites.len() - 1);
                }
            }
        }
        rows
    }

    fn columns(&self, m: usize) -> Vec<Vec<u32>> {
        let mut cols = vec![Vec::new(); m];
        for (r, s) in self.sites.iter().enumerate() {
            for &j in s {
                cols[j as usize].push(r as u32);
            }
        }
        cols
    }
}

const NONE: u32 = u32::MAX;

struct Search<'a> {
    rows: &'a Rows,
    cols: Vec<Vec<u32>>,
    whole: bool,
    existing: &'a [bool],
    p: usize,
    clock: Clock,
    /// The incumbent's backed-up weight (beyond `rows.done`).
    lb: f64,
    best: Vec<u32>,
    nodes: u64,
    iterations: u64,
}

struct Node {
    state: Vec<u8>,
    lambda: Vec<f64>,
    bound: f64,
}

impl Search<'_> {
    /// New sites covering each row.
    fn counts(&self, open: &[u32]) -> Vec<u32> {
        let mut c = vec![0u32; self.rows.sites.len()];
        for &j in open {
            for &r in &self.cols[j as usize] {
                c[r as usize] += 1;
            }
        }
        c
    }

    /// The backed-up weight of `open`, `None` when it leaves a point
    /// uncovered.
    fn value(&self, open: &[u32]) -> Option<f64> {
        let c = self.counts(open);
        let mut s = Sum::default();
        for (r, &k) in c.iter().enumerate() {
            let base = u32::from(self.rows.base[r]);
            if k < base {
                return None;
            }
            if k > base {
                s.add(self.rows.weight[r]);
            }
        }
        Some(s.value())
    }

    fn offer(&mut self, open: &[u32], v: f64) {
        if v > self.lb {
            self.lb = v;
            let mut o = open.to_vec();
            o.sort_unstable();
            self.best = o;
        }
    }

    /// Bounds at or below the incumbent prune.
    fn prunes(&self, upper: f64) -> bool {
        if self.whole {
            (upper + 1e-6).floor() <= self.lb
        } else {
            upper <= self.lb + PROVEN_GAP * self.lb.abs()
        }
    }

    /// Adds the sites backing up most weight until there are `p`.
    fn pad(&self, open: &mut Vec<u32>) {
        let m = self.cols.len();
        let mut used = self.existing.to_vec();
        for &j in open.iter() {
            used[j as usize] = true;
        }
        let mut count = self.counts(open);
        while open.len() < self.p {
            let gain = |j: usize| -> f64 {
                self.cols[j]
                    .iter()
                    .filter(|&&r| count[r as usize] == u32::from(self.rows.base[r as usize]))
                    .map(|&r| self.rows.weight[r as usize])
                    .sum()
            };
            let j = (0..m)
                .filter(|&j| !used[j])
                .map(|j| (gain(j), j))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .expect("p ≤ free sites")
                .1;
            used[j] = true;
            open.push(j as u32);
            for &r in &self.cols[j] {
                count[r as usize] += 1;
            }
        }
    }

    /// Best feasible swaps until none gains; the value, or `None` when
    /// `open` leaves a point uncovered.
    fn improve(&self, open: &mut [u32]) -> Option<f64> {
        let nrows = self.rows.sites.len();
        let mut v = self.value(open)?;
        let mut in_q = vec![false; nrows];
        loop {
            if self.clock.expired() {
                return Some(v);
            }
            let count = self.counts(open);
            let mut is_open = self.existing.to_vec();
            for &j in open.iter() {
                is_open[j as usize] = true;
            }
            let mut best = (0.0f64, NONE, 0usize);
            for (q, &jq) in open.iter().enumerate() {
                // Without jq: the rows it alone covers must be covered by
                // the site coming in; the rows it backs up may drop.
                let mut loss = 0.0;
                let mut lost = 0u32;
                for &r in &self.cols[jq as usize] {
                    let r = r as usize;
                    in_q[r] = true;
                    let base = u32::from(self.rows.base[r]);
                    if count[r] == base + 1 {
                        loss += self.rows.weight[r];
                    }
                    if base == 1 && count[r] == 1 {
                        lost += 1;
                    }
                }
                for (j, col) in self.cols.iter().enumerate() {
                    if is_open[j] {
                        continue;
                    }
                    let mut gain = 0.0;
                    let mut kept = 0u32;
                    for &r in col {
                        let r = r as usize;
                        let base = u32::from(self.rows.base[r]);
                        let after = count[r] - u32::from(in_q[r]);
                        if after == base {
                            gain += self.rows.weight[r];
                        }
                        if base == 1 && in_q[r] && count[r] == 1 {
                            kept += 1;
                        }
                    }
                    if kept == lost && gain - loss > best.0 {
                        best = (gain - loss, j as u32, q);
                    }
                }
                for &r in &self.cols[jq as usize] {
                    in_q[r as usize] = false;
                }
            }
            if best.1 == NONE || best.0 <= 1e-12 * v.abs().max(1.0) {
                return Some(v);
            }
            let old = open[best.2];
            open[best.2] = best.1;
            match self.value(open) {
                Some(nv) if nv > v => v = nv,
                _ => {
                    open[best.2] = old;
                    return Some(v);
                }
            }
        }
    }

    /// A cover from a node's `IN` sites and the free sites in `order`
    /// (preferred first): the uncovered points' sites, greedily, then the
    /// preferred ones up to `p`; improved. `None` when it needs more than
    /// `p` sites.
    fn complete(&self, state: &[u8], order: &[u32]) -> Option<(Vec<u32>, f64)> {
        let mut open: Vec<u32> = (0..state.len() as u32)
            .filter(|&j| state[j as usize] == IN)
            .collect();
        let mut count = self.counts(&open);
        let mut chosen = vec![false; state.len()];
        for &j in &open {
            chosen[j as usize] = true;
        }
        loop {
            let bare: Vec<usize> = (0..count.len())
                .filter(|&r| self.rows.base[r] == 1 && count[r] == 0)
                .collect();
            if bare.is_empty() {
                break;
            }
            if open.len() >= self.p {
                return None;
            }
            // The preferred site covering most bare points.
            let mut pick = (0usize, NONE);
            for &j in order {
                if chosen[j as usize] {
                    continue;
                }
                let n = self.cols[j as usize]
                    .iter()
                    .filter(|&&r| self.rows.base[r as usize] == 1 && count[r as usize] == 0)
                    .count();
                if n > pick.0 {
                    pick = (n, j);
                }
            }
            if pick.1 == NONE {
                return None;
            }
            chosen[pick.1 as usize] = true;
            open.push(pick.1);
            for &r in &self.cols[pick.1 as usize] {
                count[r as usize] += 1;
            }
        }
        for &j in order {
            if open.len() >= self.p {
                break;
            }
            if !chosen[j as usize] {
                chosen[j as usize] = true;
                open.push(j);
            }
        }
        if open.len() < self.p {
            return None;
        }
        let v = self.improve(&mut open)?;
        Some((open, v))
    }

    /// Points no `IN` site covers that one free site alone still reaches
    /// open it; `false` when a point has none left.
    fn propagate(&self, state: &mut [u8]) -> bool {
        loop {
            let mut changed = false;
            for (r, s) in self.rows.sites.iter().enumerate() {
                if self.rows.base[r] == 0 || s.iter().any(|&j| state[j as usize] == IN) {
                    continue;
                }
                let mut free = s.iter().filter(|&&j| state[j as usize] == FREE);
                match (free.next(), free.next()) {
                    (None, _) => return false,
                    (Some(&j), None) => {
                        state[j as usize] = IN;
                        changed = true;
                    }
                    _ => {}
                }
            }
            if !changed {
                return true;
            }
        }
    }

    /// Branch-and-bound; returns the proven upper bound (beyond
    /// `rows.done`).
    fn search(&mut self) -> f64 {
        let m = self.cols.len();
        let state: Vec<u8> = self
            .existing
            .iter()
            .map(|&e| if e { OUT } else { FREE })
            .collect();
        let mut stack = vec![Node {
            state,
            lambda: self.rows.weight.iter().map(|w| w / 2.0).collect(),
            bound: f64::INFINITY,
        }];
        let mut ceiling = f64::NEG_INFINITY; // greatest bound of the nodes closed
        let mut root = true;
        while let Some(node) = stack.pop() {
            if self.prunes(node.bound) {
                ceiling = ceiling.max(node.bound.min(self.lb));
                continue;
            }
            if self.clock.expired() {
                ceiling = stack
                    .iter()
                    .fold(ceiling.max(node.bound), |c, n| c.max(n.bound));
                break;
            }
            self.nodes += 1;
            let Node {
                mut state, lambda, ..
            } = node;
            if !self.propagate(&mut state) {
                continue;
            }
            let nin = state.iter().filter(|&&s| s == IN).count();
            let free = state.iter().filter(|&&s| s == FREE).count();
            if nin > self.p || nin + free < self.p {
                continue;
            }
            if nin == self.p || nin + free == self.p {
                // Exactly p sites: the IN ones, with the free ones when
                // they are all needed.
                let all = nin < self.p;
                let open: Vec<u32> = (0..m as u32)
                    .filter(|&j| state[j as usize] == IN || (all && state[j as usize] == FREE))
                    .collect();
                if let Some(v) = self.value(&open) {
                    self.offer(&open, v);
                    ceiling = ceiling.max(v);
                }
                continue;
            }
            let need = self.p - nin;
            let (budget, step0) = if root { (3000, 1.0) } else { (150, 2.0) };
            root = false;
            let (upper, sigma, lambda, freq) =
                self.subgradient(&state, need, lambda, budget, step0);
            if self.prunes(upper) {
                ceiling = ceiling.max(if self.whole {
                    (upper + 1e-6).floor()
                } else {
                    upper
                });
                continue;
            }
            let Some((j, in_first)) =
                fix_and_pick(&mut state, &sigma, &freq, need, upper, |u| self.prunes(u))
            else {
                stack.push(Node {
                    state,
                    lambda,
                    bound: upper,
                });
                continue;
            };
            let mut other = state.clone();
            let (first, second) = if in_first { (IN, OUT) } else { (OUT, IN) };
            other[j] = second;
            state[j] = first;
            stack.push(Node {
                state: other,
                lambda: lambda.clone(),
                bound: upper,
            });
            stack.push(Node {
                state,
                lambda,
                bound: upper,
            });
        }
        if ceiling == f64::NEG_INFINITY {
            ceiling = self.lb;
        }
        ceiling.max(self.lb)
    }

    /// `U(λ)` at a node with each free site's `σ`; `h` gets the covers
    /// each row still needs, `u8::MAX` for a row that is settled (backed
    /// up by `IN` sites, or never to be).
    fn upper(
        &self,
        state: &[u8],
        need: usize,
        lambda: &[f64],
        sigma: &mut [f64],
        h: &mut [u8],
    ) -> f64 {
        sigma.fill(0.0);
        let mut u = Sum::default();
        for (r, s) in self.rows.sites.iter().enumerate() {
            let w = self.rows.weight[r];
            let base = self.rows.base[r];
            let inn = s.iter().filter(|&&j| state[j as usize] == IN).count() as u8;
            if inn > base {
                u.add(w);
                h[r] = u8::MAX;
                continue;
            }
            if !s.iter().any(|&j| state[j as usize] == FREE) {
                // Covered (propagation saw to it), never backed up.
                h[r] = u8::MAX;
                continue;
            }
            h[r] = base - inn;
            u.add((w - lambda[r]).max(0.0) - lambda[r] * f64::from(h[r]));
            for &j in s {
                if state[j as usize] == FREE {
                    sigma[j as usize] += lambda[r];
                }
            }
        }
        let mut top: Vec<f64> = (0..state.len())
            .filter(|&j| state[j] == FREE)
            .map(|j| sigma[j])
            .collect();
        top.sort_by(|a, b| b.total_cmp(a));
        for &x in &top[..need] {
            u.add(x);
        }
        u.value()
    }

    /// The least `U(λ)` the steps reached (not rounded: the reduced-cost
    /// tests add to it), with its `σ` and `λ`, and how often each site was
    /// among the chosen lately.
    fn subgradient(
        &mut self,
        state: &[u8],
        need: usize,
        mut lambda: Vec<f64>,
        budget: u32,
        step0: f64,
    ) -> (f64, Vec<f64>, Vec<f64>, Vec<f64>) {
        let m = state.len();
        let nrows = self.rows.sites.len();
        let mut sigma = vec![0.0; m];
        let mut h = vec![0u8; nrows];
        let mut best = (f64::INFINITY, vec![0.0; m], lambda.clone());
        let mut step = step0;
        let mut stall = 0;
        let mut chosen = vec![false; m];
        let mut g = vec![0.0f64; nrows];
        let mut freq = vec![0.0f64; m];
        let mut order: Vec<u32> = Vec::with_capacity(m);
        for it in 0..budget {
            self.iterations += 1;
            let u = self.upper(state, need, &lambda, &mut sigma, &mut h);
            if u < best.0 {
                if u < best.0 - 1e-12 * u.abs() {
                    stall = 0;
                }
                best.0 = u;
                best.1.copy_from_slice(&sigma);
                best.2.copy_from_slice(&lambda);
            } else {
                stall += 1;
                if stall >= STALL {
                    step /= 2.0;
                    stall = 0;
                }
            }
            order.clear();
            order.extend((0..m as u32).filter(|&j| state[j as usize] == FREE));
            order.sort_by(|&a, &b| {
                sigma[b as usize]
                    .total_cmp(&sigma[a as usize])
                    .then(a.cmp(&b))
            });
            chosen.fill(false);
            for &j in &order[..need] {
                chosen[j as usize] = true;
            }
            let a = 1.0 / f64::from(it + 1).min(EMA);
            for (j, f) in freq.iter_mut().enumerate() {
                let c = state[j] == IN || chosen[j];
                *f += a * (f64::from(u8::from(c)) - *f);
            }
            if it % 8 == 0 {
                if let Some((open, v)) = self.complete(state, &order) {
                    self.offer(&open, v);
                }
            }
            if self.prunes(best.0) || step < 1e-6 || self.clock.expired() {
                break;
            }
            // ∂U/∂λ_r = covers chosen − h_r − [w_r > λ_r]; step against it,
            // λ_r in [0, w_r] when h_r = 0 (above w_r it cannot lower U).
            let mut norm = 0.0;
            for r in 0..nrows {
                if h[r] == u8::MAX {
                    g[r] = 0.0;
                    continue;
                }
                let k = self.rows.sites[r]
                    .iter()
                    .filter(|&&j| chosen[j as usize])
                    .count() as f64;
                let w = self.rows.weight[r];
                let mut gr = f64::from(h[r]) + f64::from(u8::from(w > lambda[r])) - k;
                let cap = if h[r] == 0 { w } else { f64::INFINITY };
                if (gr > 0.0 && lambda[r] >= cap) || (gr < 0.0 && lambda[r] <= 0.0) {
                    gr = 0.0;
                }
                g[r] = gr;
                norm += gr * gr;
            }
            if norm == 0.0 {
                break;
            }
            // Aim at the incumbent (at a tenth of U below it while there is
            // none).
            let target = if self.lb.is_finite() {
                self.lb
            } else {
                u - 0.1 * u.abs().max(1.0)
            };
            let t = step * (u - target).max(1e-9 * u.abs().max(1.0)) / norm;
            for r in 0..nrows {
                if g[r] != 0.0 {
                    let cap = if h[r] == 0 {
                        self.rows.weight[r]
                    } else {
                        f64::INFINITY
                    };
                    lambda[r] = (lambda[r] + t * g[r]).clamp(0.0, cap);
                }
            }
        }
        (best.0, best.1, best.2, freq)
    }
}
