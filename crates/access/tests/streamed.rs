//! The geodesic weights measured afresh on each sweep give the scores the
//! stored cost kernel gives through its decay: every method, every decay,
//! on the bundled dataset; and the sweeps do not depend on the executor.

use bacino_access::report::cost_kernel;
use bacino_access::{fca, weighted_scores, Decay, Decayed, GeodesicRows, Method, Scores};
use bacino_core::{Dataset, FacilityKind, Metric, ReachIndex, Sequential};

fn fixture() -> Dataset {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bergamo");
    Dataset::load(dir).expect("fixture loads")
}

/// Two threads, each taking every other item: another order of work than
/// the sequential one.
struct TwoThreads;

impl bacino_core::Executor for TwoThreads {
    fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        let n = items.len();
        let (mut even, mut odd) = (Vec::new(), Vec::new());
        for (k, x) in items.into_iter().enumerate() {
            if k % 2 == 0 { &mut even } else { &mut odd }.push((k, x));
        }
        let run = |v: Vec<(usize, T)>| v.into_iter().map(|(k, x)| (k, f(x))).collect::<Vec<_>>();
        let (a, b) = std::thread::scope(|s| {
            let h = s.spawn(|| run(odd));
            (run(even), h.join().unwrap())
        });
        let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
        for (k, r) in a.into_iter().chain(b) {
            out[k] = Some(r);
        }
        out.into_iter().map(Option::unwrap).collect()
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

fn assert_scores(got: &Scores, want: &Scores, what: &str) {
    assert_eq!(got.reached, want.reached, "{what}: reached");
    assert_eq!(got.value.len(), want.value.len());
    for (i, (a, b)) in got.value.iter().zip(&want.value).enumerate() {
        assert!(close(*a, *b, 1e-12), "{what}: row {i}: {a} vs {b}");
    }
    for (a, b) in got.facility_demand.iter().zip(&want.facility_demand) {
        assert!(close(*a, *b, 1e-12), "{what}: demand {a} vs {b}");
    }
    assert_eq!(got.allotted.len(), want.allotted.len());
}

#[test]
fn streamed_rows_score_as_the_stored_kernel() {
    let d = fixture();
    let members = d.facilities().active_of_kind(FacilityKind::Gp);
    let supply: Vec<f64> = members
        .iter()
        .map(|&m| f64::from(d.facilities().get(m).capacity.unwrap()))
        .collect();
    let demand = d.residents().weights();
    let points = d.residents().locations();
    let max = 2_000.0;
    let cost = cost_kernel(&d, &members, Metric::Geodesic, max, &Sequential);
    assert!(cost.nnz() > 50_000, "a real kernel: {} pairs", cost.nnz());
    let index = ReachIndex::new(d.facilities(), &members, max, points);
    let decays = [
        Decay::Uniform,
        Decay::Step(vec![(667.0, 1.0), (1_333.0, 0.68), (2_000.0, 0.22)]),
        // The last step short of the reach: pairs beyond it weigh 0.
        Decay::Step(vec![(500.0, 1.0), (1_600.0, 0.5)]),
        Decay::Gaussian { sigma: 1_000.0 },
        Decay::Gravity {
            alpha: -1.0,
            scale: 1_000.0,
            min: 100.0,
        },
        Decay::Logistic {
            mid: 1_200.0,
            width: 200.0,
        },
    ];
    for decay in &decays {
        let rows = GeodesicRows::new(&index, members.len(), points, decay);
        let stored = Decayed { cost: &cost, decay };
        for method in Method::ALL.into_iter().filter(|&m| m != Method::Raam) {
            let want = weighted_scores(method, &stored, demand, &supply, None, &Sequential);
            let got = weighted_scores(method, &rows, demand, &supply, None, &TwoThreads);
            assert_scores(&got, &want, &format!("{method} {decay:?}"));
            if matches!(decay, Decay::Uniform | Decay::Gaussian { .. }) {
                let again = weighted_scores(method, &rows, demand, &supply, None, &Sequential);
                assert_eq!(got, again, "{method} {decay:?}: the same on any executor");
            }
        }
        let norm = fca::row_weight_sums(&rows, &TwoThreads);
        let want = fca::row_weight_sums(&stored, &Sequential);
        for (a, b) in norm.iter().zip(&want) {
            assert!(close(*a, *b, 1e-12), "{decay:?}: row sums {a} vs {b}");
        }
    }
}

/// RAAM's setup (the kernel of costs, the merged twins), its passes and
/// the rebuilds of the rows near a tie all run in fixed chunks of rows,
/// so two threads give the very same answer as one, bit for bit, whether
/// the solve starts cold or from a sample's prices.
#[test]
fn raam_does_not_depend_on_the_executor() {
    use bacino_access::raam::{raam_in, RaamParams};
    use bacino_access::Kernel;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    // 20,000 residents (three chunks) and 40 facilities, one of them at
    // another's address, on a 10 × 10 square; reach 3.
    let (n, m) = (20_000, 40);
    let mut fac: Vec<(f64, f64)> = (0..m)
        .map(|_| (rng.random_range(0.0..10.0), rng.random_range(0.0..10.0)))
        .collect();
    fac[m - 1] = fac[0];
    let cost = Kernel::from_rows(
        m,
        (0..n).map(|_| {
            let p: (f64, f64) = (rng.random_range(0.0..10.0), rng.random_range(0.0..10.0));
            fac.iter()
                .enumerate()
                .map(|(j, f)| (j as u32, ((p.0 - f.0).powi(2) + (p.1 - f.1).powi(2)).sqrt()))
                .filter(|&(_, d)| d <= 3.0)
                .collect::<Vec<_>>()
        }),
    );
    let demand: Vec<f64> = (0..n)
        .map(|_| rng.random_range(1.0..5.0_f64).round())
        .collect();
    let supply: Vec<f64> = (0..m)
        .map(|_| rng.random_range(100.0..2000.0_f64).round())
        .collect();
    for warm_rows in [usize::MAX, 10_000] {
        let params = RaamParams {
            tau: 2.0,
            warm_rows,
            ..RaamParams::default()
        };
        let one = raam_in(&cost, &demand, &supply, params, &Sequential);
        let two = raam_in(&cost, &demand, &supply, params, &TwoThreads);
        assert!(one.residual <= 1e-9, "residual {}", one.residual);
        assert_eq!(one.residual.to_bits(), two.residual.to_bits());
        assert_eq!(one.iterations, two.iterations);
        for (a, b) in one.cost.iter().zip(&two.cost) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        for (a, b) in one.facility_demand.iter().zip(&two.facility_demand) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}

/// RAAM on geodesic costs read by rows (the sample's rows whole, every
/// row's pairs near its cheapest found by the chord) reaches the
/// equilibrium the stored kernel's whole solve reaches, certified, with
/// its windows in use; and it does not depend on the executor.
#[test]
fn raam_on_rows_read_afresh_is_the_stored_kernels_equilibrium() {
    use bacino_access::raam::{raam_in, RaamParams};
    use bacino_access::GeodesicCosts;
    let d = fixture();
    let members = d.facilities().active_of_kind(FacilityKind::Gp);
    let supply: Vec<f64> = members
        .iter()
        .map(|&m| f64::from(d.facilities().get(m).capacity.unwrap()))
        .collect();
    let demand = d.residents().weights();
    let points = d.residents().locations();
    let max = 5_000.0;
    let cost = cost_kernel(&d, &members, Metric::Geodesic, max, &Sequential);
    let index = ReachIndex::new(d.facilities(), &members, max, points);
    let rows = GeodesicCosts {
        index: &index,
        points,
        cols: members.len(),
    };
    let whole = RaamParams {
        tau: 60_000.0,
        warm_rows: usize::MAX,
        ..RaamParams::default()
    };
    let windowed = RaamParams {
        warm_rows: 20_000,
        ..whole
    };
    assert!(points.len() >= 8 * 20_000 / 2, "{} rows", points.len());
    let want = raam_in(&cost, demand, &supply, whole, &Sequential);
    let got = raam_in(&rows, demand, &supply, windowed, &TwoThreads);
    let again = raam_in(&rows, demand, &supply, windowed, &Sequential);
    for r in [&want, &got] {
        assert!(r.residual <= 1e-10, "residual {}", r.residual);
    }
    assert_eq!(got.residual.to_bits(), again.residual.to_bits());
    for (a, b) in got.cost.iter().zip(&again.cost) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    // Both within `√(2γF/κ_min)` of the equilibrium's prices, `F ≤ Σ P
    // cost`: their costs within the sum.
    let kappa_min = supply
        .iter()
        .fold(f64::INFINITY, |m, &s| m.min(want.rho * s));
    let spent: f64 = demand
        .iter()
        .zip(&want.cost)
        .filter(|(_, c)| c.is_finite())
        .map(|(p, c)| p * c)
        .sum();
    let off = |r: &bacino_access::Raam| (2.0 * r.residual * spent / kappa_min).sqrt();
    let bound = off(&want) + off(&got);
    assert!(bound < 1e-3, "the certificates allow {bound}");
    for (i, (a, b)) in want.cost.iter().zip(&got.cost).enumerate() {
        assert_eq!(a.is_nan(), b.is_nan(), "row {i} reached in one only");
        if a.is_finite() {
            assert!(
                (a - b).abs() <= bound,
                "row {i}: {a} vs {b} (bound {bound})"
            );
        }
    }
}
