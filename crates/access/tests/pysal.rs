//! PySAL `access`'s own test cases, reproduced: the 3-tract hospital
//! example (tests/test_hospital_example.py) and the 5×5 grid
//! (tests/test_floating_catchment_area.py, test_weighted_catchment.py,
//! test_raam.py). Expected values are PySAL 1.1.10's output on the same
//! inputs (pandas 2.3.3), run by `benches/compare/access_pysal_cases.py`.

use bacino_access::{fca, raam, scores, Decay, Kernel, Method, RaamParams};

fn assert_close(got: &[f64], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * w.abs().max(1e-300),
            "{what}, tract {}: got {g}, PySAL {w}",
            i + 1
        );
    }
}

const POP: [f64; 3] = [100.0, 50.0, 10.0];
const DOC: [f64; 3] = [15.0, 20.0, 100.0];

/// Cost from tract `i` (resident) to tract `j` (hospital) in scenario `s`:
/// self 1; 1→3 and 2→3, 3→1 and 3→2, 1↔2 as in PySAL's test.
fn hospital_cost(s: usize, i: usize, j: usize) -> f64 {
    let (to3, from3, one_two) = [
        (40.0, 40.0, 80.0),
        (20.0, 40.0, 80.0),
        (40.0, 20.0, 80.0),
        (20.0, 20.0, 40.0),
    ][s];
    match (i, j) {
        _ if i == j => 1.0,
        (_, 2) => to3,
        (2, _) => from3,
        _ => one_two,
    }
}

fn hospital(s: usize, max_cost: f64) -> Kernel {
    Kernel::from_rows(
        3,
        (0..3).map(|i| {
            (0..3)
                .map(|j| (j as u32, hospital_cost(s, i, j)))
                .filter(|&(_, c)| c <= max_cost)
                .collect::<Vec<_>>()
        }),
    )
}

fn inverse() -> Decay {
    Decay::Gravity {
        alpha: -1.0,
        scale: 1.0,
        min: 0.0,
    }
}

fn run(m: Method, d: &Decay, k: &Kernel, norm: Option<&[f64]>) -> Vec<f64> {
    scores(m, d, k, &POP, &DOC, norm, RaamParams::default())
        .0
        .value
}

#[test]
fn hospital_example_two_and_three_step() {
    let want_2 = [
        [0.3314441169802766, 0.5798281320669381, 7.286418169862544],
        [0.4353402208763805, 0.683724235963042, 5.727976611420986],
        [0.3310719131614654, 0.5778577857785778, 7.299991939492457],
        [0.4425683953985841, 0.6667582799658271, 5.7405246461850234],
    ];
    let want_3 = [
        [0.15625658829061984, 0.4062164524508605, 9.906351854839498],
        [0.17381354292075435, 0.42377244008875437, 9.643002370348684],
        [0.15652592741822574, 0.40637274095207443, 9.902877021057371],
        [0.17480214807981356, 0.42403550855652616, 9.631800976419234],
    ];
    for s in 0..4 {
        let k = hospital(s, 61.0);
        assert_close(
            &run(Method::TwoStep, &inverse(), &k, None),
            &want_2[s],
            1e-12,
            &format!("2SFCA s{s}"),
        );
        // PySAL normalises 3SFCA's selection weights over every pair,
        // before the 61 cut-off.
        let all = fca::row_weight_sums(
            &hospital(s, f64::INFINITY).map(|c| inverse().weight(c)),
            &bacino_core::Sequential,
        );
        assert_close(
            &run(Method::ThreeStep, &inverse(), &k, Some(&all)),
            &want_3[s],
            1e-12,
            &format!("3SFCA s{s}"),
        );
    }
    // Scenario 0's PySAL reference values as printed in the issue.
    let a = run(Method::TwoStep, &inverse(), &hospital(0, 61.0), None);
    assert_close(
        &a,
        &[0.331444117, 0.579828132, 7.28641817],
        1e-9,
        "2SFCA s0 (9 digits)",
    );
}

#[test]
fn hospital_example_enhanced_gaussian_and_catchment() {
    let e2 = Decay::Step(vec![(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)]);
    let k = hospital(0, f64::INFINITY);
    assert_close(
        &run(Method::Enhanced, &e2, &k, None),
        &[0.15, 0.4, 10.0],
        1e-12,
        "E2SFCA s0",
    );
    let k1 = hospital(1, f64::INFINITY);
    assert_close(
        &run(Method::Enhanced, &e2, &k1, None),
        &[0.7571428571428572, 1.0071428571428571, 0.8928571428571429],
        1e-12,
        "E2SFCA s1",
    );
    let g = Decay::Gaussian { sigma: 30.0 };
    assert_close(
        &run(Method::Gaussian, &g, &hospital(0, 61.0), None),
        &[0.7177617631048425, 0.9432822712654025, 1.6059710126245612],
        1e-12,
        "G2SFCA s0",
    );
    assert_close(
        &run(Method::Gaussian, &g, &k, None),
        &[0.7258445349299711, 0.9288026092252113, 1.597541604574231],
        1e-12,
        "G2SFCA s0 no cut-off",
    );
    let grav = Decay::Gravity {
        alpha: -1.0,
        scale: 60.0,
        min: 0.0,
    };
    assert_close(
        &run(Method::Gravity, &grav, &k, None),
        &[1065.0, 1361.25, 6052.5],
        1e-12,
        "weighted catchment s0",
    );
    let grav2 = Decay::Gravity {
        alpha: -2.0,
        scale: 60.0,
        min: 10.0,
    };
    assert_close(
        &run(Method::Gravity, &grav2, &hospital(3, f64::INFINITY), None),
        &[1485.0000000000005, 1653.7500000000005, 3915.000000000001],
        1e-12,
        "weighted catchment s3, min 10",
    );
}

/// PySAL's RAAM is a 150-cycle heuristic moving whole people; ours is the
/// exact equilibrium, so they agree to within the heuristic's slack.
#[test]
fn hospital_example_raam_is_within_two_percent_of_pysals_heuristic() {
    let want = [
        (
            0,
            60.0,
            [1.5048479166666666, 1.4933229166666666, 0.8435416666666669],
        ),
        (
            0,
            30.0,
            [2.0006614583333335, 1.9760333333333335, 0.6998958333333334],
        ),
        (
            1,
            60.0,
            [1.2532729166666667, 1.2455291666666668, 0.9363541666666668],
        ),
        (1, 30.0, [1.5155072916666665, 1.478675, 0.8686458333333335]),
        // Scenarios 2 and 3 lower costs no one takes at equilibrium (out
        // of tract 3, whose residents stay home; between tracts 1 and 2,
        // dearer than tract 3): PySAL answers as for 0 and 1.
        (
            2,
            60.0,
            [1.5048479166666666, 1.4933229166666666, 0.8435416666666669],
        ),
        (
            2,
            30.0,
            [2.0006614583333335, 1.9760333333333335, 0.6998958333333334],
        ),
        (
            3,
            60.0,
            [1.2532729166666667, 1.2455291666666668, 0.9363541666666668],
        ),
        (3, 30.0, [1.5155072916666665, 1.478675, 0.8686458333333335]),
    ];
    for (s, tau, w) in want {
        let k = hospital(s, f64::INFINITY);
        let r = raam::raam(
            &k,
            &POP,
            &DOC,
            RaamParams {
                tau,
                rho: None,
                tolerance: 1e-12,
                ..RaamParams::default()
            },
        );
        assert!(r.residual <= 1e-9, "s{s} τ{tau}: residual {}", r.residual);
        assert_close(&r.cost, &w, 0.02, &format!("RAAM s{s} τ{tau}"));
    }
}

/// The 5×5 grid of PySAL's tests: ids `5x + y + 1`, Euclidean costs, every
/// cell demand 1 and supply 1 unless said otherwise.
fn grid(max_cost: f64) -> Kernel {
    let at = |id: usize| (((id - 1) / 5) as f64, ((id - 1) % 5) as f64);
    Kernel::from_rows(
        25,
        (1..=25).map(|i| {
            (1..=25)
                .filter_map(|j| {
                    let (a, b) = (at(i), at(j));
                    let c = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
                    (c <= max_cost).then_some(((j - 1) as u32, c))
                })
                .collect::<Vec<_>>()
        }),
    )
}

#[test]
fn grid_cases() {
    let ones = vec![1.0; 25];
    let pick = |v: &[f64], ids: &[usize]| ids.iter().map(|&i| v[i - 1]).collect::<Vec<f64>>();
    let ids = [1, 2, 3, 7, 8, 13, 5, 21, 25];
    let sc = |m, d: &Decay, k: &Kernel, p: &[f64]| {
        scores(m, d, k, p, &ones, None, RaamParams::default())
            .0
            .value
    };

    // Large catchment, five demand cells (whichever: PySAL samples them).
    let mut five = vec![0.0; 25];
    for i in [2, 9, 13, 17, 24] {
        five[i] = 1.0;
    }
    let a = sc(
        Method::TwoStep,
        &Decay::Uniform,
        &grid(f64::INFINITY),
        &five,
    );
    assert_close(
        &pick(&a, &[3, 10, 14]),
        &[5.0; 3],
        1e-12,
        "2SFCA large catchment",
    );
    let e2 = Decay::Step(vec![(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)]);
    let a = sc(Method::Enhanced, &e2, &grid(f64::INFINITY), &five);
    assert_close(
        &pick(&a, &[3, 10, 14]),
        &[5.0; 3],
        1e-12,
        "E2SFCA large catchment",
    );
    let s3 = Decay::Step(vec![(10.0, 25.0)]);
    let a = sc(Method::ThreeStep, &s3, &grid(f64::INFINITY), &five);
    assert_close(
        &pick(&a, &[3, 10, 14]),
        &[5.0; 3],
        1e-12,
        "3SFCA large catchment",
    );
    // Catchment 0.9: only the own cell.
    let a = sc(Method::TwoStep, &Decay::Uniform, &grid(0.9), &five);
    assert_close(&pick(&a, &[3, 10, 14]), &[1.0; 3], 1e-12, "2SFCA own cell");

    // Every cell demand 1, catchment 1.5.
    let a = sc(Method::TwoStep, &Decay::Uniform, &grid(1.5), &ones);
    let corner = 0.6944444444444444;
    assert_close(
        &pick(&a, &ids),
        &[
            corner,
            0.9722222222222222,
            0.8333333333333333,
            1.3611111111111112,
            1.1666666666666665,
            1.0,
            corner,
            corner,
            corner,
        ],
        1e-12,
        "2SFCA ≤ 1.5",
    );
    let a = sc(
        Method::ThreeStep,
        &Decay::Gaussian { sigma: 2.0 },
        &grid(f64::INFINITY),
        &ones,
    );
    assert_close(
        &pick(&a, &[1, 2, 3, 7, 8, 13]),
        &[
            0.9833890067859864,
            1.000893352205457,
            0.9897338984428785,
            1.0187092753489513,
            1.007351183069972,
            0.9961197277651909,
        ],
        1e-12,
        "3SFCA Gaussian σ 2",
    );
    // test_weighted_catchment.py: gravity(60, 1) — PySAL's test grows with
    // distance; the library evaluates it, the CLI refuses it as a decay.
    let up = Decay::Gravity {
        alpha: 1.0,
        scale: 60.0,
        min: 0.0,
    };
    let a = sc(Method::Gravity, &up, &grid(f64::INFINITY), &ones);
    let c = 1.3223402101871624;
    assert_close(
        &pick(&a, &ids),
        &[
            c,
            1.1337330267796508,
            1.0692615719456158,
            0.9255401193826419,
            0.8544295705874706,
            0.780985109474591,
            c,
            c,
            c,
        ],
        1e-12,
        "weighted catchment gravity(60, 1)",
    );
    // Step weights within 0.5: the own cell's supply; within 10: all 25.
    let a = sc(
        Method::Gravity,
        &Decay::Step(vec![(0.5, 0.5)]),
        &grid(f64::INFINITY),
        &ones,
    );
    assert_close(&pick(&a, &[7]), &[0.5], 1e-12, "catchment step 0.5");
    let a = sc(
        Method::Gravity,
        &Decay::Step(vec![(10.0, 1.0)]),
        &grid(f64::INFINITY),
        &ones,
    );
    assert_close(&pick(&a, &[7]), &[25.0], 1e-12, "catchment step 10");

    // RAAM with every cell's demand at home is already the equilibrium.
    let r = raam::raam(
        &grid(f64::INFINITY),
        &ones,
        &ones,
        RaamParams {
            tau: 60.0,
            rho: None,
            tolerance: 1e-12,
            ..RaamParams::default()
        },
    );
    assert!(r.residual <= 1e-9);
    assert_close(&r.cost, &[1.0; 25], 1e-9, "RAAM grid");
}

/// PySAL's single-resident RAAM case gives 25 because its heuristic moves
/// whole people and one person cannot be split; at the true equilibrium
/// the person spreads over the 25 facilities and pays far less.
#[test]
fn raam_splits_a_single_resident_where_pysal_cannot() {
    let ones = vec![1.0; 25];
    let mut one = vec![0.0; 25];
    one[12] = 1.0;
    let r = raam::raam(
        &grid(f64::INFINITY),
        &one,
        &ones,
        RaamParams {
            tau: 60.0,
            rho: None,
            tolerance: 1e-12,
            ..RaamParams::default()
        },
    );
    assert!(r.residual <= 1e-9, "residual {}", r.residual);
    assert!(r.cost[12] < 25.0 / 4.0, "{}", r.cost[12]);
    // Spread over all 25, congestion alone would be 1: travel adds a
    // little (at most the farthest cell's 2√2/60).
    assert!(
        r.cost[12] >= 1.0 && r.cost[12] <= 1.0 + 8f64.sqrt() / 60.0 + 1e-9,
        "{}",
        r.cost[12]
    );
}
