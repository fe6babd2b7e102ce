//! Exact min-cost maximum flow for the transportation problem behind GP
//! reassignment, and an independent optimality certificate.
//!
//! Sources are patients (integer supplies), sinks are receiving GPs (integer
//! capacities), arcs carry integer costs (millimetres). The solver adds the
//! patients one at a time and sends each along a shortest augmenting path
//! (Dijkstra with potentials, as in the Hungarian method), so every partial
//! flow is optimal for the patients added so far. The search runs on a
//! *compressed* residual graph whose nodes are only the GPs and the sink:
//! a patient already placed at `g1` who could go to `g2` gives the arc
//! `g1 → g2` of cost `d(p, g2) − d(p, g1)`, and the cheapest such patient
//! per ordered pair is kept in a lazy heap. A search from a new patient
//! starts from that patient's few arcs and usually ends at the first GP
//! with room, so it touches a handful of nodes, not every GP; its queue is
//! a radix heap, since reduced distances only grow.
//!
//! "Place as many as possible" is folded into the costs: every patient may
//! also go to an *unplaced* sink of unlimited room at cost `M`, with `M`
//! larger than any simple cycle of real arcs can cost: `M = 2 (G + 2) ·
//! max|c| + 1` over `G` sinks. A flow of least total cost then places the
//! most people (a cycle placing one more person saves at least `M` minus
//! what its real arcs cost), and among those has the least real cost.
//!
//! Correctness does not rest on the solver: [`certify`] rebuilds the
//! compressed residual graph from the final flow, proves it has no negative
//! cycle (Bellman–Ford from a virtual root), and proves the flow maximum
//! (the sink is unreachable).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const NONE: u32 = u32::MAX;
const INF: i64 = i64::MAX / 4;

/// A transportation problem in compressed-row form.
#[derive(Debug, Clone, Default)]
pub(crate) struct Problem {
    /// People per source.
    pub supply: Vec<u32>,
    /// Room per sink ([`UNBOUNDED`] for no limit).
    pub cap: Vec<u64>,
    /// `arcs of source p = arc_start[p]..arc_start[p + 1]`.
    pub arc_start: Vec<u32>,
    /// Sink of each arc.
    pub arc_sink: Vec<u32>,
    /// Cost of each arc (per person).
    pub arc_cost: Vec<i64>,
}

/// Capacity standing for "no limit".
pub(crate) const UNBOUNDED: u64 = u64::MAX / 4;

impl Problem {
    pub fn sources(&self) -> usize {
        self.supply.len()
    }

    pub fn sinks(&self) -> usize {
        self.cap.len()
    }

    pub fn arcs(&self, p: usize) -> std::ops::Range<usize> {
        self.arc_start[p] as usize..self.arc_start[p + 1] as usize
    }

    fn owners(&self) -> Vec<u32> {
        let mut owner = vec![0u32; self.arc_sink.len()];
        for p in 0..self.sources() {
            for a in self.arcs(p) {
                owner[a] = p as u32;
            }
        }
        owner
    }
}

/// A flow: people per arc, and people left unplaced per source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flow {
    pub on_arc: Vec<u32>,
    pub unplaced: Vec<u32>,
    /// Augmenting paths used.
    pub augmentations: u64,
    /// What the solver's final duals charge for a place at each sink, in
    /// cost units (≥ 0; 0 where room is left). A guide to prices, not a
    /// proof: [`certify`] gives those.
    pub price: Vec<i64>,
}

#[cfg(test)]
impl Flow {
    pub fn cost(&self, pb: &Problem) -> i64 {
        self.on_arc
            .iter()
            .zip(&pb.arc_cost)
            .map(|(&f, &c)| f as i64 * c)
            .sum()
    }

    pub fn placed(&self) -> u64 {
        self.on_arc.iter().map(|&f| f as u64).sum()
    }
}

type PairEntry = Reverse<(i64, u32, u32)>;

/// A monotone priority queue of `(distance, node)` for the searches: keys
/// never fall below the last one taken (reduced costs are ≥ 0), so each
/// key goes to the bucket of the highest bit in which it differs from that
/// key (a radix heap): a push is constant work, and a pop redistributes
/// one bucket. Equal keys come out in no fixed order of node, but always
/// the same for the same pushes.
struct RadixHeap {
    last: u64,
    len: usize,
    buckets: Vec<Vec<(u64, u32)>>,
}

impl RadixHeap {
    fn new() -> RadixHeap {
        RadixHeap {
            last: 0,
            len: 0,
            buckets: vec![Vec::new(); 65],
        }
    }

    fn clear(&mut self) {
        if self.len > 0 {
            for b in &mut self.buckets {
                b.clear();
            }
        }
        self.last = 0;
        self.len = 0;
    }

    #[inline]
    fn bucket(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    #[inline]
    fn push(&mut self, key: i64, v: u32) {
        debug_assert!(key >= 0 && key as u64 >= self.last);
        let key = key as u64;
        let b = self.bucket(key);
        self.buckets[b].push((key, v));
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(i64, u32)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let b = (1..65).find(|&b| !self.buckets[b].is_empty())?;
            let mut moved = std::mem::take(&mut self.buckets[b]);
            self.last = moved.iter().map(|e| e.0).min().expect("not empty");
            // Every key now differs from `last` below bit `b`.
            for &(k, v) in &moved {
                let nb = self.bucket(k);
                self.buckets[nb].push((k, v));
            }
            // Keep the allocation.
            moved.clear();
            self.buckets[b] = moved;
        }
        self.len -= 1;
        self.buckets[0].pop().map(|(k, v)| (k as i64, v))
    }
}

/// Solves `pb` exactly: the flow places as many people as possible and,
/// among such flows, has the least total cost. Deterministic: patients are
/// added in source order, and among equally short paths the search keeps
/// the one its fixed order of pushes and pops reaches first (the same
/// input always gives the same flow; which of two equally good sinks a
/// person takes is not otherwise specified).
pub(crate) fn solve(pb: &Problem) -> Flow {
    let g = pb.sinks();
    // Nodes: the sinks, the unplaced sink `u`, the super-sink `t`.
    let (u, t, n) = (g, g + 1, g + 2);
    let narcs = pb.arc_sink.len();
    let sources = pb.sources();
    // Arc `narcs + p` sends source `p` to `u`.
    let mut owner = pb.owners();
    owner.extend(0..sources as u32);
    let mut sink = pb.arc_sink.clone();
    sink.extend(std::iter::repeat_n(u as u32, sources));
    let cmax = pb.arc_cost.iter().map(|c| c.abs()).max().unwrap_or(0);
    let big_m = (2 * (g as i64 + 2)).saturating_mul(cmax).saturating_add(1);
    debug_assert!(big_m < INF / 8, "arc costs too large for the penalty");
    // The searches need reduced costs ≥ 0 (their queue is monotone): the
    // same constant added to every arc of every patient, the unplaced one
    // too, changes no choice and no difference between two arcs.
    let shift = pb
        .arc_cost
        .iter()
        .copied()
        .min()
        .unwrap_or(0)
        .min(0)
        .saturating_neg();
    let mut cost: Vec<i64> = pb.arc_cost.iter().map(|&c| c + shift).collect();
    cost.extend(std::iter::repeat_n(big_m + shift, sources));
    let arcs_of = |p: usize| pb.arcs(p).chain(std::iter::once(narcs + p));

    let mut flow = vec![0u32; narcs + sources];
    let mut spare = pb.cap.clone();
    spare.push(UNBOUNDED);
    let mut pi = vec![0i64; n];
    // g1 → g2: (cost difference, arc at g1, arc to g2) of people placed at g1.
    let mut slot = vec![NONE; n * n];
    let mut pair: Vec<BinaryHeap<PairEntry>> = Vec::new();
    let mut out: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
    // Arcs that gained people at each node since its pairs were last built.
    let mut pending: Vec<Vec<u32>> = vec![Vec::new(); n];

    let mut dist = vec![INF; n];
    let mut done = vec![false; n];
    let mut touched: Vec<usize> = Vec::with_capacity(n);
    let mut popped: Vec<usize> = Vec::with_capacity(n);
    // (previous node or `START`, arc the moved person leaves, arc they take)
    const START: u32 = NONE - 1;
    let mut pred = vec![(NONE, NONE, NONE); n];
    let mut heap = RadixHeap::new();
    let mut augmentations = 0u64;

    for p in 0..sources {
        let mut rem = pb.supply[p];
        while rem > 0 {
            for &v in &touched {
                dist[v] = INF;
                done[v] = false;
            }
            touched.clear();
            popped.clear();
            heap.clear();
            for a in arcs_of(p) {
                let j = sink[a] as usize;
                let nd = cost[a] - pi[j];
                if nd < dist[j] {
                    if dist[j] == INF {
                        touched.push(j);
                    }
                    dist[j] = nd;
                    pred[j] = (START, a as u32, a as u32);
                    heap.push(nd, j as u32);
                }
            }
            while let Some((d, v)) = heap.pop() {
                let v = v as usize;
                if done[v] || d > dist[v] {
                    continue;
                }
                done[v] = true;
                popped.push(v);
                if v == t {
                    break;
                }
                if spare[v] > 0 {
                    let nd = d + pi[v] - pi[t];
                    debug_assert!(nd >= d);
                    if nd < dist[t] {
                        if dist[t] == INF {
                            touched.push(t);
                        }
                        dist[t] = nd;
                        pred[t] = (v as u32, NONE, NONE);
                        if nd == d {
                            // Nothing left can reach `t` sooner.
                            done[t] = true;
                            popped.push(t);
                            break;
                        }
                        heap.push(nd, t as u32);
                    }
                }
                // The people placed here since `v` was last left can move on.
                for to in std::mem::take(&mut pending[v]) {
                    let to = to as usize;
                    if flow[to] == 0 {
                        continue;
                    }
                    let q = owner[to] as usize;
                    for a2 in arcs_of(q) {
                        if a2 == to {
                            continue;
                        }
                        let g2 = sink[a2] as usize;
                        let k = v * n + g2;
                        if slot[k] == NONE {
                            slot[k] = pair.len() as u32;
                            out[v].push((g2 as u32, slot[k]));
                            pair.push(BinaryHeap::new());
                        }
                        pair[slot[k] as usize].push(Reverse((
                            cost[a2] - cost[to],
                            to as u32,
                            a2 as u32,
                        )));
                    }
                }
                for &(g2, h) in &out[v] {
                    let g2 = g2 as usize;
                    if done[g2] {
                        continue;
                    }
                    let h = &mut pair[h as usize];
                    while let Some(&Reverse((c, from, to))) = h.peek() {
                        if flow[from as usize] > 0 {
                            let nd = d + c + pi[v] - pi[g2];
                            debug_assert!(nd >= d, "negative reduced cost {v}→{g2}");
                            if nd < dist[g2] {
                                if dist[g2] == INF {
                                    touched.push(g2);
                                }
                                dist[g2] = nd;
                                pred[g2] = (v as u32, from, to);
                                heap.push(nd, g2 as u32);
                            }
                            break;
                        }
                        h.pop();
                    }
                }
            }
            // `u` has unlimited room, so `t` is always reached.
            debug_assert!(done[t]);
            let big_d = dist[t];
            for &v in &popped {
                pi[v] += dist[v] - big_d;
            }

            // Bottleneck along the path.
            let last = pred[t].0 as usize;
            let mut delta = spare[last].min(rem as u64);
            let mut v = last;
            loop {
                let (w, from, _) = pred[v];
                if w == START {
                    break;
                }
                delta = delta.min(flow[from as usize] as u64);
                v = w as usize;
            }
            let delta32 = delta as u32;
            spare[last] -= delta;
            rem -= delta32;
            let mut v = last;
            loop {
                let (w, from, to) = pred[v];
                if w != START {
                    flow[from as usize] -= delta32;
                }
                let to = to as usize;
                if flow[to] == 0 {
                    // Newly placed at this sink: they may move on from
                    // here, once a search leaves it.
                    pending[sink[to] as usize].push(to as u32);
                }
                flow[to] += delta32;
                if w == START {
                    break;
                }
                v = w as usize;
            }
            augmentations += 1;
        }
    }
    let unplaced = flow.split_off(narcs);
    Flow {
        on_arc: flow,
        unplaced,
        augmentations,
        price: (0..g).map(|j| (pi[t] - pi[j]).max(0)).collect(),
    }
}

/// Dual evidence that a flow is optimal on its arc set.
#[derive(Debug, Clone)]
pub(crate) struct Certificate {
    /// Potential of each sink (≤ 0): no residual arc has negative reduced cost.
    pub sink_potential: Vec<i64>,
    /// Potential of the super-source.
    pub source_potential: i64,
    /// Sinks reachable from the super-source in the residual graph (only
    /// meaningful when someone is unplaced).
    pub reachable: Vec<bool>,
}

/// Checks `flow` against `pb` from scratch: feasibility (supplies and
/// capacities), no augmenting path, and no negative cycle in the residual
/// graph. Returns the potentials proving it, or what is wrong.
pub(crate) fn certify(pb: &Problem, flow: &Flow) -> Result<Certificate, String> {
    let g = pb.sinks();
    let (s, t, n) = (g, g + 1, g + 2);
    if flow.on_arc.len() != pb.arc_sink.len() || flow.unplaced.len() != pb.sources() {
        return Err("flow does not match the problem".into());
    }
    let mut load = vec![0u64; g];
    for p in 0..pb.sources() {
        let placed: u64 = pb.arcs(p).map(|a| flow.on_arc[a] as u64).sum();
        if placed + flow.unplaced[p] as u64 != pb.supply[p] as u64 {
            return Err(format!("source {p}: supply not conserved"));
        }
        for a in pb.arcs(p) {
            load[pb.arc_sink[a] as usize] += flow.on_arc[a] as u64;
        }
    }
    for (j, (&l, &c)) in load.iter().zip(&pb.cap).enumerate() {
        if l > c {
            return Err(format!("sink {j}: capacity {c} exceeded ({l})"));
        }
    }
    // Residual arcs of the compressed graph, cheapest per ordered pair.
    let mut cost = vec![INF; n * n];
    let mut set = |u: usize, v: usize, c: i64| {
        if u != v && c < cost[u * n + v] {
            cost[u * n + v] = c;
        }
    };
    for p in 0..pb.sources() {
        for a in pb.arcs(p) {
            if flow.unplaced[p] > 0 {
                set(s, pb.arc_sink[a] as usize, pb.arc_cost[a]);
            }
            if flow.on_arc[a] == 0 {
                continue;
            }
            let g1 = pb.arc_sink[a] as usize;
            set(g1, s, -pb.arc_cost[a]);
            for a2 in pb.arcs(p) {
                set(
                    g1,
                    pb.arc_sink[a2] as usize,
                    pb.arc_cost[a2] - pb.arc_cost[a],
                );
            }
        }
    }
    for (j, (&l, &c)) in load.iter().zip(&pb.cap).enumerate() {
        if l < c {
            set(j, t, 0);
        }
        if l > 0 {
            set(t, j, 0);
        }
    }
    let mut adj: Vec<Vec<(u32, i64)>> = vec![Vec::new(); n];
    for u in 0..n {
        for v in 0..n {
            let c = cost[u * n + v];
            if c < INF {
                adj[u].push((v as u32, c));
            }
        }
    }
    // No augmenting path: the sink is unreachable from the source.
    let mut seen = vec![false; n];
    let mut queue = VecDeque::from([s]);
    seen[s] = true;
    while let Some(u) = queue.pop_front() {
        for &(v, _) in &adj[u] {
            if !seen[v as usize] {
                seen[v as usize] = true;
                queue.push_back(v as usize);
            }
        }
    }
    if seen[t] {
        return Err("an augmenting path exists: more people could be placed".into());
    }
    // Bellman–Ford (queue-based) from a virtual root joined to every node
    // at cost 0; a node relaxed n times lies on a negative cycle.
    // A node's current shortest path has `edges[v]` arcs after the root;
    // one of n arcs or more repeats a node, and only a negative cycle makes
    // a path with a repeated node shorter. (Counting how often a node is
    // relaxed instead, as this once did, is not a proof: the queue may
    // relax a node more than n times without any negative cycle.)
    let mut pot = vec![0i64; n];
    let mut in_queue = vec![true; n];
    let mut edges = vec![0usize; n];
    let mut queue: VecDeque<usize> = (0..n).collect();
    while let Some(u) = queue.pop_front() {
        in_queue[u] = false;
        for &(v, c) in &adj[u] {
            let v = v as usize;
            if pot[u] + c < pot[v] {
                pot[v] = pot[u] + c;
                edges[v] = edges[u] + 1;
                if edges[v] >= n {
                    return Err("negative cycle: a cheaper assignment exists".into());
                }
                if !in_queue[v] {
                    in_queue[v] = true;
                    queue.push_back(v);
                }
            }
        }
    }
    for u in 0..n {
        for &(v, c) in &adj[u] {
            if c + pot[u] - pot[v as usize] < 0 {
                return Err("potentials do not prove optimality".into());
            }
        }
    }
    Ok(Certificate {
        source_potential: pot[s],
        sink_potential: pot[..g].to_vec(),
        reachable: seen[..g].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Builds a problem from dense costs (`None` = no arc).
    fn dense(supply: &[u32], cap: &[u64], cost: &[Vec<Option<i64>>]) -> Problem {
        let mut pb = Problem {
            supply: supply.to_vec(),
            cap: cap.to_vec(),
            arc_start: vec![0],
            ..Problem::default()
        };
        for row in cost {
            for (j, c) in row.iter().enumerate() {
                if let Some(c) = c {
                    pb.arc_sink.push(j as u32);
                    pb.arc_cost.push(*c);
                }
            }
            pb.arc_start.push(pb.arc_sink.len() as u32);
        }
        pb
    }

    /// Exhaustive search over every way of sending each person to a sink
    /// or leaving them out: (most placed, then least cost).
    fn brute_force(supply: &[u32], cap: &[u64], cost: &[Vec<Option<i64>>]) -> (u64, i64) {
        // Expand sources into single people.
        let people: Vec<usize> = supply
            .iter()
            .enumerate()
            .flat_map(|(p, &w)| std::iter::repeat_n(p, w as usize))
            .collect();
        let mut load = vec![0u64; cap.len()];
        let mut best = (0u64, 0i64);
        #[allow(clippy::too_many_arguments)]
        fn go(
            i: usize,
            people: &[usize],
            cost: &[Vec<Option<i64>>],
            cap: &[u64],
            load: &mut [u64],
            placed: u64,
            total: i64,
            best: &mut (u64, i64),
        ) {
            if i == people.len() {
                if placed > best.0 || (placed == best.0 && total < best.1) {
                    *best = (placed, total);
                }
                return;
            }
            go(i + 1, people, cost, cap, load, placed, total, best);
            for (j, c) in cost[people[i]].iter().enumerate() {
                if let Some(c) = c {
                    if load[j] < cap[j] {
                        load[j] += 1;
                        go(i + 1, people, cost, cap, load, placed + 1, total + c, best);
                        load[j] -= 1;
                    }
                }
            }
        }
        go(0, &people, cost, cap, &mut load, 0, 0, &mut best);
        best
    }

    fn random_instance(rng: &mut ChaCha8Rng) -> (Vec<u32>, Vec<u64>, Vec<Vec<Option<i64>>>) {
        let np = rng.random_range(1..6);
        let ng = rng.random_range(1..5);
        let supply: Vec<u32> = (0..np).map(|_| rng.random_range(0..3)).collect();
        let cap: Vec<u64> = (0..ng).map(|_| rng.random_range(0..4)).collect();
        let cost = (0..np)
            .map(|_| {
                (0..ng)
                    .map(|_| rng.random_bool(0.7).then(|| rng.random_range(0..20)))
                    .collect()
            })
            .collect();
        (supply, cap, cost)
    }

    #[test]
    fn solver_matches_exhaustive_search_on_random_small_instances() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for case in 0..400 {
            let (supply, cap, cost) = random_instance(&mut rng);
            let people: u32 = supply.iter().sum();
            if people > 8 {
                continue;
            }
            let pb = dense(&supply, &cap, &cost);
            let flow = solve(&pb);
            let want = brute_force(&supply, &cap, &cost);
            assert_eq!((flow.placed(), flow.cost(&pb)), want, "case {case}: {pb:?}");
            certify(&pb, &flow).unwrap_or_else(|e| panic!("case {case}: {e}"));
        }
    }

    #[test]
    fn negative_costs_give_the_exhaustive_optimum_too() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for case in 0..300 {
            let (supply, cap, mut cost) = random_instance(&mut rng);
            let people: u32 = supply.iter().sum();
            if people > 8 {
                continue;
            }
            for c in cost.iter_mut().flatten().flatten() {
                *c -= 12;
            }
            let pb = dense(&supply, &cap, &cost);
            let flow = solve(&pb);
            let want = brute_force(&supply, &cap, &cost);
            assert_eq!((flow.placed(), flow.cost(&pb)), want, "case {case}: {pb:?}");
            certify(&pb, &flow).unwrap_or_else(|e| panic!("case {case}: {e}"));
        }
    }

    #[test]
    fn larger_random_instances_are_certified_optimal() {
        // Too big to enumerate: the independent certificate (no augmenting
        // path, no negative cycle) is the check; room is short, so chains
        // of moves and orphans both occur, and weights exceed one.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut orphaned = 0;
        for case in 0..60 {
            let np = rng.random_range(20..120);
            let ng = rng.random_range(2..16);
            let supply: Vec<u32> = (0..np).map(|_| rng.random_range(0..4)).collect();
            let people: u64 = supply.iter().map(|&s| s as u64).sum();
            let cap: Vec<u64> = (0..ng)
                .map(|_| rng.random_range(0..=2 * people / ng as u64))
                .collect();
            let cost: Vec<Vec<Option<i64>>> = (0..np)
                .map(|_| {
                    (0..ng)
                        .map(|_| rng.random_bool(0.4).then(|| rng.random_range(0..1_000)))
                        .collect()
                })
                .collect();
            let pb = dense(&supply, &cap, &cost);
            let flow = solve(&pb);
            certify(&pb, &flow).unwrap_or_else(|e| panic!("case {case}: {e}"));
            if flow.unplaced.iter().any(|&u| u > 0) {
                orphaned += 1;
            }
        }
        assert!(orphaned >= 10, "only {orphaned} cases left someone out");
    }

    #[test]
    fn the_certificate_rejects_a_feasible_but_costlier_flow() {
        // Two people, two sinks of room 1: crossing costs 10 + 10, straight 1 + 1.
        let pb = dense(
            &[1, 1],
            &[1, 1],
            &[vec![Some(1), Some(10)], vec![Some(10), Some(1)]],
        );
        let crossed = Flow {
            on_arc: vec![0, 1, 1, 0],
            unplaced: vec![0, 0],
            augmentations: 0,
            price: Vec::new(),
        };
        let err = certify(&pb, &crossed).unwrap_err();
        assert!(err.contains("negative cycle"), "{err}");
        assert_eq!(solve(&pb).cost(&pb), 2);
    }

    #[test]
    fn the_certificate_rejects_a_flow_that_is_not_maximum() {
        // A can use sinks 0 and 1, B only sink 0: A at sink 0 (its cheaper
        // one) strands B, though both fit with A at sink 1.
        let pb = dense(
            &[1, 1],
            &[1, 1],
            &[vec![Some(1), Some(5)], vec![Some(1), None]],
        );
        let greedy = Flow {
            on_arc: vec![1, 0, 0],
            unplaced: vec![0, 1],
            augmentations: 0,
            price: Vec::new(),
        };
        let err = certify(&pb, &greedy).unwrap_err();
        assert!(err.contains("augmenting path"), "{err}");
        let best = solve(&pb);
        assert_eq!((best.placed(), best.cost(&pb)), (2, 6));
    }

    #[test]
    fn when_room_is_short_the_nearer_person_gets_the_place() {
        // One place; A would cost 100, B 1: max flow 1 either way, B wins.
        let pb = dense(&[1, 1], &[1], &[vec![Some(100)], vec![Some(1)]]);
        let flow = solve(&pb);
        assert_eq!(flow.unplaced, vec![1, 0]);
        assert_eq!(flow.cost(&pb), 1);
        certify(&pb, &flow).unwrap();
    }

    #[test]
    fn a_long_chain_of_moves_is_found() {
        // Sinks 0..=5 in a line, room 1 each;
        // people i sit at cost 0 for sink i and 1 for sink i+1, and an extra
        // person arrives at sink 0: everyone shifts one place down the line.
        let m = 5;
        let mut cost = vec![vec![None; m + 1]; m + 1];
        for (i, row) in cost.iter_mut().enumerate().take(m) {
            row[i] = Some(0);
            row[i + 1] = Some(1);
        }
        cost[m][0] = Some(0);
        let cap = vec![1u64; m + 1];
        let supply = vec![1u32; m + 1];
        let pb = dense(&supply, &cap, &cost);
        let flow = solve(&pb);
        assert_eq!(flow.placed(), 6);
        assert_eq!(flow.cost(&pb), 5);
        certify(&pb, &flow).unwrap();
    }
}

/// An optimal transportation plan ([`transport`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transported {
    /// Per source, `(sink, amount)` for each arc carrying flow.
    pub flows: Vec<Vec<(u32, u32)>>,
    /// Per source, the amount no sink could take.
    pub unplaced: Vec<u32>,
    /// Σ amount × cost over the flows.
    pub cost: i128,
}

/// Solves a transportation problem exactly and certifies it: `supply[p]`
/// units leave source `p` along its `arcs[p]` (`(sink, integer cost)`),
/// each sink taking at most `cap[s]`. As many units as possible are
/// placed, then the total cost is least (the scenario solver: successive
/// shortest paths on the compressed residual graph). Fails only if the
/// independent certificate (no augmenting path, no negative cycle) does
/// not hold, which would be a bug.
pub fn transport(
    supply: &[u32],
    cap: &[u64],
    arcs: &[Vec<(u32, i64)>],
) -> std::result::Result<Transported, String> {
    assert_eq!(supply.len(), arcs.len(), "one arc list per source");
    let mut pb = Problem {
        supply: supply.to_vec(),
        cap: cap.to_vec(),
        arc_start: Vec::with_capacity(arcs.len() + 1),
        arc_sink: Vec::new(),
        arc_cost: Vec::new(),
    };
    pb.arc_start.push(0);
    for a in arcs {
        for &(s, c) in a {
            assert!((s as usize) < cap.len(), "arc to an unknown sink");
            pb.arc_sink.push(s);
            pb.arc_cost.push(c);
        }
        pb.arc_start.push(pb.arc_sink.len() as u32);
    }
    let flow = solve(&pb);
    certify(&pb, &flow)?;
    let mut cost = 0i128;
    let flows = (0..pb.sources())
        .map(|p| {
            pb.arcs(p)
                .filter(|&a| flow.on_arc[a] > 0)
                .map(|a| {
                    cost += i128::from(flow.on_arc[a]) * i128::from(pb.arc_cost[a]);
                    (pb.arc_sink[a], flow.on_arc[a])
                })
                .collect()
        })
        .collect();
    Ok(Transported {
        flows,
        unplaced: flow.unplaced,
        cost,
    })
}
