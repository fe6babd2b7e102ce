//! The floating-catchment family and its relatives on a sparse kernel of
//! decay weights `W` (demand rows × supply columns, pairs within
//! `max_cost`), demand `P` per row and supply `S` per column. Definitions
//! follow PySAL `access` (the oracle) where it has the method, and the
//! cited papers otherwise.

use crate::kernel::{sum, Kernel};

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

/// Rows with a positive weight to some column.
pub fn reached(w: &Kernel) -> Vec<bool> {
    (0..w.rows())
        .map(|i| w.row(i).1.iter().any(|&x| x > 0.0))
        .collect()
}

/// Supply over demand, 0 where nobody is in reach.
fn ratios(supply: &[f64], demand: &[f64]) -> Vec<f64> {
    supply
        .iter()
        .zip(demand)
        .map(|(&s, &d)| if d > 0.0 { s / d } else { 0.0 })
        .collect()
}

/// Two-step floating catchment (Luo & Wang 2003), with any decay in both
/// steps (E2SFCA with step weights, G2SFCA with a Gaussian):
/// `D_j = Σ_i P_i W_ij`, `R_j = S_j / D_j`, `A_i = Σ_j W_ij R_j`.
pub fn two_step(w: &Kernel, demand: &[f64], supply: &[f64]) -> Scores {
    let d = w.col_sums(demand);
    let r = ratios(supply, &d);
    Scores {
        value: w.row_sums(&r),
        reached: reached(w),
        facility_demand: d,
        allotted: Vec::new(),
    }
}

/// Row-normalised weights `W_ij / norm_i` (0 where the norm is 0).
fn row_normalised(w: &Kernel, norm: &[f64]) -> Kernel {
    w.map_indexed(|i, _, x| if norm[i] > 0.0 { x / norm[i] } else { 0.0 })
}

/// Three-step floating catchment (Wan, Zou & Sternberg 2012): selection
/// weights `G_ij = W_ij / Σ_k W_ik` temper the demand each resident puts on
/// each facility, `D_j = Σ_i P_i G_ij W_ij`, `A_i = Σ_j G_ij W_ij S_j/D_j`.
/// `norm` gives `Σ_k W_ik` per row: over the facilities in reach (Wan's
/// definition) or, for PySAL's variant, over every facility before the
/// cut-off.
pub fn three_step(w: &Kernel, demand: &[f64], supply: &[f64], norm: &[f64]) -> Scores {
    let gw = w.map_indexed(|i, _, x| x * if norm[i] > 0.0 { x / norm[i] } else { 0.0 });
    let mut s = two_step(&gw, demand, supply);
    s.reached = reached(w);
    s
}

/// Row sums of the weights: the selection normaliser of Wan's 3SFCA.
pub fn row_weight_sums(w: &Kernel) -> Vec<f64> {
    (0..w.rows())
        .map(|i| sum(w.row(i).1.iter().copied()))
        .collect()
}

/// Huff-model 2SFCA (Luo 2014): the probability of choosing a facility is
/// its attractiveness (supply) times the weight, normalised per resident,
/// `H_ij = S_j W_ij / Σ_k S_k W_ik`; then as 3SFCA with `H` in place of `G`.
pub fn huff(w: &Kernel, demand: &[f64], supply: &[f64]) -> Scores {
    let norm = w.row_sums(supply);
    let hw = w.map_indexed(|i, j, x| {
        if norm[i] > 0.0 {
            x * (supply[j as usize] * x / norm[i])
        } else {
            0.0
        }
    });
    let mut s = two_step(&hw, demand, supply);
    s.reached = reached(w);
    s
}

/// Balanced floating catchment (Paez, Higgins & Vivona 2019): demand is
/// split among the facilities in reach by row-normalised weights and
/// supply among the residents in reach by column-normalised weights, so
/// neither is counted twice: `D̃_j = Σ_i P_i W_ij / Σ_k W_ik`,
/// `L_j = S_j / D̃_j`, `A_i = Σ_j L_j W_ij / Σ_k W_kj`.
pub fn balanced(w: &Kernel, demand: &[f64], supply: &[f64]) -> Scores {
    let row_norm = row_weight_sums(w);
    let ones = vec![1.0; w.rows()];
    let col_norm = w.col_sums(&ones);
    let wi = row_normalised(w, &row_norm);
    let d = wi.col_sums(demand);
    let l = ratios(supply, &d);
    let scaled: Vec<f64> = l
        .iter()
        .zip(&col_norm)
        .map(|(&l, &c)| if c > 0.0 { l / c } else { 0.0 })
        .collect();
    Scores {
        value: w.row_sums(&scaled),
        reached: reached(w),
        facility_demand: d,
        allotted: Vec::new(),
    }
}

/// Spatial availability (Soukhov, Páez, Higgins & Mohamed 2023), with the
/// population-competition exponent 1: each facility's supply is allotted to
/// the residents in reach in proportion to `P_i W_ij`, so
/// `V_i = Σ_j S_j P_i W_ij / Σ_k P_k W_kj` and `Σ_i V_i = Σ_j S_j` over the
/// facilities anyone reaches. The score is per capita, `V_i / P_i`.
pub fn spatial_availability(w: &Kernel, demand: &[f64], supply: &[f64]) -> Scores {
    let mut s = two_step(w, demand, supply);
    s.allotted = s.value.iter().zip(demand).map(|(&a, &p)| a * p).collect();
    s
}

/// Weighted catchment (PySAL `weighted_catchment`, the gravity potential
/// without competition): `A_i = Σ_j S_j W_ij`.
pub fn weighted_catchment(w: &Kernel, supply: &[f64]) -> Scores {
    Scores {
        value: w.row_sums(supply),
        reached: reached(w),
        facility_demand: Vec::new(),
        allotted: Vec::new(),
    }
}
