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
    /// Demand points of each row.
    pub members: Vec<u32>,
    /// Weight already covered by the existing sites.
    pub covered: f64,
    /// Demand points already covered by the existing sites.
    pub covered_points: usize,
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
                cov.covered_points += 1;
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
                    cov.members[r] += 1;
                }
                None => {
                    seen.insert(s.clone(), cov.rows.len());
                    cov.rows.push(s);
                    cov.weight.push(w);
                    cov.members.push(1);
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
