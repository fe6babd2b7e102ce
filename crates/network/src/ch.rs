//! A contraction hierarchy over a [`Graph`] (Geisberger et al., 2008):
//! nodes are contracted one by one in order of importance, adding shortcut
//! arcs where no witness path exists; a query then searches only upwards
//! from both ends. Costs are the graph's exact integer [`Cost`]s (node
//! penalties folded into the arcs that enter a node), so every answer is
//! the very cost a plain Dijkstra finds — the tests check it pair by pair.
//!
//! Many-to-many tables use buckets (Knopp et al., 2007): one backward
//! upward search per target fills buckets on the nodes it settles, one
//! forward upward search per source reads them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::graph::{Cost, Graph};

/// Nodes a witness search may settle before giving up (giving up only adds
/// a shortcut that was perhaps not needed: never a wrong answer).
const WITNESS_SETTLE_LIMIT: usize = 60;

/// Arcs in compressed rows: per node, `(other end, cost)`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Rows {
    first: Vec<u32>,
    arcs: Vec<(u32, Cost)>,
}

impl Rows {
    fn from_lists(lists: Vec<Vec<(u32, Cost)>>) -> Rows {
        let mut first = Vec::with_capacity(lists.len() + 1);
        let mut arcs = Vec::new();
        first.push(0);
        for l in lists {
            arcs.extend(l);
            first.push(arcs.len() as u32);
        }
        Rows { first, arcs }
    }

    #[inline]
    fn of(&self, v: u32) -> &[(u32, Cost)] {
        &self.arcs[self.first[v as usize] as usize..self.first[v as usize + 1] as usize]
    }
}

/// The prepared hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractionHierarchy {
    rank: Vec<u32>,
    /// Arcs `v → w` with `rank[w] > rank[v]`, stored at `v`.
    up: Rows,
    /// Arcs `w → v` with `rank[w] > rank[v]`, stored at `v` as `(w, cost)`.
    down: Rows,
    shortcuts: usize,
}

/// Reusable state of an upward search.
#[derive(Debug, Clone)]
pub struct UpSearch {
    cost: Vec<Cost>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(Cost, u32)>>,
    settled: Vec<(u32, Cost)>,
}

impl UpSearch {
    /// State for a hierarchy of `n` nodes.
    pub fn new(n: usize) -> UpSearch {
        UpSearch {
            cost: vec![Cost::INFINITE; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            settled: Vec::new(),
        }
    }

    fn reset(&mut self) {
        for &v in &self.touched {
            self.cost[v as usize] = Cost::INFINITE;
        }
        self.touched.clear();
        self.heap.clear();
        self.settled.clear();
    }

    fn offer(&mut self, v: u32, c: Cost) {
        if c < self.cost[v as usize] {
            if self.cost[v as usize] == Cost::INFINITE {
                self.touched.push(v);
            }
            self.cost[v as usize] = c;
            self.heap.push(Reverse((c, v)));
        }
    }

    /// Runs an upward search over `rows` from `sources`; the settled nodes
    /// and their costs are in [`UpSearch::settled`].
    fn run(&mut self, rows: &Rows, sources: &[(u32, Cost)]) {
        self.reset();
        for &(v, c) in sources {
            self.offer(v, c);
        }
        while let Some(Reverse((c, v))) = self.heap.pop() {
            if c != self.cost[v as usize] {
                continue;
            }
            self.settled.push((v, c));
            for &(w, a) in rows.of(v) {
                self.offer(w, c.plus(a));
            }
        }
    }

    /// Nodes settled by the last search, in order, with their costs.
    pub fn settled(&self) -> &[(u32, Cost)] {
        &self.settled
    }
}

/// The working graph during contraction.
struct Work {
    out: Vec<Vec<(u32, Cost)>>,
    inc: Vec<Vec<(u32, Cost)>>,
    contracted: Vec<bool>,
    deleted_neighbours: Vec<u32>,
}

fn put_min(list: &mut Vec<(u32, Cost)>, v: u32, c: Cost) -> bool {
    match list.iter_mut().find(|(w, _)| *w == v) {
        Some(e) if c < e.1 => {
            e.1 = c;
            true
        }
        Some(_) => false,
        None => {
            list.push((v, c));
            true
        }
    }
}

/// Witness search state, reused across calls.
struct Witness {
    cost: FxHashMap<u32, Cost>,
    heap: BinaryHeap<Reverse<(Cost, u32)>>,
}

impl Witness {
    /// Costs from `u` avoiding `via`, up to `limit`, over uncontracted
    /// nodes, settling at most [`WITNESS_SETTLE_LIMIT`] nodes.
    fn run(&mut self, work: &Work, u: u32, via: u32, limit: Cost) {
        self.cost.clear();
        self.heap.clear();
        self.cost.insert(u, Cost::ZERO);
        self.heap.push(Reverse((Cost::ZERO, u)));
        let mut settled = 0;
        while let Some(Reverse((c, x))) = self.heap.pop() {
            if self.cost.get(&x).is_some_and(|&b| b < c) {
                continue;
            }
            if c > limit || settled >= WITNESS_SETTLE_LIMIT {
                break;
            }
            settled += 1;
            for &(y, a) in &work.out[x as usize] {
                if y == via || work.contracted[y as usize] {
                    continue;
                }
                let n = c.plus(a);
                let better = self.cost.get(&y).is_none_or(|&b| n < b);
                if better && n <= limit {
                    self.cost.insert(y, n);
                    self.heap.push(Reverse((n, y)));
                }
            }
        }
    }

    fn at(&self, v: u32) -> Cost {
        self.cost.get(&v).copied().unwrap_or(Cost::INFINITE)
    }
}

/// The shortcuts contracting `v` needs now: `(from, to, cost)`.
fn shortcuts_of(work: &Work, witness: &mut Witness, v: u32) -> Vec<(u32, u32, Cost)> {
    let mut out = Vec::new();
    let succ: Vec<(u32, Cost)> = work.out[v as usize]
        .iter()
        .copied()
        .filter(|(w, _)| !work.contracted[*w as usize])
        .collect();
    if succ.is_empty() {
        return out;
    }
    let max_out = succ.iter().map(|s| s.1).max().unwrap_or(Cost::ZERO);
    for &(u, cu) in &work.inc[v as usize] {
        if work.contracted[u as usize] {
            continue;
        }
        witness.run(work, u, v, cu.plus(max_out));
        for &(w, cw) in &succ {
            if w == u {
                continue;
            }
            let via = cu.plus(cw);
            if witness.at(w) > via {
                out.push((u, w, via));
            }
        }
    }
    out
}

fn priority(work: &Work, witness: &mut Witness, v: u32) -> i64 {
    let added = shortcuts_of(work, witness, v).len() as i64;
    let live = |l: &Vec<(u32, Cost)>| {
        l.iter()
            .filter(|(w, _)| !work.contracted[*w as usize])
            .count() as i64
    };
    let removed = live(&work.out[v as usize]) + live(&work.inc[v as usize]);
    added - removed + i64::from(work.deleted_neighbours[v as usize])
}

impl ContractionHierarchy {
    /// Contracts every node of `graph`.
    pub fn build(graph: &Graph) -> ContractionHierarchy {
        let n = graph.node_count();
        let mut out: Vec<Vec<(u32, Cost)>> = vec![Vec::new(); n];
        let mut inc: Vec<Vec<(u32, Cost)>> = vec![Vec::new(); n];
        for u in 0..n as u32 {
            for (v, c) in graph.forward().arcs(u) {
                if u == v {
                    continue;
                }
                let c = c.plus(graph.penalty[v as usize]);
                put_min(&mut out[u as usize], v, c);
                put_min(&mut inc[v as usize], u, c);
            }
        }
        let mut work = Work {
            out,
            inc,
            contracted: vec![false; n],
            deleted_neighbours: vec![0; n],
        };
        let mut witness = Witness {
            cost: FxHashMap::default(),
            heap: BinaryHeap::new(),
        };
        let mut queue: BinaryHeap<Reverse<(i64, u32)>> = (0..n as u32)
            .map(|v| Reverse((priority(&work, &mut witness, v), v)))
            .collect();
        let mut rank = vec![0u32; n];
        let mut up: Vec<Vec<(u32, Cost)>> = vec![Vec::new(); n];
        let mut down: Vec<Vec<(u32, Cost)>> = vec![Vec::new(); n];
        let mut next_rank = 0u32;
        let mut shortcuts = 0usize;
        while let Some(Reverse((p, v))) = queue.pop() {
            if work.contracted[v as usize] {
                continue;
            }
            // Lazy update: contract only if still the least important.
            let now = priority(&work, &mut witness, v);
            if now > p {
                if let Some(Reverse((next, _))) = queue.peek() {
                    if now > *next {
                        queue.push(Reverse((now, v)));
                        continue;
                    }
                }
            }
            for (a, b, c) in shortcuts_of(&work, &mut witness, v) {
                if put_min(&mut work.out[a as usize], b, c) {
                    shortcuts += 1;
                }
                put_min(&mut work.inc[b as usize], a, c);
            }
            rank[v as usize] = next_rank;
            next_rank += 1;
            work.contracted[v as usize] = true;
            for &(w, c) in &work.out[v as usize] {
                if !work.contracted[w as usize] {
                    up[v as usize].push((w, c));
                    work.deleted_neighbours[w as usize] += 1;
                }
            }
            for &(u, c) in &work.inc[v as usize] {
                if !work.contracted[u as usize] {
                    down[v as usize].push((u, c));
                    work.deleted_neighbours[u as usize] += 1;
                }
            }
            // The contracted node's own lists are no longer needed.
            work.out[v as usize] = Vec::new();
            work.inc[v as usize] = Vec::new();
        }
        ContractionHierarchy {
            rank,
            up: Rows::from_lists(up),
            down: Rows::from_lists(down),
            shortcuts,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.rank.len()
    }

    /// Shortcut arcs added.
    pub fn shortcuts(&self) -> usize {
        self.shortcuts
    }

    /// The cheapest cost from any of `sources` to any of `targets` (each
    /// `(node, initial cost)`), by a bidirectional upward search.
    pub fn query(
        &self,
        fwd: &mut UpSearch,
        bwd: &mut UpSearch,
        sources: &[(u32, Cost)],
        targets: &[(u32, Cost)],
    ) -> Cost {
        fwd.run(&self.up, sources);
        bwd.run(&self.down, targets);
        let mut best = Cost::INFINITE;
        for &(v, c) in fwd.settled() {
            let b = bwd.cost[v as usize];
            if b != Cost::INFINITE {
                best = best.min(c.plus(b));
            }
        }
        best
    }

    /// The table of cheapest costs from every source to every target (each
    /// a set of `(node, initial cost)`), by buckets.
    pub fn many_to_many(
        &self,
        sources: &[Vec<(u32, Cost)>],
        targets: &[Vec<(u32, Cost)>],
    ) -> Vec<Vec<Cost>> {
        let n = self.node_count();
        let mut search = UpSearch::new(n);
        let mut bucket_first = vec![0u32; n + 1];
        let mut entries: Vec<(u32, u32, Cost)> = Vec::new();
        for (j, t) in targets.iter().enumerate() {
            search.run(&self.down, t);
            for &(v, c) in search.settled() {
                entries.push((v, j as u32, c));
            }
        }
        for &(v, _, _) in &entries {
            bucket_first[v as usize + 1] += 1;
        }
        for i in 0..n {
            bucket_first[i + 1] += bucket_first[i];
        }
        let mut buckets = vec![(0u32, Cost::ZERO); entries.len()];
        let mut next = bucket_first.clone();
        for (v, j, c) in entries {
            buckets[next[v as usize] as usize] = (j, c);
            next[v as usize] += 1;
        }
        sources
            .iter()
            .map(|s| {
                let mut row = vec![Cost::INFINITE; targets.len()];
                search.run(&self.up, s);
                for &(v, c) in search.settled() {
                    let r =
                        bucket_first[v as usize] as usize..bucket_first[v as usize + 1] as usize;
                    for &(j, d) in &buckets[r] {
                        let total = c.plus(d);
                        if total < row[j as usize] {
                            row[j as usize] = total;
                        }
                    }
                }
                row
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dijkstra::{Direction, Search};
    use crate::graph::Segment;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A random planar-ish grid with one-way streets and signals.
    fn random_graph(n: usize, seed: u64) -> Graph {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let side = (n as f64).sqrt() as usize;
        let coords: Vec<[f64; 2]> = (0..side * side)
            .map(|i| {
                [
                    9.0 + (i % side) as f64 * 0.001,
                    45.0 + (i / side) as f64 * 0.001,
                ]
            })
            .collect();
        let mut segs = Vec::new();
        for i in 0..side * side {
            let (x, y) = (i % side, i / side);
            for (dx, dy) in [(1, 0), (0, 1)] {
                if x + dx < side && y + dy < side && rng.random_bool(0.9) {
                    let j = (y + dy) * side + x + dx;
                    let ab = Some(Cost::new(
                        rng.random_range(1..5000),
                        rng.random_range(1..20_000),
                    ));
                    let ba = rng
                        .random_bool(0.8)
                        .then(|| Cost::new(rng.random_range(1..5000), rng.random_range(1..20_000)));
                    segs.push(Segment {
                        a: i as u32,
                        b: j as u32,
                        ab,
                        ba,
                    });
                }
            }
        }
        let penalty = (0..coords.len())
            .map(|_| {
                if rng.random_bool(0.1) {
                    Cost::new(2000, 0)
                } else {
                    Cost::ZERO
                }
            })
            .collect();
        Graph::from_parts(coords, penalty, segs)
    }

    #[test]
    fn queries_equal_plain_dijkstra_on_random_graphs() {
        for seed in 0..3 {
            let g = random_graph(900, seed);
            let ch = ContractionHierarchy::build(&g);
            let n = g.node_count();
            let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
            let mut search = Search::new(n);
            let (mut f, mut b) = (UpSearch::new(n), UpSearch::new(n));
            for _ in 0..60 {
                let s = rng.random_range(0..n as u32);
                search.run(&g, Direction::Forward, [(s, Cost::ZERO, 0)], Cost::INFINITE);
                for _ in 0..20 {
                    let t = rng.random_range(0..n as u32);
                    let got = ch.query(&mut f, &mut b, &[(s, Cost::ZERO)], &[(t, Cost::ZERO)]);
                    assert_eq!(got, search.cost[t as usize], "seed {seed}: {s} -> {t}");
                }
            }
        }
    }

    #[test]
    fn tables_equal_one_query_per_pair() {
        let g = random_graph(600, 9);
        let ch = ContractionHierarchy::build(&g);
        let n = g.node_count() as u32;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pick = |rng: &mut ChaCha8Rng| {
            vec![
                (
                    rng.random_range(0..n),
                    Cost::new(rng.random_range(0..100), 0),
                ),
                (rng.random_range(0..n), Cost::ZERO),
            ]
        };
        let sources: Vec<_> = (0..15).map(|_| pick(&mut rng)).collect();
        let targets: Vec<_> = (0..12).map(|_| pick(&mut rng)).collect();
        let table = ch.many_to_many(&sources, &targets);
        let (mut f, mut b) = (UpSearch::new(n as usize), UpSearch::new(n as usize));
        for (i, s) in sources.iter().enumerate() {
            for (j, t) in targets.iter().enumerate() {
                assert_eq!(table[i][j], ch.query(&mut f, &mut b, s, t));
            }
        }
    }
}
