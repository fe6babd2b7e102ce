//! Depth-first branch-and-bound over the sites on a Lagrangian bound, shared
//! by the p-median and the capacitated p-median: at each node the
//! subgradient restarts from the parent's multipliers; the reduced-cost
//! test fixes a site closed (or open) when forcing it the other way would
//! lift the bound past the incumbent; the node is pruned once its bound
//! reaches the incumbent; a node whose sites are all decided is evaluated
//! exactly.

/// A site not decided yet.
pub(crate) const FREE: u8 = 0;
/// A site open (existing, or fixed open).
pub(crate) const OPEN: u8 = 1;
/// A site fixed closed.
pub(crate) const CLOSED: u8 = 2;
const NONE: u32 = u32::MAX;

/// What the subgradient left: the best bound, each site's contribution
/// `ρ` at it and the multipliers.
pub(crate) struct Dual {
    pub bound: f64,
    pub rho: Vec<f64>,
    pub lam: Vec<f64>,
}

/// A minimisation over `p` new sites with a Lagrangian bound in which the
/// open sites are the existing ones and the `p` free sites of least `ρ`.
pub(crate) trait Relaxation {
    fn existing(&self) -> &[bool];
    fn p(&self) -> usize;
    /// The best objective found.
    fn incumbent(&self) -> f64;
    /// How far below the incumbent a bound may stay and still prune.
    fn slack(&self) -> f64;
    fn expired(&self) -> bool;
    fn count_node(&mut self);
    /// Raises the bound of the node `state` (with `need` free sites to
    /// open) from `lam`.
    fn subgradient(
        &mut self,
        state: &[u8],
        need: usize,
        lam: Vec<f64>,
        budget: u32,
        mu: f64,
    ) -> Dual;
    /// Evaluates the sites `open` exactly (and keeps them if best).
    fn leaf(&mut self, open: &[bool]) -> f64;
    /// Improves on a new incumbent (a local search), if the relaxation
    /// has one to offer beyond its own.
    fn polish(&mut self) {}
}

/// A branch-and-bound node: each site's state, and the multipliers to
/// start from.
struct Node {
    state: Vec<u8>,
    lam: Vec<f64>,
    /// The parent's bound (a bound for this node too).
    bound: f64,
}

/// Searches from the root `state`; returns the least bound of the nodes
/// closed (pruned, or left when the time ran out): with the incumbent,
/// the proven bound. Budgets are `(iterations, initial step)` at the root
/// and at the other nodes.
pub(crate) fn branch_and_bound<R: Relaxation>(
    r: &mut R,
    state: Vec<u8>,
    lam0: Vec<f64>,
    root_step: (u32, f64),
    node_step: (u32, f64),
) -> f64 {
    let m = state.len();
    let mut stack = vec![Node {
        state,
        lam: lam0,
        bound: f64::NEG_INFINITY,
    }];
    let mut floor = f64::INFINITY; // least bound of the nodes pruned
    let mut root = true;
    while let Some(node) = stack.pop() {
        if node.bound >= r.incumbent() - r.slack() {
            floor = floor.min(node.bound);
            continue;
        }
        if r.expired() {
            floor = floor.min(node.bound);
            floor = stack.iter().fold(floor, |f, n| f.min(n.bound));
            break;
        }
        r.count_node();
        let Node { mut state, lam, .. } = node;
        let opened = state
            .iter()
            .zip(r.existing())
            .filter(|(&s, &e)| s == OPEN && !e)
            .count();
        let free = state.iter().filter(|&&s| s == FREE).count();
        if opened > r.p() || opened + free < r.p() {
            continue; // no solution here
        }
        if opened == r.p() || opened + free == r.p() {
            let leaf: Vec<bool> = state
                .iter()
                .map(|&s| s == OPEN || (s == FREE && opened + free == r.p()))
                .collect();
            let v = r.leaf(&leaf);
            floor = floor.min(v);
            continue;
        }
        let need = r.p() - opened;
        let (budget, mu) = if root { root_step } else { node_step };
        root = false;
        let before = r.incumbent();
        let d = r.subgradient(&state, need, lam, budget, mu);
        if r.incumbent() < before {
            r.polish();
        }
        if d.bound >= r.incumbent() - r.slack() {
            floor = floor.min(d.bound);
            continue;
        }
        // Reduced-cost fixing, then branch on the least decided site.
        let mut order = Vec::with_capacity(m);
        free_by_rho(&state, &d.rho, &mut order);
        let r_in = d.rho[order[need - 1] as usize];
        let r_out = d.rho[order[need] as usize];
        let limit = r.incumbent() - r.slack();
        let mut pick = (f64::INFINITY, NONE, false);
        for (q, &j) in order.iter().enumerate() {
            let r = d.rho[j as usize];
            if q < need {
                if d.bound - r + r_out >= limit {
                    state[j as usize] = OPEN;
                } else if r_out - r < pick.0 {
                    pick = (r_out - r, j, true);
                }
            } else if d.bound + r - r_in >= limit {
                state[j as usize] = CLOSED;
            } else if r - r_in < pick.0 {
                pick = (r - r_in, j, false);
            }
        }
        if pick.1 == NONE {
            // Everything fixed: the node is a leaf now.
            stack.push(Node {
                state,
                lam: d.lam,
                bound: d.bound,
            });
            continue;
        }
        let j = pick.1 as usize;
        let mut other = state.clone();
        let (first, second) = if pick.2 {
            (OPEN, CLOSED)
        } else {
            (CLOSED, OPEN)
        };
        other[j] = second;
        state[j] = first;
        stack.push(Node {
            state: other,
            lam: d.lam.clone(),
            bound: d.bound,
        });
        stack.push(Node {
            state,
            lam: d.lam,
            bound: d.bound,
        });
    }
    floor
}

/// The free sites by `ρ`, least first (ties by index).
pub(crate) fn free_by_rho(state: &[u8], rho: &[f64], order: &mut Vec<u32>) {
    order.clear();
    order.extend((0..state.len() as u32).filter(|&j| state[j as usize] == FREE));
    order.sort_by(|&a, &b| rho[a as usize].total_cmp(&rho[b as usize]).then(a.cmp(&b)));
}
