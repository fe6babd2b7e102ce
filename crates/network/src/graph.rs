//! The routing graph of one profile: nodes at OSM node positions, one
//! segment per pair of consecutive way nodes, each direction with its own
//! cost, trimmed to the largest strongly connected component.

use geographiclib_rs::{Geodesic, InverseGeodesic};

use crate::osm::RawOsm;
use crate::profile::Profile;

/// A travel cost: time in whole milliseconds in the high 32 bits, length in
/// whole centimetres in the low 32. Sums of costs stay exact (integers) and
/// compare lexicographically — fastest first, then shortest — as long as a
/// route is shorter than 2³² cm (42,949 km) and faster than 2³² ms (49 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cost(pub u64);

impl Cost {
    /// Larger than every reachable cost.
    pub const INFINITE: Cost = Cost(u64::MAX);
    /// Nothing.
    pub const ZERO: Cost = Cost(0);

    /// From whole milliseconds and centimetres.
    pub fn new(time_ms: u32, length_cm: u32) -> Cost {
        Cost((u64::from(time_ms) << 32) | u64::from(length_cm))
    }

    /// Travel time in seconds.
    pub fn time_s(self) -> f64 {
        (self.0 >> 32) as f64 / 1000.0
    }

    /// Whole milliseconds.
    pub fn time_ms(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Route length in metres.
    pub fn length_m(self) -> f64 {
        (self.0 & 0xffff_ffff) as f64 / 100.0
    }

    /// Whole centimetres.
    pub fn length_cm(self) -> u32 {
        self.0 as u32
    }

    /// True unless [`Cost::INFINITE`].
    pub fn is_finite(self) -> bool {
        self != Cost::INFINITE
    }

    /// The sum; infinite stays infinite.
    #[inline]
    pub fn plus(self, other: Cost) -> Cost {
        if self == Cost::INFINITE || other == Cost::INFINITE {
            Cost::INFINITE
        } else {
            Cost(self.0 + other.0)
        }
    }

    /// The cost of travelling `fraction` (0..=1) of this cost's way, each
    /// part rounded to the unit.
    pub fn part(self, fraction: f64) -> Cost {
        let f = fraction.clamp(0.0, 1.0);
        let t = (f64::from(self.time_ms()) * f).round() as u32;
        let l = (f64::from(self.length_cm()) * f).round() as u32;
        Cost::new(t, l)
    }

    /// The cost of `length_m` metres at `speed_kmh`.
    pub fn at_speed(length_m: f64, speed_kmh: f64) -> Cost {
        let time_ms = (length_m / (speed_kmh / 3.6) * 1000.0).round();
        Cost::new(
            time_ms.clamp(0.0, f64::from(u32::MAX - 1)) as u32,
            (length_m * 100.0)
                .round()
                .clamp(0.0, f64::from(u32::MAX - 1)) as u32,
        )
    }
}

/// One segment between two nodes, with a cost for each direction it may be
/// travelled in (`None` = forbidden).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// First node (way order).
    pub a: u32,
    /// Second node.
    pub b: u32,
    /// Cost a → b.
    pub ab: Option<Cost>,
    /// Cost b → a.
    pub ba: Option<Cost>,
}

/// A directed adjacency in compressed rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Adjacency {
    first: Vec<u32>,
    head: Vec<u32>,
    cost: Vec<Cost>,
}

impl Adjacency {
    fn build(n: usize, arcs: impl Iterator<Item = (u32, u32, Cost)> + Clone) -> Adjacency {
        let mut first = vec![0u32; n + 1];
        for (u, _, _) in arcs.clone() {
            first[u as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let m = first[n] as usize;
        let mut head = vec![0u32; m];
        let mut cost = vec![Cost::ZERO; m];
        let mut next = first.clone();
        for (u, v, c) in arcs {
            let k = next[u as usize] as usize;
            head[k] = v;
            cost[k] = c;
            next[u as usize] += 1;
        }
        Adjacency { first, head, cost }
    }

    /// Arcs leaving `u`: (head, cost).
    #[inline]
    pub fn arcs(&self, u: u32) -> impl Iterator<Item = (u32, Cost)> + '_ {
        let r = self.first[u as usize] as usize..self.first[u as usize + 1] as usize;
        self.head[r.clone()]
            .iter()
            .copied()
            .zip(self.cost[r].iter().copied())
    }

    /// Number of arcs.
    pub fn len(&self) -> usize {
        self.head.len()
    }

    /// True without arcs.
    pub fn is_empty(&self) -> bool {
        self.head.is_empty()
    }
}

/// The graph of one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Node positions, lon/lat degrees.
    pub coords: Vec<[f64; 2]>,
    /// Cost added on entering a node (traffic signals), per node.
    pub penalty: Vec<Cost>,
    /// Segments with their directional costs.
    pub segments: Vec<Segment>,
    forward: Adjacency,
    backward: Adjacency,
}

/// Geodesic length of a segment in metres (WGS84, Karney).
pub fn segment_length_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let s12: f64 = Geodesic::wgs84().inverse(a[1], a[0], b[1], b[0]);
    s12
}

impl Graph {
    /// Assembles a graph and its adjacency from parts.
    pub fn from_parts(coords: Vec<[f64; 2]>, penalty: Vec<Cost>, segments: Vec<Segment>) -> Graph {
        let n = coords.len();
        let fwd = segments.iter().flat_map(|s| {
            [s.ab.map(|c| (s.a, s.b, c)), s.ba.map(|c| (s.b, s.a, c))]
                .into_iter()
                .flatten()
        });
        let bwd = fwd.clone().map(|(u, v, c)| (v, u, c));
        let forward = Adjacency::build(n, fwd);
        let backward = Adjacency::build(n, bwd);
        Graph {
            coords,
            penalty,
            segments,
            forward,
            backward,
        }
    }

    /// Builds the graph of `profile` from an extract's content and keeps
    /// only its largest strongly connected component.
    pub fn build(raw: &RawOsm, profile: &Profile) -> Graph {
        let blocked: Vec<bool> = {
            let mut b = vec![false; raw.nodes.len()];
            for (&i, tags) in &raw.node_tags {
                b[i as usize] = profile.node_blocks(tags);
            }
            b
        };
        let mut segments = Vec::new();
        for way in &raw.ways {
            let Some(rule) = profile.way(&way.tags) else {
                continue;
            };
            let lengths: Vec<f64> = way
                .nodes
                .windows(2)
                .map(|p| segment_length_m(raw.nodes[p[0] as usize], raw.nodes[p[1] as usize]))
                .collect();
            let total: f64 = lengths.iter().sum();
            for (p, &len) in way.nodes.windows(2).zip(&lengths) {
                let (a, b) = (p[0], p[1]);
                if a == b || blocked[a as usize] || blocked[b as usize] {
                    continue;
                }
                let cost = |kmh: Option<f64>| -> Option<Cost> {
                    let kmh = kmh?;
                    Some(match rule.duration_s {
                        // A ferry's tagged duration, shared along its length.
                        Some(d) if total > 0.0 => {
                            let t = d * len / total * 1000.0;
                            Cost::new(t.round() as u32, (len * 100.0).round() as u32)
                        }
                        _ => Cost::at_speed(len, kmh),
                    })
                };
                let (ab, ba) = (cost(rule.forward_kmh), cost(rule.backward_kmh));
                if ab.is_some() || ba.is_some() {
                    segments.push(Segment { a, b, ab, ba });
                }
            }
        }
        let mut penalty = vec![Cost::ZERO; raw.nodes.len()];
        for (&i, tags) in &raw.node_tags {
            let s = profile.node_penalty_s(tags);
            if s > 0.0 {
                penalty[i as usize] = Cost::new((s * 1000.0).round() as u32, 0);
            }
        }
        let full = Graph::from_parts(raw.nodes.clone(), penalty, segments);
        full.largest_component()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.coords.len()
    }

    /// Arcs in travel direction.
    pub fn forward(&self) -> &Adjacency {
        &self.forward
    }

    /// Arcs reversed (for searches towards a target).
    pub fn backward(&self) -> &Adjacency {
        &self.backward
    }

    /// The strongly connected component of every node (iterative Tarjan);
    /// returns (component per node, number of components).
    pub fn components(&self) -> (Vec<u32>, u32) {
        let n = self.node_count();
        const UNSEEN: u32 = u32::MAX;
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut comp = vec![UNSEEN; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut next_index = 0u32;
        let mut ncomp = 0u32;
        // Call stack of (node, position in its arc list).
        let mut call: Vec<(u32, u32)> = Vec::new();
        for root in 0..n as u32 {
            if index[root as usize] != UNSEEN {
                continue;
            }
            call.push((root, self.forward.first[root as usize]));
            index[root as usize] = next_index;
            low[root as usize] = next_index;
            next_index += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            while let Some(&mut (v, ref mut pos)) = call.last_mut() {
                let end = self.forward.first[v as usize + 1];
                if *pos < end {
                    let w = self.forward.head[*pos as usize];
                    *pos += 1;
                    if index[w as usize] == UNSEEN {
                        index[w as usize] = next_index;
                        low[w as usize] = next_index;
                        next_index += 1;
                        stack.push(w);
                        on_stack[w as usize] = true;
                        call.push((w, self.forward.first[w as usize]));
                    } else if on_stack[w as usize] {
                        low[v as usize] = low[v as usize].min(index[w as usize]);
                    }
                } else {
                    call.pop();
                    if let Some(&(parent, _)) = call.last() {
                        low[parent as usize] = low[parent as usize].min(low[v as usize]);
                    }
                    if low[v as usize] == index[v as usize] {
                        loop {
                            let w = stack.pop().expect("tarjan stack");
                            on_stack[w as usize] = false;
                            comp[w as usize] = ncomp;
                            if w == v {
                                break;
                            }
                        }
                        ncomp += 1;
                    }
                }
            }
        }
        (comp, ncomp)
    }

    /// The subgraph of the largest strongly connected component among nodes
    /// that have at least one arc, renumbered compactly in old order.
    pub fn largest_component(&self) -> Graph {
        let (comp, ncomp) = self.components();
        let mut size = vec![0u32; ncomp as usize];
        for (v, &c) in comp.iter().enumerate() {
            if self.forward.first[v + 1] > self.forward.first[v] {
                size[c as usize] += 1;
            }
        }
        let Some(best) = (0..ncomp).max_by_key(|&c| (size[c as usize], std::cmp::Reverse(c)))
        else {
            return Graph::from_parts(Vec::new(), Vec::new(), Vec::new());
        };
        let mut new_id = vec![u32::MAX; self.node_count()];
        let mut coords = Vec::new();
        let mut penalty = Vec::new();
        for v in 0..self.node_count() {
            if comp[v] == best && self.forward.first[v + 1] > self.forward.first[v] {
                new_id[v] = coords.len() as u32;
                coords.push(self.coords[v]);
                penalty.push(self.penalty[v]);
            }
        }
        let segments = self
            .segments
            .iter()
            .filter_map(|s| {
                let (a, b) = (new_id[s.a as usize], new_id[s.b as usize]);
                (a != u32::MAX && b != u32::MAX).then_some(Segment { a, b, ..*s })
            })
            .collect();
        Graph::from_parts(coords, penalty, segments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osm::RawWay;
    use crate::profile::ProfileName;

    fn tags(t: &[(&str, &str)]) -> Vec<(String, String)> {
        t.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A square of four nodes ~111 m apart plus a dangling oneway spur.
    fn raw() -> RawOsm {
        let nodes = vec![
            [9.0, 45.0],
            [9.0, 45.001],
            [9.0014, 45.001],
            [9.0014, 45.0],
            [9.003, 45.0],
        ];
        RawOsm {
            node_ids: (0..nodes.len() as i64).collect(),
            nodes,
            node_tags: Default::default(),
            ways: vec![
                RawWay {
                    id: 1,
                    nodes: vec![0, 1, 2, 3, 0],
                    tags: tags(&[("highway", "residential")]),
                },
                RawWay {
                    id: 2,
                    nodes: vec![3, 4],
                    tags: tags(&[("highway", "residential"), ("oneway", "yes")]),
                },
            ],
            timestamp: None,
        }
    }

    #[test]
    fn costs_pack_time_over_length() {
        let a = Cost::new(1000, 5);
        let b = Cost::new(999, 99_999);
        assert!(b < a, "faster wins whatever the length");
        assert!(Cost::new(1000, 4) < a, "then shorter");
        assert_eq!(a.plus(b), Cost::new(1999, 100_004));
        assert_eq!(a.time_s(), 1.0);
        assert_eq!(a.length_m(), 0.05);
        // 100 m at 36 km/h = 10 s.
        assert_eq!(Cost::at_speed(100.0, 36.0), Cost::new(10_000, 10_000));
        assert_eq!(Cost::new(1000, 10).part(0.25), Cost::new(250, 3));
    }

    #[test]
    fn a_oneway_spur_is_cut_off_as_its_own_component() {
        let g = Graph::build(&raw(), &Profile::builtin(ProfileName::Car));
        // The spur's end node can be entered but never left: not strongly
        // connected to the square, so it is dropped.
        assert_eq!(g.node_count(), 4);
        assert_eq!(g.segments.len(), 4);
        let (_, n) = g.components();
        assert_eq!(n, 1);
        // On foot the spur is two-way and stays.
        let g = Graph::build(&raw(), &Profile::builtin(ProfileName::Foot));
        assert_eq!(g.node_count(), 5);
    }

    #[test]
    fn edge_lengths_are_geodesic() {
        let g = Graph::build(&raw(), &Profile::builtin(ProfileName::Foot));
        let s = g.segments[0];
        // 0.001 degree of latitude at 45 N: 111.132 km/degree (WGS84
        // meridian arc), so 111.13 m; independent of Karney this is
        // M(45°) = a(1-e²)/(1-e² sin²φ)^1.5 · π/180.
        let e2 = 0.006_694_379_990_14_f64;
        let phi = 45.0005_f64.to_radians();
        let m = 6_378_137.0 * (1.0 - e2) / (1.0 - e2 * phi.sin().powi(2)).powf(1.5);
        let expected = m * 0.001_f64.to_radians();
        assert!((s.ab.unwrap().length_m() - expected).abs() < 0.01);
        // 5 km/h: 111.13 m in 80.0 s.
        assert!((s.ab.unwrap().time_s() - expected / (5.0 / 3.6)).abs() < 0.001);
    }

    #[test]
    fn barriers_cut_segments_and_signals_add_a_penalty() {
        let mut r = raw();
        r.node_tags.insert(1, tags(&[("barrier", "bollard")]));
        r.node_tags
            .insert(2, tags(&[("highway", "traffic_signals")]));
        let g = Graph::build(&r, &Profile::builtin(ProfileName::Car));
        // Bollard at node 1 cuts 0-1 and 1-2: what is left is 2-3-0 (a path,
        // strongly connected as two-way streets).
        assert_eq!(g.node_count(), 3);
        let signals = g
            .penalty
            .iter()
            .filter(|p| **p == Cost::new(2000, 0))
            .count();
        assert_eq!(signals, 1);
    }
}
