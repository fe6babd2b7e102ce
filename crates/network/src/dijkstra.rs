//! Plain Dijkstra over a [`Graph`]: one or many sources at once, forwards
//! (from origins) or backwards (towards targets).
//!
//! With many sources each node keeps the cheapest source and its label;
//! equal costs go to the smaller label, so the answer does not depend on the
//! order sources are given in.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::graph::{Cost, Graph};

/// Direction of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Costs from the sources to every node.
    Forward,
    /// Costs from every node to the sources (the sources are targets).
    Backward,
}

/// No label / no parent.
pub const NO_NODE: u32 = u32::MAX;

/// Reusable search state.
#[derive(Debug, Clone)]
pub struct Search {
    /// Cost per node (from or to the nearest source).
    pub cost: Vec<Cost>,
    /// Label of the source that gave each node its cost.
    pub label: Vec<u32>,
    /// Previous node on the best path (towards the source), or [`NO_NODE`].
    pub parent: Vec<u32>,
    heap: BinaryHeap<Reverse<(Cost, u32, u32)>>,
    touched: Vec<u32>,
}

impl Search {
    /// State for a graph of `n` nodes.
    pub fn new(n: usize) -> Search {
        Search {
            cost: vec![Cost::INFINITE; n],
            label: vec![NO_NODE; n],
            parent: vec![NO_NODE; n],
            heap: BinaryHeap::new(),
            touched: Vec::new(),
        }
    }

    fn reset(&mut self) {
        for &v in &self.touched {
            self.cost[v as usize] = Cost::INFINITE;
            self.label[v as usize] = NO_NODE;
            self.parent[v as usize] = NO_NODE;
        }
        self.touched.clear();
        self.heap.clear();
    }

    #[inline]
    fn offer(&mut self, v: u32, c: Cost, label: u32, parent: u32) {
        let i = v as usize;
        if (c, label) < (self.cost[i], self.label[i]) {
            if self.cost[i] == Cost::INFINITE {
                self.touched.push(v);
            }
            self.cost[i] = c;
            self.label[i] = label;
            self.parent[i] = parent;
            self.heap.push(Reverse((c, label, v)));
        }
    }

    /// Runs a search from `sources` — `(node, initial cost, label)` — until
    /// every node is settled or the next cost exceeds `limit`.
    pub fn run(
        &mut self,
        graph: &Graph,
        direction: Direction,
        sources: impl IntoIterator<Item = (u32, Cost, u32)>,
        limit: Cost,
    ) {
        self.run_until(graph, direction, sources, limit, None);
    }

    /// [`Search::run`], stopping early once every node of `settle` (when
    /// given; marked `true`) is settled. Marks are cleared as nodes settle.
    pub fn run_until(
        &mut self,
        graph: &Graph,
        direction: Direction,
        sources: impl IntoIterator<Item = (u32, Cost, u32)>,
        limit: Cost,
        mut settle: Option<(&mut [bool], usize)>,
    ) {
        self.reset();
        for (v, c, l) in sources {
            self.offer(v, c, l, NO_NODE);
        }
        let adjacency = match direction {
            Direction::Forward => graph.forward(),
            Direction::Backward => graph.backward(),
        };
        while let Some(Reverse((c, l, u))) = self.heap.pop() {
            if (c, l) != (self.cost[u as usize], self.label[u as usize]) {
                continue;
            }
            if c > limit {
                break;
            }
            if let Some((marks, left)) = settle.as_mut() {
                if marks[u as usize] {
                    marks[u as usize] = false;
                    *left -= 1;
                    if *left == 0 {
                        break;
                    }
                }
            }
            // Forward: entering the head pays its penalty. Backward: the arc
            // is travelled head-to-u, so entering u pays u's penalty.
            let here = match direction {
                Direction::Forward => Cost::ZERO,
                Direction::Backward => graph.penalty[u as usize],
            };
            for (v, arc) in adjacency.arcs(u) {
                let enter = match direction {
                    Direction::Forward => graph.penalty[v as usize],
                    Direction::Backward => here,
                };
                self.offer(v, c.plus(arc).plus(enter), l, u);
            }
        }
    }

    /// Nodes whose cost was set by the last search.
    pub fn touched(&self) -> &[u32] {
        &self.touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Segment;

    /// 0 -> 1 -> 2 and 0 -> 2 directly, slower; 2 -> 0 back.
    fn triangle() -> Graph {
        let coords = vec![[0.0, 0.0], [0.001, 0.0], [0.002, 0.0]];
        let segs = vec![
            Segment {
                a: 0,
                b: 1,
                ab: Some(Cost::new(10, 1)),
                ba: None,
            },
            Segment {
                a: 1,
                b: 2,
                ab: Some(Cost::new(10, 1)),
                ba: None,
            },
            Segment {
                a: 0,
                b: 2,
                ab: Some(Cost::new(25, 1)),
                ba: Some(Cost::new(5, 1)),
            },
        ];
        Graph::from_parts(coords, vec![Cost::ZERO; 3], segs)
    }

    #[test]
    fn forward_and_backward_costs_agree_by_hand() {
        let g = triangle();
        let mut s = Search::new(3);
        s.run(&g, Direction::Forward, [(0, Cost::ZERO, 0)], Cost::INFINITE);
        assert_eq!(s.cost, vec![Cost::ZERO, Cost::new(10, 1), Cost::new(20, 2)]);
        assert_eq!(s.parent[2], 1);
        s.run(
            &g,
            Direction::Backward,
            [(0, Cost::ZERO, 0)],
            Cost::INFINITE,
        );
        // To node 0: from 2 directly (5), from 1 via 2 (15).
        assert_eq!(s.cost, vec![Cost::ZERO, Cost::new(15, 2), Cost::new(5, 1)]);
    }

    #[test]
    fn penalties_are_paid_on_entering_a_node_in_both_directions() {
        let mut g = triangle();
        g.penalty[1] = Cost::new(100, 0);
        let mut s = Search::new(3);
        s.run(&g, Direction::Forward, [(0, Cost::ZERO, 0)], Cost::INFINITE);
        assert_eq!(
            s.cost[2],
            Cost::new(25, 1),
            "the signal at 1 makes the direct road faster"
        );
        s.run(
            &g,
            Direction::Backward,
            [(2, Cost::ZERO, 0)],
            Cost::INFINITE,
        );
        assert_eq!(s.cost[0], Cost::new(25, 1));
        assert_eq!(
            s.cost[1],
            Cost::new(10, 1),
            "leaving 1 does not pay its own penalty"
        );
    }

    #[test]
    fn equal_costs_go_to_the_smaller_label() {
        let g = triangle();
        let mut s = Search::new(3);
        // Node 1 is reached at (10, 1) both from itself (label 7) and via
        // node 0 (label 3); so is node 2 beyond it.
        s.run(
            &g,
            Direction::Forward,
            [(1, Cost::new(10, 1), 7), (0, Cost::ZERO, 3)],
            Cost::INFINITE,
        );
        assert_eq!((s.label[1], s.label[2]), (3, 3));
        s.run(
            &g,
            Direction::Forward,
            [(0, Cost::ZERO, 3), (1, Cost::new(10, 1), 7)],
            Cost::INFINITE,
        );
        assert_eq!((s.label[1], s.label[2]), (3, 3));
    }
}
