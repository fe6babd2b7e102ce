//! Identities the indices obey, on random instances, checked against
//! independent sums; and a dense brute force of each definition.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::kernel::{sum, Kernel};
use crate::{fca, scores, Decay, Method, RaamParams};
use bacino_core::Sequential;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

/// A random instance: `n` demand points and `m` facilities on a square of
/// side 10, costs Euclidean, pairs beyond `reach` dropped; returns the
/// dense cost matrix too (infinite beyond reach).
fn instance(
    rng: &mut ChaCha8Rng,
    n: usize,
    m: usize,
    reach: f64,
) -> (Kernel, Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
    let pts: Vec<(f64, f64)> = (0..n)
        .map(|_| (rng.random_range(0.0..10.0), rng.random_range(0.0..10.0)))
        .collect();
    let fac: Vec<(f64, f64)> = (0..m)
        .map(|_| (rng.random_range(0.0..10.0), rng.random_range(0.0..10.0)))
        .collect();
    let dense: Vec<Vec<f64>> = pts
        .iter()
        .map(|p| {
            fac.iter()
                .map(|f| {
                    let d = ((p.0 - f.0).powi(2) + (p.1 - f.1).powi(2)).sqrt();
                    if d <= reach {
                        d
                    } else {
                        f64::INFINITY
                    }
                })
                .collect()
        })
        .collect();
    let k = sparse(m, &dense);
    let demand: Vec<f64> = (0..n)
        .map(|_| rng.random_range(1.0..50.0_f64).round())
        .collect();
    let supply: Vec<f64> = (0..m).map(|_| rng.random_range(5.0..200.0)).collect();
    (k, dense, demand, supply)
}

/// The kernel of a dense cost matrix: its finite entries.
fn sparse(m: usize, dense: &[Vec<f64>]) -> Kernel {
    Kernel::from_rows(
        m,
        dense.iter().map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, c)| c.is_finite())
                .map(|(j, &c)| (j as u32, c))
                .collect::<Vec<_>>()
        }),
    )
}

fn decays() -> Vec<Decay> {
    vec![
        Decay::Uniform,
        Decay::Step(vec![(2.0, 1.0), (4.0, 0.68), (6.0, 0.22)]),
        Decay::Gaussian { sigma: 2.5 },
        Decay::Gravity {
            alpha: -1.5,
            scale: 1.0,
            min: 0.5,
        },
        Decay::Logistic {
            mid: 3.0,
            width: 0.7,
        },
    ]
}

fn run(method: Method, d: &Decay, k: &Kernel, p: &[f64], s: &[f64]) -> Vec<f64> {
    scores(method, d, k, p, s, None, RaamParams::default())
        .0
        .value
}

#[test]
fn demand_times_access_sums_to_the_supply_reached() {
    // Same kernel in both steps and every D_j > 0 ⇒ Σ P_i A_i = Σ S_j.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..40 {
        let (k, dense, p, s) = instance(&mut rng, 60 + trial, 12, 6.0);
        for d in decays() {
            for method in [
                Method::TwoStep,
                Method::ThreeStep,
                Method::Huff,
                Method::SpatialAvailability,
            ] {
                let a = run(method, &d, &k, &p, &s);
                // Supply of the facilities someone puts weight on.
                let seen: f64 = sum((0..s.len())
                    .filter(|&j| {
                        dense
                            .iter()
                            .any(|row| row[j].is_finite() && d.weight(row[j]) > 0.0)
                    })
                    .map(|j| s[j]));
                let got = sum(a.iter().zip(&p).map(|(a, p)| a * p));
                assert!(close(got, seen, 1e-12), "{method} {d:?}: {got} vs {seen}");
            }
        }
    }
}

#[test]
fn balanced_demand_is_never_inflated_and_spatial_availability_allots_all_supply() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..40 {
        let (k, _dense, p, s) = instance(&mut rng, 80, 10, 5.0);
        for d in decays() {
            let w = k.map(|c| d.weight(c));
            let reached = fca::reached(&w, &Sequential);
            let b = fca::balanced(&w, &p, &s, &Sequential);
            let p_reached = sum(p.iter().zip(&reached).filter(|(_, r)| **r).map(|(p, _)| *p));
            assert!(close(
                sum(b.facility_demand.iter().copied()),
                p_reached,
                1e-12
            ));
            // Paez et al.'s second step shares each facility's level of
            // service among the rows in reach: Σ_i A_i = Σ_j L_j.
            let l: f64 = sum(b
                .facility_demand
                .iter()
                .zip(&s)
                .filter(|(d, _)| **d > 0.0)
                .map(|(d, s)| s / d));
            assert!(close(sum(b.value.iter().copied()), l, 1e-12));
            let sa = fca::spatial_availability(&w, &p, &s, &Sequential);
            let seen = sum(b
                .facility_demand
                .iter()
                .zip(&s)
                .filter(|(d, _)| **d > 0.0)
                .map(|(_, s)| *s));
            assert!(close(sum(sa.allotted.iter().copied()), seen, 1e-12));
        }
    }
}

#[test]
fn access_scales_with_supply_and_inversely_with_demand() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (k, _, p, s) = instance(&mut rng, 70, 9, 5.0);
    for d in decays() {
        for method in [
            Method::TwoStep,
            Method::ThreeStep,
            Method::Huff,
            Method::Balanced,
            Method::SpatialAvailability,
        ] {
            let a = run(method, &d, &k, &p, &s);
            let ks: Vec<f64> = s.iter().map(|x| x * 3.5).collect();
            let kp: Vec<f64> = p.iter().map(|x| x * 4.0).collect();
            let a_s = run(method, &d, &k, &p, &ks);
            let a_p = run(method, &d, &k, &kp, &s);
            for i in 0..a.len() {
                assert!(close(a_s[i], 3.5 * a[i], 1e-12), "{method} κS");
                assert!(close(a_p[i], a[i] / 4.0, 1e-12), "{method} κP");
            }
        }
    }
}

#[test]
fn with_everything_in_reach_and_unit_weights_access_is_total_supply_over_total_demand() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (k, _, p, s) = instance(&mut rng, 50, 8, 100.0);
    let ratio = sum(s.iter().copied()) / sum(p.iter().copied());
    for method in [
        Method::TwoStep,
        Method::ThreeStep,
        Method::Huff,
        Method::SpatialAvailability,
    ] {
        let a = run(method, &Decay::Uniform, &k, &p, &s);
        for x in a {
            assert!(close(x, ratio, 1e-12), "{method}: {x} vs {ratio}");
        }
    }
}

/// Each definition written out densely, the plain way, against the
/// sparse code.
#[test]
fn sparse_scores_equal_the_dense_definitions() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (k, dense, p, s) = instance(&mut rng, 40, 7, 5.0);
    let (n, m) = (p.len(), s.len());
    for d in decays() {
        let w: Vec<Vec<f64>> = dense
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&c| if c.is_finite() { d.weight(c) } else { 0.0 })
                    .collect()
            })
            .collect();
        let two = |w: &Vec<Vec<f64>>| -> Vec<f64> {
            let dj: Vec<f64> = (0..m)
                .map(|j| (0..n).map(|i| p[i] * w[i][j]).sum())
                .collect();
            (0..n)
                .map(|i| {
                    (0..m)
                        .map(|j| {
                            if dj[j] > 0.0 {
                                w[i][j] * s[j] / dj[j]
                            } else {
                                0.0
                            }
                        })
                        .sum()
                })
                .collect()
        };
        let rowsum: Vec<f64> = w.iter().map(|r| r.iter().sum()).collect();
        let g: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        if rowsum[i] > 0.0 {
                            w[i][j] * w[i][j] / rowsum[i]
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let hs: Vec<f64> = (0..n)
            .map(|i| (0..m).map(|j| s[j] * w[i][j]).sum())
            .collect();
        let h: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        if hs[i] > 0.0 {
                            w[i][j] * s[j] * w[i][j] / hs[i]
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let colsum: Vec<f64> = (0..m).map(|j| (0..n).map(|i| w[i][j]).sum()).collect();
        let bd: Vec<f64> = (0..m)
            .map(|j| {
                (0..n)
                    .map(|i| {
                        if rowsum[i] > 0.0 {
                            p[i] * w[i][j] / rowsum[i]
                        } else {
                            0.0
                        }
                    })
                    .sum()
            })
            .collect();
        let bal: Vec<f64> = (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        if bd[j] > 0.0 && colsum[j] > 0.0 {
                            s[j] / bd[j] * w[i][j] / colsum[j]
                        } else {
                            0.0
                        }
                    })
                    .sum()
            })
            .collect();
        let grav: Vec<f64> = (0..n)
            .map(|i| (0..m).map(|j| s[j] * w[i][j]).sum())
            .collect();
        for (method, want) in [
            (Method::TwoStep, two(&w)),
            (Method::ThreeStep, two(&g)),
            (Method::Huff, two(&h)),
            (Method::Balanced, bal),
            (Method::Gravity, grav),
        ] {
            let got = run(method, &d, &k, &p, &s);
            for i in 0..n {
                assert!(
                    close(got[i], want[i], 1e-12),
                    "{method} {d:?} row {i}: {} vs {}",
                    got[i],
                    want[i]
                );
            }
        }
    }
}

/// RAAM's equilibrium: certified by its duality gap, and every resident's
/// chosen facilities cost the same and no less than any other (checked
/// here from the demands, independently of the solver's certificate).
#[test]
fn raam_reaches_equilibrium() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for _ in 0..5 {
        let (k, dense, p, s) = instance(&mut rng, 120, 8, 6.0);
        let params = RaamParams {
            tau: 2.0,
            rho: None,
            tolerance: 1e-10,
            ..RaamParams::default()
        };
        let r = crate::raam::raam(&k, &p, &s, params);
        assert!(r.residual <= 1e-9, "residual {}", r.residual);
        // Total demand is conserved.
        let reached: f64 = sum(p
            .iter()
            .zip(&dense)
            .filter(|(_, row)| row.iter().any(|c| c.is_finite()))
            .map(|(p, _)| *p));
        assert!(close(sum(r.facility_demand.iter().copied()), reached, 1e-9));
        // The cost each resident reports is its cheapest option at the
        // final congestion.
        for (i, row) in dense.iter().enumerate() {
            let best = row
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_finite())
                .map(|(j, c)| c / 2.0 + r.facility_demand[j] / (r.rho * s[j]))
                .fold(f64::INFINITY, f64::min);
            if best.is_finite() {
                assert!(close(r.cost[i], best, 1e-12));
            } else {
                assert!(r.cost[i].is_nan());
            }
        }
    }
}

/// Maximum flow from residents (capacity `P_i`) through the allowed
/// `(i, j)` arcs to facilities (capacity `D_j`): Edmonds–Karp on a dense
/// residual graph, for the small instances here.
fn max_flow(demand: &[f64], allowed: &[Vec<usize>], d: &[f64]) -> f64 {
    let (n, m) = (demand.len(), d.len());
    let (s, t) = (n + m, n + m + 1);
    let size = n + m + 2;
    let mut cap = vec![vec![0.0f64; size]; size];
    for i in 0..n {
        cap[s][i] = demand[i];
        for &j in &allowed[i] {
            cap[i][n + j] = f64::INFINITY;
        }
    }
    for j in 0..m {
        cap[n + j][t] = d[j];
    }
    let mut total = 0.0;
    loop {
        let mut prev = vec![usize::MAX; size];
        prev[s] = s;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            for v in 0..size {
                if prev[v] == usize::MAX && cap[u][v] > 1e-12 {
                    prev[v] = u;
                    queue.push_back(v);
                }
            }
        }
        if prev[t] == usize::MAX {
            return total;
        }
        let mut push = f64::INFINITY;
        let mut v = t;
        while v != s {
            push = push.min(cap[prev[v]][v]);
            v = prev[v];
        }
        let mut v = t;
        while v != s {
            let u = prev[v];
            cap[u][v] -= push;
            cap[v][u] += push;
            v = u;
        }
        total += push;
    }
}

/// RAAM solved on a dense cost matrix (default tolerance), its
/// certificate required to be ≤ 1e-9, and its answer checked from its
/// demands alone (see below); returns the congestion `D_j / (ρ S_j)` per
/// facility.
fn assert_equilibrium(
    dense: &[Vec<f64>],
    p: &[f64],
    s: &[f64],
    params: RaamParams,
    what: &str,
) -> (crate::raam::Raam, Vec<f64>) {
    let m = s.len();
    let tau = params.tau;
    let r = crate::raam::raam(&sparse(m, dense), p, s, params);
    assert!(r.residual <= 1e-9, "{what}: residual {}", r.residual);
    let price: Vec<f64> = (0..m)
        .map(|j| {
            if s[j] > 0.0 {
                r.facility_demand[j] / (r.rho * s[j])
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let mut allowed = Vec::new();
    let mut reached = Vec::new();
    for (i, row) in dense.iter().enumerate() {
        let cost: Vec<f64> = row.iter().zip(&price).map(|(c, q)| c / tau + q).collect();
        let lo = cost.iter().copied().fold(f64::INFINITY, f64::min);
        allowed.push(
            (0..m)
                .filter(|&j| cost[j].is_finite() && cost[j] <= lo + 1e-4)
                .collect::<Vec<_>>(),
        );
        reached.push(if lo.is_finite() { p[i] } else { 0.0 });
        if lo.is_finite() {
            assert!(
                close(r.cost[i], lo, 1e-12),
                "{what}: row {i} reports {}",
                r.cost[i]
            );
        }
    }
    let total = sum(reached.iter().copied());
    let flow = max_flow(&reached, &allowed, &r.facility_demand);
    assert!(
        flow >= total * (1.0 - 1e-9),
        "{what}: only {flow} of {total} routes to cheapest facilities"
    );
    (r, price)
}

/// The equilibrium checked from its demands alone, independently of the
/// solver's certificate: at the congestion `D_j / (ρ S_j)` it implies,
/// every resident's weight can be routed to facilities that are its
/// cheapest (a max flow through those arcs carries all of it, and fills
/// each facility's demand); facilities at one address (identical cost
/// columns, which the solver merges) end at one congestion. "Cheapest" is
/// within 1e-4: a duality gap of 1e-9 pins the demands, and so the
/// congestion they imply, to about its square root.
#[test]
fn raam_demands_admit_an_equilibrium_split() {
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    for round in 0..6 {
        let (_, mut dense, p, mut s) = instance(&mut rng, 150, 9, 5.0);
        // Three facilities get a twin at their address.
        let twins = [0usize, 3, 7];
        for row in &mut dense {
            for &j in &twins {
                row.push(row[j]);
            }
        }
        for _ in twins {
            s.push(rng.random_range(5.0..200.0));
        }
        // The odd rounds leave the copies without supply (no twins).
        if round % 2 == 1 {
            for x in s.iter_mut().skip(9) {
                *x = 0.0;
            }
        }
        let params = RaamParams {
            tau: 2.0,
            ..RaamParams::default()
        };
        let (_, price) = assert_equilibrium(&dense, &p, &s, params, &format!("round {round}"));
        if round % 2 == 0 {
            for (c, &j) in twins.iter().enumerate() {
                assert!(
                    close(price[j], price[9 + c], 1e-12),
                    "twins {j} and {}: {} vs {}",
                    9 + c,
                    price[j],
                    price[9 + c]
                );
            }
        }
    }
}

/// The municipality-level problem of `benches/compare/access_pysal.py`,
/// built here from the bundled dataset: each municipality's residents at
/// their weighted mean position, weighted by their number; active GPs
/// offering their capacity; geodesic metres up to 30 km; τ = 60 km. Its
/// few heavy origins, each reaching hundreds of GPs, stalled the path
/// following at a gap of 1.2e-5 (one municipality's cost 0.4 % off the
/// equilibrium Clarabel finds, `benches/compare/raam_qp.py`); the exact
/// finish must certify it, and the demands must pass the check above.
#[test]
fn raam_certifies_the_municipality_level_problem() {
    use bacino_core::{geodesic_distance_m, Dataset, FacilityKind, LonLat};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bergamo");
    let data = Dataset::load(dir).unwrap();
    let res = data.residents();
    let codes = res.municipality().codes();
    let towns = res.municipality().values().len();
    let (mut lon, mut lat, mut weight) = (vec![0.0; towns], vec![0.0; towns], vec![0.0; towns]);
    for (i, &c) in codes.iter().enumerate() {
        let (w, at) = (res.weights()[i], res.locations()[i]);
        if c != bacino_core::NONE && w > 0.0 {
            lon[c as usize] += w * at.lon;
            lat[c as usize] += w * at.lat;
            weight[c as usize] += w;
        }
    }
    let gps = data.facilities().active_of_kind(FacilityKind::Gp);
    let supply: Vec<f64> = gps
        .iter()
        .map(|&g| f64::from(data.facilities().get(g).capacity.unwrap_or(0)))
        .collect();
    let dense: Vec<Vec<f64>> = (0..towns)
        .filter(|&t| weight[t] > 0.0)
        .map(|t| {
            let at = LonLat::new(lon[t] / weight[t], lat[t] / weight[t]);
            gps.iter()
                .map(|&g| {
                    let d = geodesic_distance_m(at, data.facilities().get(g).location);
                    if d <= 30_000.0 {
                        d
                    } else {
                        f64::INFINITY
                    }
                })
                .collect()
        })
        .collect();
    let p: Vec<f64> = weight.iter().copied().filter(|&w| w > 0.0).collect();
    assert!(
        p.len() > 200 && gps.len() > 500,
        "{} towns, {} GPs",
        p.len(),
        gps.len()
    );
    let cold = RaamParams {
        tau: 60_000.0,
        ..RaamParams::default()
    };
    let (cold, _) = assert_equilibrium(&dense, &p, &supply, cold, "municipalities");
    // Started from the prices of every eighth municipality's equilibrium
    // (as resident-level problems are): the same certified equilibrium,
    // by another path.
    let warm = RaamParams {
        tau: 60_000.0,
        warm_rows: 100,
        ..RaamParams::default()
    };
    let (warm, _) = assert_equilibrium(&dense, &p, &supply, warm, "municipalities, warm");
    assert_ne!(warm.iterations, cold.iterations);
    // Each answer's prices are within `√(2γF/κ_min)` of the equilibrium's
    // (the dual is `κ_min`-strongly concave, and its gap to the optimum is
    // at most the certified `γF`; `F ≤ Σ P_i cost_i`), so their costs are
    // within the sum of the two.
    let kappa_min = supply
        .iter()
        .filter(|&&s| s > 0.0)
        .fold(f64::INFINITY, |m, &s| m.min(cold.rho * s));
    let spent: f64 = p.iter().zip(&cold.cost).map(|(p, c)| p * c).sum();
    let off = |r: &crate::raam::Raam| (2.0 * r.residual * spent / kappa_min).sqrt();
    let bound = off(&cold) + off(&warm);
    assert!(bound < 1e-3, "the certificates allow {bound}");
    for (i, (a, b)) in cold.cost.iter().zip(&warm.cost).enumerate() {
        assert!(
            (a - b).abs() <= bound,
            "municipality {i}: {a} cold, {b} warm (bound {bound})"
        );
    }
}
