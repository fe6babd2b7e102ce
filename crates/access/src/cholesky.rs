//! Symmetric positive definite systems whose matrix is sparse: RAAM's
//! Newton steps, where a facility's price is coupled only to those of its
//! neighbours (the residents near a tie between them).
//!
//! The matrix's rows are ordered by reverse Cuthill–McKee (a
//! breadth-first search from a peripheral facility, neighbours by
//! increasing degree, reversed), which gathers each row's entries near the
//! diagonal; the Cholesky factor then has no entry left of a row's first
//! one (its envelope), and the matrix is assembled, factored and solved
//! within the envelope alone ([`Envelope`]). For the facilities of a
//! province (a planar-like graph) the envelope is a few dozen entries a
//! row, where the dense matrix has hundreds: at full scale on the Bergamo
//! fixture (493 facilities) the factorisations took a tenth of RAAM's time
//! dense. No dense matrix of values is held (only a bit per pair of rows
//! for the order's graph); Newton's share of RAAM's time stayed about the
//! same as with a dense assembly factored within the envelope.

/// A symmetric matrix's rows in reverse Cuthill–McKee order and the
/// envelope of its lower triangle there: row `a` (new numbering) holds
/// its columns `first[a]..=a`, stored one row after another. The
/// Cholesky factor fills no entry outside the envelope.
pub(crate) struct Envelope {
    /// `order[new] = old`.
    order: Vec<usize>,
    /// `position[old] = new`.
    position: Vec<usize>,
    /// Each row's first column (new numbering).
    first: Vec<usize>,
    /// Where each row starts in the storage; the last is its length.
    start: Vec<usize>,
}

impl Envelope {
    /// The envelope of a matrix whose off-diagonal entries lie within the
    /// groups of rows `groups` calls its argument with (each group's
    /// entries may all be there, a clique), its rows ordered by reverse
    /// Cuthill–McKee on the graph `adj` (each row's neighbours, both ways,
    /// none on the diagonal, no repeats). Any graph gives a valid
    /// envelope; one that follows the groups (a chain through each will
    /// do) gives a narrow one.
    pub(crate) fn new(
        mut adj: Vec<Vec<usize>>,
        groups: impl FnOnce(&mut dyn FnMut(&[usize])),
    ) -> Envelope {
        let n = adj.len();
        let order = reverse_cuthill_mckee(&mut adj);
        let mut position = vec![0usize; n];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut first: Vec<usize> = (0..n).collect();
        groups(&mut |group: &[usize]| {
            let Some(least) = group.iter().map(|&v| position[v]).min() else {
                return;
            };
            for &v in group {
                let f = &mut first[position[v]];
                *f = (*f).min(least);
            }
        });
        let mut start = Vec::with_capacity(n + 1);
        let mut at = 0;
        for (a, &f) in first.iter().enumerate() {
            start.push(at);
            at += a - f + 1;
        }
        start.push(at);
        Envelope {
            order,
            position,
            first,
            start,
        }
    }

    /// Entries stored.
    pub(crate) fn len(&self) -> usize {
        self.start[self.start.len() - 1]
    }

    /// Row `old`'s place in the order.
    #[inline]
    pub(crate) fn position(&self, old: usize) -> usize {
        self.position[old]
    }

    /// Where the entry at rows `a` and `b` (new numbering, either way
    /// round) is stored; it must be within the envelope.
    #[inline]
    pub(crate) fn index(&self, a: usize, b: usize) -> usize {
        let (a, b) = if a >= b { (a, b) } else { (b, a) };
        debug_assert!(b >= self.first[a], "({a}, {b}) outside the envelope");
        self.row(a) + b
    }

    /// Where row `a`'s entries are stored (new numbering), less its first
    /// column: column `b` of it (within the envelope, `b ≤ a`) is at
    /// `row(a) + b`.
    #[inline]
    pub(crate) fn row(&self, a: usize) -> usize {
        // `start[a]` counts at least one entry for each earlier row, so
        // at least `a ≥ first[a]`.
        self.start[a] - self.first[a]
    }

    /// Solves `H x = b` in place for a symmetric positive definite `H`
    /// whose lower triangle `values` holds in this storage (overwritten
    /// by its Cholesky factor); `b` in the original numbering.
    pub(crate) fn solve(&self, values: &mut [f64], b: &mut [f64]) {
        assert_eq!(values.len(), self.len(), "one value per stored entry");
        self.factor(values);
        let mut y: Vec<f64> = self.order.iter().map(|&p| b[p]).collect();
        self.substitute(values, &mut y);
        for (&p, &v) in self.order.iter().zip(&y) {
            b[p] = v;
        }
    }

    /// Overwrites `l` with the Cholesky factor, which has the same
    /// envelope: row by row, `L_ij = (H_ij − Σ_k L_ik L_jk) / L_jj` over
    /// `k` from the later of the two rows' first entries.
    fn factor(&self, l: &mut [f64]) {
        for i in 0..self.first.len() {
            let fi = self.first[i];
            let (upper, lower) = l.split_at_mut(self.start[i]);
            let ri = &mut lower[..=i - fi];
            for j in fi..i {
                let fj = self.first[j];
                let k0 = fi.max(fj);
                let rj = &upper[self.start[j]..self.start[j + 1]];
                let mut s = ri[j - fi];
                for (x, y) in ri[k0 - fi..j - fi].iter().zip(&rj[k0 - fj..j - fj]) {
                    s -= x * y;
                }
                ri[j - fi] = s / rj[j - fj];
            }
            let mut d = ri[i - fi];
            for &x in &ri[..i - fi] {
                d -= x * x;
            }
            ri[i - fi] = d.max(f64::MIN_POSITIVE).sqrt();
        }
    }

    /// Solves `L Lᵀ x = b` in place (new numbering), `L` the factor
    /// [`Envelope::factor`] left.
    fn substitute(&self, l: &[f64], b: &mut [f64]) {
        let row = |i: usize| &l[self.start[i]..self.start[i + 1]];
        for i in 0..self.first.len() {
            let (fi, r) = (self.first[i], row(i));
            let mut s = b[i];
            for (x, y) in r[..i - fi].iter().zip(&b[fi..i]) {
                s -= x * y;
            }
            b[i] = s / r[i - fi];
        }
        for i in (0..self.first.len()).rev() {
            let (fi, r) = (self.first[i], row(i));
            let x = b[i] / r[i - fi];
            b[i] = x;
            for (bk, l) in b[fi..i].iter_mut().zip(&r[..i - fi]) {
                *bk -= l * x;
            }
        }
    }
}

/// The rows of a symmetric matrix whose off-diagonal entries are at
/// `adj` in reverse Cuthill–McKee order: `order[new] = old` (each row's
/// columns are sorted by degree on the way).
fn reverse_cuthill_mckee(adj: &mut [Vec<usize>]) -> Vec<usize> {
    let n = adj.len();
    let degree: Vec<usize> = adj.iter().map(Vec::len).collect();
    for a in adj.iter_mut() {
        a.sort_by_key(|&v| (degree[v], v));
    }
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut level = vec![0usize; n];
    while order.len() < n {
        // A component's start: its node of least degree, moved to the far
        // end of a breadth-first search from it (a peripheral node).
        let root = (0..n)
            .filter(|&v| !seen[v])
            .min_by_key(|&v| (degree[v], v))
            .expect("a node not yet ordered");
        let start = {
            let reached = bfs(adj, root, &mut seen.clone(), &mut level);
            let deepest = reached.iter().map(|&v| level[v]).max().unwrap_or(0);
            reached
                .into_iter()
                .filter(|&v| level[v] == deepest)
                .min_by_key(|&v| (degree[v], v))
                .unwrap_or(root)
        };
        order.extend(bfs(adj, start, &mut seen, &mut level));
    }
    order.reverse();
    order
}

/// The nodes a breadth-first search from `start` reaches among those not
/// `seen` (marking them), in visiting order, neighbours in `adj`'s order;
/// `level` gets each one's depth.
fn bfs(adj: &[Vec<usize>], start: usize, seen: &mut [bool], level: &mut [usize]) -> Vec<usize> {
    let mut out = vec![start];
    seen[start] = true;
    level[start] = 0;
    let mut at = 0;
    while at < out.len() {
        let u = out[at];
        at += 1;
        for &v in &adj[u] {
            if !seen[v] {
                seen[v] = true;
                level[v] = level[u] + 1;
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Each row's off-diagonal columns of `h` (lower triangle, `n × n`)
    /// that are not zero, both ways.
    fn pattern(h: &[f64], n: usize) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); n];
        for r in 0..n {
            for c in 0..r {
                if h[r * n + c] != 0.0 {
                    adj[r].push(c);
                    adj[c].push(r);
                }
            }
        }
        adj
    }

    /// The envelope of the entries at `adj`, ordered on them.
    fn edges(adj: Vec<Vec<usize>>) -> Envelope {
        let pairs: Vec<[usize; 2]> = adj
            .iter()
            .enumerate()
            .flat_map(|(r, cs)| cs.iter().map(move |&c| [r, c]))
            .collect();
        Envelope::new(adj, |group| {
            for p in &pairs {
                group(p);
            }
        })
    }

    /// Solves `H x = b` for `H` given by its lower triangle (row-major,
    /// `n × n`) through its envelope.
    fn solve_spd(h: &[f64], n: usize, b: &mut [f64]) {
        let env = edges(pattern(h, n));
        let mut values = vec![0.0; env.len()];
        for r in 0..n {
            for c in 0..=r {
                if r == c || h[r * n + c] != 0.0 {
                    values[env.index(env.position(r), env.position(c))] = h[r * n + c];
                }
            }
        }
        env.solve(&mut values, b);
    }

    /// The dense factorisation, one row at a time.
    fn dense_solve(h: &[f64], n: usize, b: &mut [f64]) {
        let mut l = h.to_vec();
        for j in 0..n {
            let mut d = l[j * n + j];
            for k in 0..j {
                d -= l[j * n + k] * l[j * n + k];
            }
            let d = d.sqrt();
            l[j * n + j] = d;
            for i in j + 1..n {
                let mut s = l[i * n + j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = s / d;
            }
        }
        for i in 0..n {
            let mut s = b[i];
            for k in 0..i {
                s -= l[i * n + k] * b[k];
            }
            b[i] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = b[i];
            for k in i + 1..n {
                s -= l[k * n + i] * b[k];
            }
            b[i] = s / l[i * n + i];
        }
    }

    /// A Newton matrix as RAAM assembles it: `diag κ` plus, for groups of
    /// a few nodes (residents near a tie), `x (diag π − π πᵀ)`; the groups
    /// join nodes close on a line, or anywhere (`local` false), and some
    /// nodes are in none.
    fn newton_like(n: usize, groups: usize, local: bool, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            h[i * n + i] = rng.random_range(0.01..1.0);
        }
        for _ in 0..groups {
            let size = rng.random_range(2..=4usize);
            let base = rng.random_range(0..n);
            let mut nodes: Vec<usize> = (0..size)
                .map(|_| {
                    if local {
                        (base + rng.random_range(0..6usize)).min(n - 1)
                    } else {
                        rng.random_range(0..n)
                    }
                })
                .collect();
            nodes.sort_unstable();
            nodes.dedup();
            let x: f64 = rng.random_range(0.5..50.0);
            let w: Vec<f64> = nodes.iter().map(|_| rng.random_range(0.1..1.0)).collect();
            let total: f64 = w.iter().sum();
            for (a, &r) in nodes.iter().enumerate() {
                for (b, &c) in nodes.iter().enumerate().take(a + 1) {
                    let pr = w[a] / total;
                    let pc = w[b] / total;
                    h[r * n + c] += x * (if a == b { pr } else { 0.0 } - pr * pc);
                }
            }
        }
        h
    }

    /// `h` (lower triangle, `n × n`) with its nodes numbered at random.
    fn shuffled(h: &[f64], n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        let mut out = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..=r {
                let (a, b) = (perm[r], perm[c]);
                out[a.max(b) * n + a.min(b)] = h[r * n + c];
            }
        }
        out
    }

    /// Against the dense factorisation, and the system itself, on
    /// matrices sparse along a line (shuffled, so that the order has to
    /// be found), sparse anywhere, with nodes coupled to none, and dense.
    #[test]
    fn solves_the_system_as_the_dense_factorisation_does() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n, groups, local) in [
            (1, 0, true),
            (2, 1, true),
            (7, 3, true),
            (60, 80, true),
            (200, 600, true),
            (200, 150, false),
            (90, 4000, false),
            (120, 0, false),
        ] {
            let h0 = newton_like(n, groups, local, &mut rng);
            let h = shuffled(&h0, n, &mut rng);
            let b: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
            let mut x = b.clone();
            solve_spd(&h, n, &mut x);
            let mut want = b.clone();
            dense_solve(&h, n, &mut want);
            let full = |i: usize, j: usize| h[i.max(j) * n + i.min(j)];
            let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for i in 0..n {
                assert!(
                    (x[i] - want[i]).abs() <= 1e-9 * scale,
                    "n {n}: x[{i}] {} vs {}",
                    x[i],
                    want[i]
                );
                let row: f64 = (0..n).map(|j| full(i, j) * x[j]).sum();
                assert!((row - b[i]).abs() <= 1e-8 * scale, "n {n}: row {i}");
            }
        }
    }

    /// The pattern may list entries that are zero (contributions that
    /// cancel): the system solves the same as with them left out, and each
    /// stored entry is found as `row(a) + b`.
    #[test]
    fn a_pattern_wider_than_the_entries_solves_the_same() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let n = 80;
        let h0 = newton_like(n, 120, true, &mut rng);
        let h = shuffled(&h0, n, &mut rng);
        let mut wide = pattern(&h, n);
        let mut added = 0;
        while added < 60 {
            let (r, c) = (rng.random_range(0..n), rng.random_range(0..n));
            if r != c && !wide[r].contains(&c) {
                wide[r].push(c);
                wide[c].push(r);
                added += 1;
            }
        }
        let env = edges(wide);
        let mut values = vec![0.0; env.len()];
        for r in 0..n {
            for c in 0..=r {
                let (a, b) = (env.position(r), env.position(c));
                let (a, b) = (a.max(b), a.min(b));
                if r == c || h[r * n + c] != 0.0 {
                    let k = env.index(a, b);
                    assert_eq!(k, env.row(a) + b);
                    values[k] = h[r * n + c];
                }
            }
        }
        let b: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
        let mut x = b.clone();
        env.solve(&mut values, &mut x);
        let mut want = b.clone();
        dense_solve(&h, n, &mut want);
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (x, w)) in x.iter().zip(&want).enumerate() {
            assert!((x - w).abs() <= 1e-9 * scale, "x[{i}] {x} vs {w}");
        }
    }

    /// On a matrix sparse along a line, shuffled, the order found puts
    /// every row's entries within a few places of the diagonal.
    #[test]
    fn the_order_found_keeps_a_narrow_envelope() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 300;
        let h0 = newton_like(n, 900, true, &mut rng);
        let h = shuffled(&h0, n, &mut rng);
        let order = reverse_cuthill_mckee(&mut pattern(&h, n));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        let mut at = vec![0usize; n];
        for (new, &old) in order.iter().enumerate() {
            at[old] = new;
        }
        let mut widest = 0;
        for r in 0..n {
            for c in 0..r {
                if h[r * n + c] != 0.0 {
                    widest = widest.max(at[r].abs_diff(at[c]));
                }
            }
        }
        assert!(widest <= 20, "an entry {widest} places off the diagonal");
    }
}
