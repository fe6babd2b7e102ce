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
