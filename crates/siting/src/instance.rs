//! A siting instance: demand points with weights, candidate sites, and the
//! cost of serving each demand point from each site, stored as one row per
//! demand point sorted by cost.
//!
//! A row may be *truncated*: it lists the nearest sites only, and `beyond`
//! is a lower bound on the cost to every site it leaves out. The bounds
//! stay valid (a site left out costs at least `beyond`), and an exact
//! evaluation asks [`FarCost`] for a left-out pair when it needs one. A
//! complete row has `beyond = ∞`: a site it does not list is out of reach.

use std::sync::Arc;

/// The cost of a pair a truncated row leaves out.
pub trait FarCost: Send + Sync {
    /// The cost of serving demand point `demand` from site `site`
    /// (∞ when out of reach).
    fn cost(&self, demand: usize, site: u32) -> f64;
}

/// Demand points × candidate sites.
#[derive(Clone)]
pub struct Instance {
    sites: usize,
    weight: Vec<f64>,
    start: Vec<usize>,
    site: Vec<u32>,
    cost: Vec<f64>,
    beyond: Vec<f64>,
    far: Option<Arc<dyn FarCost>>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("demand", &self.weight.len())
            .field("sites", &self.sites)
            .field("pairs", &self.site.len())
            .finish()
    }
}

impl Instance {
    /// From a dense matrix `cost[demand][site]`; a non-finite cost means
    /// out of reach.
    pub fn dense(weight: Vec<f64>, cost: &[Vec<f64>]) -> Instance {
        assert_eq!(weight.len(), cost.len(), "one cost row per demand point");
        let sites = cost.first().map_or(0, Vec::len);
        let rows = cost.iter().map(|r| {
            assert_eq!(r.len(), sites, "every cost row has one cost per site");
            r.iter()
                .enumerate()
                .filter(|(_, c)| c.is_finite())
                .map(|(j, &c)| (j as u32, c))
                .collect::<Vec<_>>()
        });
        Instance::from_rows(sites, weight, rows)
    }

    /// From complete rows of `(site, cost)` pairs, any order; a site a row
    /// does not list is out of reach from that demand point.
    pub fn from_rows(
        sites: usize,
        weight: Vec<f64>,
        rows: impl IntoIterator<Item = Vec<(u32, f64)>>,
    ) -> Instance {
        let mut inst = Instance {
            sites,
            weight,
            start: vec![0],
            site: Vec::new(),
            cost: Vec::new(),
            beyond: Vec::new(),
            far: None,
        };
        for r in rows {
            inst.push_row(r, f64::INFINITY);
        }
        assert_eq!(
            inst.beyond.len(),
            inst.weight.len(),
            "one row per demand point"
        );
        inst
    }

    /// From truncated rows: row `i` lists some sites, and every site it
    /// leaves out costs at least `beyond[i]`, as `far` computes.
    pub fn truncated(
        sites: usize,
        weight: Vec<f64>,
        rows: impl IntoIterator<Item = (Vec<(u32, f64)>, f64)>,
        far: Arc<dyn FarCost>,
    ) -> Instance {
        let mut inst = Instance::from_rows(sites, Vec::new(), std::iter::empty());
        inst.weight = weight;
        for (r, b) in rows {
            inst.push_row(r, b);
        }
        assert_eq!(
            inst.beyond.len(),
            inst.weight.len(),
            "one row per demand point"
        );
        inst.far = Some(far);
        inst
    }

    fn push_row(&mut self, mut row: Vec<(u32, f64)>, beyond: f64) {
        row.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        for (j, c) in row {
            debug_assert!((j as usize) < self.sites && c >= 0.0);
            debug_assert!(c <= beyond);
            self.site.push(j);
            self.cost.push(c);
        }
        self.start.push(self.site.len());
        self.beyond.push(beyond);
    }

    /// Demand points.
    pub fn demand(&self) -> usize {
        self.weight.len()
    }

    /// Candidate sites.
    pub fn sites(&self) -> usize {
        self.sites
    }

    /// Stored pairs.
    pub fn pairs(&self) -> usize {
        self.site.len()
    }

    /// Weight of each demand point.
    pub fn weights(&self) -> &[f64] {
        &self.weight
    }

    /// Row `i`: its sites and costs, cheapest first.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.start[i]..self.start[i + 1];
        (&self.site[r.clone()], &self.cost[r])
    }

    /// A lower bound on the cost of any site row `i` leaves out (∞ for a
    /// complete row).
    #[inline]
    pub fn beyond(&self, i: usize) -> f64 {
        self.beyond[i]
    }

    /// The cost of a pair: from the row, or from [`FarCost`] when the row
    /// leaves it out.
    pub fn cost(&self, i: usize, j: u32) -> f64 {
        let (s, c) = self.row(i);
        if let Some(k) = s.iter().position(|&x| x == j) {
            return c[k];
        }
        match &self.far {
            Some(far) if self.beyond[i].is_finite() => far.cost(i, j),
            _ => f64::INFINITY,
        }
    }

    /// The cheapest open site of row `i` and its cost, `None` when no open
    /// site is in reach. `open_list` lists the open sites (for rows that
    /// leave them all out).
    pub fn nearest_open(&self, i: usize, open: &[bool], open_list: &[u32]) -> Option<(u32, f64)> {
        let (s, c) = self.row(i);
        if let Some(k) = s.iter().position(|&j| open[j as usize]) {
            return Some((s[k], c[k]));
        }
        if !self.beyond[i].is_finite() {
            return None;
        }
        let far = self.far.as_ref()?;
        open_list
            .iter()
            .map(|&j| (j, far.cost(i, j)))
            .filter(|x| x.1.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
    }

    /// The two cheapest open sites of row `i`: `(site, cost)` of the
    /// nearest and the cost of the second (∞ when there is none).
    pub fn two_nearest_open(
        &self,
        i: usize,
        open: &[bool],
        open_list: &[u32],
    ) -> (Option<(u32, f64)>, f64) {
        let (s, c) = self.row(i);
        let mut first = None;
        for (&j, &x) in s.iter().zip(c) {
            if open[j as usize] {
                match first {
                    None => first = Some((j, x)),
                    Some(_) => return (first, x),
                }
            }
        }
        if !self.beyond[i].is_finite() || self.far.is_none() {
            return (first, f64::INFINITY);
        }
        // Both (or the second) lie beyond the row: rank every open site.
        let far = self.far.as_ref().expect("checked");
        let mut all: Vec<(u32, f64)> = open_list
            .iter()
            .map(|&j| match s.iter().position(|&x| x == j) {
                Some(k) => (j, c[k]),
                None => (j, far.cost(i, j)),
            })
            .filter(|x| x.1.is_finite())
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        (
            all.first().copied(),
            all.get(1).map_or(f64::INFINITY, |x| x.1),
        )
    }

    /// The sites that reach demand point `i` within `radius` (inclusive).
    pub fn within(&self, i: usize, radius: f64) -> &[u32] {
        let (s, c) = self.row(i);
        debug_assert!(
            radius < self.beyond[i] || !self.beyond[i].is_finite(),
            "a truncated row must list every site within a covering radius"
        );
        let n = c.partition_point(|&x| x <= radius);
        &s[..n]
    }

    /// Every distinct cost, ascending.
    pub fn distinct_costs(&self) -> Vec<f64> {
        let mut c = self.cost.clone();
        c.sort_by(f64::total_cmp);
        c.dedup();
        c
    }
}
