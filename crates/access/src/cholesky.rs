//! Symmetric positive definite systems whose matrix is sparse: RAAM's
//! Newton steps, where a facility's price is coupled only to those of its
//! neighbours (the residents near a tie between them).
//!
//! The matrix comes dense (row-major, lower triangle filled, zeros where
//! two facilities are not coupled). Its rows are ordered by reverse
//! Cuthill–McKee (a breadth-first search from a peripheral facility,
//! neighbours by increasing degree, reversed), which gathers each row's
//! entries near the diagonal; the Cholesky factor then has no entry left
//! of a row's first one (its envelope), and is computed within the
//! envelope alone. For the facilities of a province (a planar-like graph)
//! the envelope is a few dozen entries a row, where the dense factor has
//! hundreds: at full scale on the Bergamo fixture (493 facilities) the
//! factorisations took a tenth of RAAM's time dense.

/// Solves `H x = b` in place for a symmetric positive definite `H` given
/// by its lower triangle (row-major, `n × n`; the rest is not read).
pub(crate) fn solve_spd(h: &[f64], n: usize, b: &mut [f64]) {
    let order = reverse_cuthill_mckee(h, n);
    // The permuted matrix, lower triangle, and each row's first entry.
    let mut l = vec![0.0; n * n];
    let mut first = vec![0usize; n];
    for (a, &pa) in order.iter().enumerate() {
        let mut f = a;
        for (c, &pc) in order[..=a].iter().enumerate() {
            let x = h[pa.max(pc) * n + pa.min(pc)];
            l[a * n + c] = x;
            if x != 0.0 && c < f {
                f = c;
            }
        }
        first[a] = f;
    }
    factor_envelope(&mut l, n, &first);
    let mut y: Vec<f64> = order.iter().map(|&p| b[p]).collect();
    substitute_envelope(&l, n, &first, &mut y);
    for (&p, &v) in order.iter().zip(&y) {
        b[p] = v;
    }
}

/// The rows of `h` (lower triangle, row-major, `n × n`) in reverse
/// Cuthill–McKee order: `order[new] = old`.
fn reverse_cuthill_mckee(h: &[f64], n: usize) -> Vec<usize> {
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for r in 0..n {
        for c in 0..r {
            if h[r * n + c] != 0.0 {
                adj[r].push(c);
                adj[c].push(r);
            }
        }
    }
    let degree: Vec<usize> = adj.iter().map(Vec::len).collect();
    for a in &mut adj {
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
            let reached = bfs(&adj, root, &mut seen.clone(), &mut level);
            let deepest = reached.iter().map(|&v| level[v]).max().unwrap_or(0);
            reached
                .into_iter()
                .filter(|&v| level[v] == deepest)
                .min_by_key(|&v| (degree[v], v))
                .unwrap_or(root)
        };
        order.extend(bfs(&adj, start, &mut seen, &mut level));
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

/// Overwrites the lower triangle of `l` (symmetric positive definite,
/// row-major, `n × n`, no entry of row `i` left of `first[i]`) with its
/// Cholesky factor, which has the same envelope: row by row,
/// `L_ij = (H_ij − Σ_k L_ik L_jk) / L_jj` over `k` from the later of the
/// two rows' first entries.
fn factor_envelope(l: &mut [f64], n: usize, first: &[usize]) {
    for i in 0..n {
        let fi = first[i];
        for j in fi..i {
            let k0 = fi.max(first[j]);
            let (upper, lower) = l.split_at_mut(i * n);
            let rj = &upper[j * n..j * n + j];
            let ri = &lower[..=j];
            let mut s = ri[j];
            for k in k0..j {
                s -= ri[k] * rj[k];
            }
            lower[j] = s / upper[j * n + j];
        }
        let row = &mut l[i * n..i * n + i + 1];
        let mut d = row[i];
        for &x in &row[fi..i] {
            d -= x * x;
        }
        row[i] = d.max(f64::MIN_POSITIVE).sqrt();
    }
}

/// Solves `L Lᵀ x = b` in place, `L` the factor [`factor_envelope`] left.
fn substitute_envelope(l: &[f64], n: usize, first: &[usize], b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in first[i]..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let x = b[i] / l[i * n + i];
        b[i] = x;
        for k in first[i]..i {
            b[k] -= l[i * n + k] * x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

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

    /// On a matrix sparse along a line, shuffled, the order found puts
    /// every row's entries within a few places of the diagonal.
    #[test]
    fn the_order_found_keeps_a_narrow_envelope() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 300;
        let h0 = newton_like(n, 900, true, &mut rng);
        let h = shuffled(&h0, n, &mut rng);
        let order = reverse_cuthill_mckee(&h, n);
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
