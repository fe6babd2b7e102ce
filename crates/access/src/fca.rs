//! The floating-catchment family and its relatives on a sparse matrix of
//! decay weights `W` (demand rows × supply columns, pairs within
//! `max_cost`), demand `P` per row and supply `S` per column. Definitions
//! follow PySAL `access` (the oracle) where it has the method, and the
//! cited papers otherwise.
//!
//! Every method is one or two sweeps over the rows ([`WeightRows`]): what
//! a row needs of itself (its weights' sum, its Huff normaliser) is
//! computed from the row, and what the columns need (each facility's
//! demand) is summed in the first sweep and used in the second. The rows
//! may therefore be measured afresh on each sweep rather than stored.
//! Sweeps run in chunks of a fixed number of rows, whatever the threads,
//! and the chunks' column sums are merged in order, so the answer does not
//! depend on the executor.

use bacino_core::{chunk_ranges, Executor};

use crate::kernel::Sum;
use crate::rows::{Row, WeightRows};

/// Per-row scores and the per-column figures behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The score of each demand row (0 where no supply is in reach).
    pub value: Vec<f64>,
    /// Rows with some supply in reach (a positive weight to a facility).
    pub reached: Vec<bool>,
    /// The demand each column sees (the denominator of its ratio);
    /// empty for methods without one.
    pub facility_demand: Vec<f64>,
    /// Supply allotted to each row (spatial availability), else empty.
    pub allotted: Vec<f64>,
}

/// Rows per unit of parallel work: fixed by the data, never by the
/// threads, so that sums come out the same on any executor. Large enough
/// that the per-chunk column sums cost little beside the rows.
fn chunk_rows(cols: usize) -> usize {
    8192.max(4 * cols)
}

/// Calls `f(i, row, acc)` on every row, in fixed chunks run by `exec`,
/// the rows taken in the matrix's [`WeightRows::visiting_order`] when it
/// has one. `acc` holds `k` column accumulators (`acc[a * cols + j]`),
/// summed per chunk and merged in chunk order. Returns `f`'s results by
/// row and the `k × cols` sums. The chunks are of the visiting order, so
/// the sums' last bits follow it (fixed by the data, never by the
/// threads).
fn sweep<R, E, T, F>(w: &R, k: usize, exec: &E, f: F) -> (Vec<T>, Vec<f64>)
where
    R: WeightRows + ?Sized,
    E: Executor,
    T: Send + Default,
    F: Fn(usize, &Row, &mut [Sum]) -> T + Sync + Send,
{
    let width = k * w.cols();
    let order = w.visiting_order();
    debug_assert!(order.is_none_or(|o| o.len() == w.rows() && is_permutation(o)));
    let parts = exec.map(chunk_ranges(w.rows(), chunk_rows(w.cols())), |r| {
        let mut acc = vec![Sum::default(); width];
        let mut row = Row::default();
        let out: Vec<T> = r
            .map(|q| {
                let i = order.map_or(q, |o| o[q] as usize);
                w.row(i, &mut row);
                f(i, &row, &mut acc)
            })
            .collect();
        (out, acc)
    });
    let mut total = vec![Sum::default(); width];
    let mut out: Vec<T> = match order {
        None => Vec::with_capacity(w.rows()),
        Some(_) => std::iter::repeat_with(T::default).take(w.rows()).collect(),
    };
    let mut q = 0;
    for (o, acc) in parts {
        match order {
            None => out.extend(o),
            // Put back by row.
            Some(order) => {
                for t in o {
                    out[order[q] as usize] = t;
                    q += 1;
                }
            }
        }
        for (t, a) in total.iter_mut().zip(acc) {
            t.merge(a);
        }
    }
    (out, total.into_iter().map(Sum::value).collect())
}

/// Whether `o` holds each of `0..o.len()` once.
fn is_permutation(o: &[u32]) -> bool {
    let mut seen = vec![false; o.len()];
    o.iter()
        .all(|&i| (i as usize) < o.len() && !std::mem::replace(&mut seen[i as usize], true))
}

/// `Σ_j W_ij · factor(j, W_ij)` over a row, compensated, in column order.
#[inline]
fn row_sum(row: &Row, factor: impl Fn(usize, f64) -> f64) -> f64 {
    let mut s = Sum::default();
    for (j, x) in row.pairs() {
        s.add(x * factor(j, x));
    }
    s.value()
}

/// The row's weights summed, compensated.
#[inline]
fn weight_sum(row: &Row) -> f64 {
    let mut s = Sum::default();
    for &x in &row.w {
        s.add(x);
    }
    s.value()
}

/// Whether a row has a positive weight to some column.
#[inline]
fn is_reached(row: &Row) -> bool {
    row.w.iter().any(|&x| x > 0.0)
}

/// Rows with a positive weight to some column.
pub fn reached<R: WeightRows + ?Sized, E: Executor>(w: &R, exec: &E) -> Vec<bool> {
    sweep(w, 0, exec, |_, row, _| is_reached(row)).0
}

/// Supply over demand, 0 where nobody is in reach.
fn ratios(supply: &[f64], demand: &[f64]) -> Vec<f64> {
    supply
        .iter()
        .zip(demand)
        .map(|(&s, &d)| if d > 0.0 { s / d } else { 0.0 })
        .collect()
}

/// The two steps of every floating catchment, with the pair weights
/// `g(i, row)(j, W_ij)` (the decay weight, tempered by a selection weight
/// for 3SFCA and Huff): `D_j = Σ_i P_i g_ij`, `R_j = S_j / D_j`,
/// `A_i = Σ_j g_ij R_j`. `norm(row)` is what `g` needs of its row.
fn two_sweeps<R, E, N, G>(w: &R, demand: &[f64], supply: &[f64], exec: &E, norm: N, g: G) -> Scores
where
    R: WeightRows + ?Sized,
    E: Executor,
    N: Fn(usize, &Row) -> f64 + Sync + Send,
    G: Fn(f64, usize, f64) -> f64 + Sync + Send,
{
    let (reached, d) = sweep(w, 1, exec, |i, row, acc| {
        let p = demand[i];
        if p != 0.0 {
            let n = norm(i, row);
            for (j, x) in row.pairs() {
                acc[j].add(p * g(n, j, x));
            }
        }
        is_reached(row)
    });
    let r = ratios(supply, &d);
    let (value, _) = sweep(w, 0, exec, |i, row, _| {
        let n = norm(i, row);
        let mut s = Sum::default();
        for (j, x) in row.pairs() {
            s.add(g(n, j, x) * r[j]);
        }
        s.value()
    });
    Scores {
        value,
        reached,
        facility_demand: d,
        allotted: Vec::new(),
    }
}

/// Two-step floating catchment (Luo & Wang 2003), with any decay in both
/// steps (E2SFCA with step weights, G2SFCA with a Gaussian):
/// `D_j = Σ_i P_i W_ij`, `R_j = S_j / D_j`, `A_i = Σ_j W_ij R_j`.
pub fn two_step<R: WeightRows + ?Sized, E: Executor>(
    w: &R,
    demand: &[f64],
    supply: &[f64],
    exec: &E,
) -> Scores {
    two_sweeps(w, demand, supply, exec, |_, _| 0.0, |_, _, x| x)
}

/// Three-step floating catchment (Wan, Zou & Sternberg 2012): selection
/// weights `G_ij = W_ij / Σ_k W_ik` temper the demand each resident puts on
/// each facility, `D_j = Σ_i P_i G_ij W_ij`, `A_i = Σ_j G_ij W_ij S_j/D_j`.
/// `norm` gives `Σ_k W_ik` per row for PySAL's variant (over every
/// facility, before the cut-off); `None` sums the facilities in reach
/// (Wan's definition).
pub fn three_step<R: WeightRows + ?Sized, E: Executor>(
    w: &R,
    demand: &[f64],
    supply: &[f64],
    norm: Option<&[f64]>,
    exec: &E,
) -> Scores {
    two_sweeps(
        w,
        demand,
        supply,
        exec,
        |i, row| norm.map_or_else(|| weight_sum(row), |n| n[i]),
        |n, _, x| x * if n > 0.0 { x / n } else { 0.0 },
    )
}

/// Row sums of the weights: the selection normaliser of Wan's 3SFCA.
pub fn row_weight_sums<R: WeightRows + ?Sized, E: Executor>(w: &R, exec: &E) -> Vec<f64> {
    sweep(w, 0, exec, |_, row, _| weight_sum(row)).0
}

/// Huff-model 2SFCA (Luo 2014): the probability of choosing a facility is
/// its attractiveness (supply) times the weight, normalised per resident,
/// `H_ij = S_j W_ij / Σ_k S_k W_ik`; then as 3SFCA with `H` in place of `G`.
pub fn huff<R: WeightRows + ?Sized, E: Executor>(
    w: &R,
    demand: &[f64],
    supply: &[f64],
    exec: &E,
) -> Scores {
    two_sweeps(
        w,
        demand,
        supply,
        exec,
        |_, row| row_sum(row, |j, _| supply[j]),
        |n, j, x| {
            if n > 0.0 {
                x * (supply[j] * x / n)
            } else {
                0.0
            }
        },
    )
}

/// Balanced floating catchment (Paez, Higgins & Vivona 2019): demand is
/// split among the facilities in reach by row-normalised weights and
/// supply among the residents in reach by column-normalised weights, so
/// neither is counted twice: `D̃_j = Σ_i P_i W_ij / Σ_k W_ik`,
/// `L_j = S_j / D̃_j`, `A_i = Σ_j L_j W_ij / Σ_k W_kj`.
pub fn balanced<R: WeightRows + ?Sized, E: Executor>(
    w: &R,
    demand: &[f64],
    supply: &[f64],
    exec: &E,
) -> Scores {
    let cols = w.cols();
    let (reached, sums) = sweep(w, 2, exec, |i, row, acc| {
        for (j, x) in row.pairs() {
            acc[j].add(x);
        }
        let p = demand[i];
        if p != 0.0 {
            let n = weight_sum(row);
            for (j, x) in row.pairs() {
                acc[cols + j].add(p * if n > 0.0 { x / n } else { 0.0 });
            }
        }
        is_reached(row)
    });
    let (col_norm, d) = sums.split_at(cols);
    let l = ratios(supply, d);
    let scaled: Vec<f64> = l
        .iter()
        .zip(col_norm)
        .map(|(&l, &c)| if c > 0.0 { l / c } else { 0.0 })
        .collect();
    let (value, _) = sweep(w, 0, exec, |_, row, _| row_sum(row, |j, _| scaled[j]));
    Scores {
        value,
        reached,
        facility_demand: d.to_vec(),
        allotted: Vec::new(),
    }
}

/// Spatial availability (Soukhov, Páez, Higgins & Mohamed 2023), with the
/// population-competition exponent 1: each facility's supply is allotted to
/// the residents in reach in proportion to `P_i W_ij`, so
/// `V_i = Σ_j S_j P_i W_ij / Σ_k P_k W_kj` and `Σ_i V_i = Σ_j S_j` over the
/// facilities anyone reaches. The score is per capita, `V_i / P_i`.
pub fn spatial_availability<R: WeightRows + ?Sized, E: Executor>(
    w: &R,
    demand: &[f64],
    supply: &[f64],
    exec: &E,
) -> Scores {
    let mut s = two_step(w, demand, supply, exec);
    s.allotted = s.value.iter().zip(demand).map(|(&a, &p)| a * p).collect();
    s
}

/// Weighted catchment (PySAL `weighted_catchment`, the gravity potential
/// without competition): `A_i = Σ_j S_j W_ij`.
pub fn weighted_catchment<R: WeightRows + ?Sized, E: Executor>(
    w: &R,
    supply: &[f64],
    exec: &E,
) -> Scores {
    let (both, _) = sweep(w, 0, exec, |_, row, _| {
        (row_sum(row, |j, _| supply[j]), is_reached(row))
    });
    let (value, reached) = both.into_iter().unzip();
    Scores {
        value,
        reached,
        facility_demand: Vec::new(),
        allotted: Vec::new(),
    }
}
