//! Coverage at a service distance: which sites reach each demand point
//! within the radius (inclusive, as spopt's `a_ij = c_ij <= r`), with
//! demand points of the same reach merged (their weights summed).

use std::collections::HashMap;

use crate::Instance;

/// Demand points by the set of sites that cover them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Coverage {
    /// Sites of each (merged) row, ascending.
    pub rows: Vec<Vec<u32>>,
    /// Weight of each row.
    pub weight: Vec<f64>,
    /// Weight already covered by the existing sites.
    pub covered: f64,
    /// Weight no site reaches.
    pub unreachable: f64,
    /// Demand points no site reaches.
    pub unreachable_points: usize,
    /// Sites.
    pub sites: usize,
}

impl Coverage {
    /// The coverage of `inst` at `radius`; rows an `existing` site covers
    /// are counted as covered and left out. Demand points of weight 0 are
    /// kept only when `keep_zero` (set covering must reach every point).
    pub fn new(inst: &Instance, radius: f64, existing: &[bool], keep_zero: bool) -> Coverage {
        let mut cov = Coverage {
            sites: inst.sites(),
            ..Coverage::default()
        };
        let mut seen: HashMap<Vec<u32>, usize> = HashMap::new();
        for i in 0..inst.demand() {
            let w = inst.weights()[i];
            if w == 0.0 && !keep_zero {
                continue;
            }
            let mut s = inst.within(i, radius).to_vec();
            if s.iter().any(|&j| existing[j as usize]) {
                cov.covered += w;
                continue;
            }
            if s.is_empty() {
                cov.unreachable += w;
                cov.unreachable_points += 1;
                continue;
            }
            s.sort_unstable();
            match seen.get(&s) {
                Some(&r) => {
                    cov.weight[r] += w;
                }
                None => {
                    seen.insert(s.clone(), cov.rows.len());
                    cov.rows.push(s);
                    cov.weight.push(w);
                }
            }
        }
        cov
    }

    /// The rows each site covers.
    pub fn columns(&self) -> Vec<Vec<u32>> {
        let mut cols = vec![Vec::new(); self.sites];
        for (r, s) in self.rows.iter().enumerate() {
            for &j in s {
                cols[j as usize].push(r as u32);
            }
        }
        cols
    }
}

/// True when every weight is a whole number (then objectives are whole
/// and a bound may be rounded).
pub(crate) fn integral(w: &[f64]) -> bool {
    w.iter().all(|x| x.fract() == 0.0 && x.abs() < 9e15)
}

/// True when sorted `a` ⊆ sorted `b`.
fn subset(a: &[u32], b: &[u32]) -> bool {
    if a.len() > b.len() {
        return false;
    }
    let mut k = 0;
    for &x in a {
        while k < b.len() && b[k] < x {
            k += 1;
        }
        if k == b.len() || b[k] != x {
            return false;
        }
        k += 1;
    }
    true
}

/// Instances up to this many rows (and columns) get the quadratic
/// dominance tests.
const DOMINANCE_MAX: usize = 4000;

/// The classic set-covering reductions (Toregas & ReVelle 1973), repeated
/// until nothing changes: a row whose sites include all of another row's
/// is covered whenever that one is, so it goes; a site whose rows are a
/// subset of another site's is never needed, so it goes (of two equal
/// sites, the later). The least cover keeps its size; a cover of the
/// reduced rows covers the original ones.
pub(crate) fn reduce_cover(rows: &[Vec<u32>], sites: usize) -> Vec<Vec<u32>> {
    let mut rows: Vec<Vec<u32>> = rows.to_vec();
    if rows.len() > DOMINANCE_MAX || sites > DOMINANCE_MAX {
        return rows;
    }
    loop {
        let before: usize = rows.iter().map(Vec::len).sum::<usize>() + rows.len();
        // Rows: shortest first, a row goes when an earlier kept one is a
        // subset of it.
        rows.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        rows.dedup();
        let mut kept: Vec<Vec<u32>> = Vec::with_capacity(rows.len());
        for r in rows {
            if !kept.iter().any(|k| subset(k, &r)) {
                kept.push(r);
            }
        }
        rows = kept;
        // Sites.
        let mut cols: Vec<Vec<u32>> = vec![Vec::new(); sites];
        for (r, row) in rows.iter().enumerate() {
            for &j in row {
                cols[j as usize].push(r as u32);
            }
        }
        let mut gone = vec![false; sites];
        for j in 0..sites {
            if cols[j].is_empty() {
                gone[j] = true;
                continue;
            }
            for k in 0..sites {
                if k == j || gone[k] || cols[k].len() < cols[j].len() {
                    continue;
                }
                let equal = cols[k].len() == cols[j].len();
                if (!equal || k < j) && subset(&cols[j], &cols[k]) {
                    gone[j] = true;
                    break;
                }
            }
        }
        for row in &mut rows {
            row.retain(|&j| !gone[j as usize]);
        }
        let after: usize = rows.iter().map(Vec::len).sum::<usize>() + rows.len();
        if after == before {
            return rows;
        }
    }
}
