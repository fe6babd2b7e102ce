//! Pricing the pruned arcs (column generation): which left-out patient →
//! GP arcs could improve the flow under the certificate's potentials, and
//! which of the kept ones can be forgotten for a while.

use super::{ArcCosts, Candidates, ESCAPES_ADDED, KEEP_AT_LEAST, KEEP_SLACK};
use crate::exec::{chunk_ranges, Executor};
use crate::transport::{Certificate, Flow, Problem};

/// Proves the pruning harmless or widens the candidate lists (column
/// generation); returns the number of arcs added (none: proven).
///
/// A pruned arc `(p, g')` could improve the solution only if its reduced
/// cost is negative, i.e. `cost(p, g') < ψ(g') + a(p)`
/// where `a(p)` is the largest `cost(p, g) − ψ(g)` over the GPs `g` holding
/// people of `p` (and `−ψ(source)` while some of `p` is unplaced). Every
/// receiving GP is screened with the metric's lower bound on the arc's
/// cost; only those the bound cannot clear are costed exactly.
pub(super) fn widen<C: ArcCosts, E: Executor>(
    cands: &mut [Candidates],
    pb: &Problem,
    flow: &Flow,
    cert: &Certificate,
    costs: &C,
    exec: &E,
) -> usize {
    let psi = &cert.sink_potential;
    let sinks = psi.len() as u32;
    // A pruned arc helps only below `a(p) + ψ(g')`, so below `a(p) + max ψ`.
    let psi_max = psi.iter().copied().max().unwrap_or(0);
    let anyone_unplaced = flow.unplaced.iter().any(|&u| u > 0);
    let current: &[Candidates] = cands;
    let updates: Vec<(usize, Candidates)> = exec
        .map(chunk_ranges(current.len(), 512), |r| {
            let mut out = Vec::new();
            let mut have = vec![false; psi.len()];
            for i in r {
                let c = &current[i];
                if c.complete {
                    continue;
                }
                // Reachable from the unplaced in the residual graph: needs
                // every arc, or a pruned one could carry an augmenting path.
                let reachable = flow.unplaced[i] > 0
                    || (anyone_unplaced
                        && pb.arcs(i).any(|a| {
                            flow.on_arc[a] > 0 && cert.reachable[pb.arc_sink[a] as usize]
                        }));
                let mut a_p = i64::MIN / 2;
                for a in pb.arcs(i) {
                    if flow.on_arc[a] > 0 {
                        a_p = a_p.max(pb.arc_cost[a] - psi[pb.arc_sink[a] as usize]);
                    }
                }
                if flow.unplaced[i] > 0 {
                    a_p = a_p.max(-cert.source_potential);
                }
                for &(j, _) in &c.arcs {
                    have[j as usize] = true;
                }
                let mut added = Vec::new();
                // Receiving GPs outside the reachable set within reach of a
                // reachable patient would cut the max-flow proof: the
                // cheapest few of them are offered.
                let mut escapes: Vec<(i64, u32)> = Vec::new();
                let mut visit = |j: u32| {
                    if have[j as usize] {
                        return;
                    }
                    let Some(lb) = costs.bound(i, j) else {
                        return;
                    };
                    if reachable && !cert.reachable[j as usize] {
                        escapes.push((lb, j));
                    }
                    if lb >= psi[j as usize] + a_p {
                        return;
                    }
                    if let Some(cost) = costs.cost(i, j) {
                        if cost < psi[j as usize] + a_p {
                            added.push((j, cost));
                        }
                    }
                };
                if reachable {
                    // Escapes may lie anywhere within the limits.
                    (0..sinks).for_each(&mut visit);
                } else {
                    costs.each_below(i, a_p.saturating_add(psi_max), sinks, &mut visit);
                }
                if !escapes.is_empty() {
                    for (j, cost) in k_cheapest(escapes, ESCAPES_ADDED, |j| costs.cost(i, j)) {
                        if !added.iter().any(|x| x.0 == j) {
                            added.push((j, cost));
                        }
                    }
                }
                for &(j, _) in &c.arcs {
                    have[j as usize] = false;
                }
                if added.is_empty() {
                    continue;
                }
                let mut next = Candidates {
                    arcs: c.arcs.clone(),
                    complete: false,
                };
                next.arcs.extend(added);
                next.sort();
                out.push((i, next));
            }
            out
        })
        .concat();
    let mut added = 0;
    for (i, c) in updates {
        added += c.arcs.len() - cands[i].arcs.len();
        cands[i] = c;
    }
    added
}

/// Forgets arcs whose reduced cost is far above the patient's best one
/// (they are priced again every round, so the proof still covers them):
/// keeps the re-solves small when many arcs had to be added.
pub(super) fn drop_slack(cands: &mut [Candidates], pb: &Problem, flow: &Flow, cert: &Certificate) {
    let psi = &cert.sink_potential;
    for (i, c) in cands.iter_mut().enumerate() {
        if c.complete || c.arcs.len() <= KEEP_AT_LEAST {
            continue;
        }
        let arcs = pb.arcs(i);
        let reduced: Vec<i64> = arcs
            .clone()
            .map(|a| pb.arc_cost[a] - psi[pb.arc_sink[a] as usize])
            .collect();
        let best = reduced.iter().copied().min().unwrap_or(0);
        let mut order: Vec<usize> = (0..reduced.len()).collect();
        order.sort_by_key(|&k| (reduced[k], k));
        let keep: Vec<bool> = {
            let mut keep = vec![false; reduced.len()];
            for (rank, &k) in order.iter().enumerate() {
                keep[k] = rank < KEEP_AT_LEAST
                    || reduced[k] - best <= KEEP_SLACK
                    || flow.on_arc[arcs.start + k] > 0;
            }
            keep
        };
        let mut k = 0;
        c.arcs.retain(|_| {
            k += 1;
            keep[k - 1]
        });
    }
}

/// The `k` smallest values among `keys`, exactly (ties by sink): each key
/// is `(lower bound of the value, sink)`, and `value(sink)` is the exact
/// value (`None`: no such arc). Candidates are taken in bound order and
/// valued until the bound passes the `k`-th value found. With tight bounds
/// the answer lies among the first few keys: the `2k` smallest are sorted
/// first, and the rest are heaped only if they could still matter.
pub(super) fn k_cheapest(
    mut keys: Vec<(i64, u32)>,
    k: usize,
    value: impl Fn(u32) -> Option<i64>,
) -> Vec<(u32, i64)> {
    if k == 0 || keys.is_empty() {
        return Vec::new();
    }
    let m = (2 * k).min(keys.len());
    if m < keys.len() {
        keys.select_nth_unstable(m - 1);
    }
    let (head, tail) = keys.split_at_mut(m);
    head.sort_unstable();
    let mut rest: Option<std::collections::BinaryHeap<std::cmp::Reverse<(i64, u32)>>> = None;
    let tail_in_order = std::iter::from_fn(|| {
        rest.get_or_insert_with(|| tail.iter().map(|&x| std::cmp::Reverse(x)).collect())
            .pop()
            .map(|std::cmp::Reverse(x)| x)
    });
    k_cheapest_sorted(head.iter().copied().chain(tail_in_order), k, value)
}

/// [`k_cheapest`] of keys that come in ascending order, consumed only as
/// far as they can matter.
pub(super) fn k_cheapest_sorted(
    keys: impl IntoIterator<Item = (i64, u32)>,
    k: usize,
    value: impl Fn(u32) -> Option<i64>,
) -> Vec<(u32, i64)> {
    if k == 0 {
        return Vec::new();
    }
    // (value, sink), sorted, at most k.
    let mut best: Vec<(i64, u32)> = Vec::with_capacity(k + 1);
    for (bound, j) in keys {
        if best.len() == k && bound > best[k - 1].0 {
            break;
        }
        if let Some(v) = value(j) {
            let pos = best.partition_point(|b| *b < (v, j));
            if pos < k {
                best.insert(pos, (v, j));
                best.truncate(k);
            }
        }
    }
    best.into_iter().map(|(v, j)| (j, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::k_cheapest;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn k_cheapest_equals_sorting_every_value() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..2000 {
            let n = rng.random_range(0..60u32);
            let k = rng.random_range(0..12usize);
            // Values with ties; some arcs missing; bounds at most the value,
            // tight or loose.
            let values: Vec<Option<i64>> = (0..n)
                .map(|_| rng.random_bool(0.85).then(|| rng.random_range(0..40)))
                .collect();
            let keys: Vec<(i64, u32)> = (0..n)
                .map(|j| {
                    let v = values[j as usize].unwrap_or(rng.random_range(0..40));
                    (
                        v - rng.random_range(0..=if case % 2 == 0 { 0 } else { 30 }),
                        j,
                    )
                })
                .collect();
            let got = k_cheapest(keys, k, |j| values[j as usize]);
            let mut all: Vec<(i64, u32)> = (0..n)
                .filter_map(|j| Some((values[j as usize]?, j)))
                .collect();
            all.sort();
            all.truncate(k);
            let want: Vec<(u32, i64)> = all.into_iter().map(|(v, j)| (j, v)).collect();
            assert_eq!(got, want, "case {case}");
        }
    }
}
