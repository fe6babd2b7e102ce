//! Random cessation draws: uniform, or weighted by the facilities'
//! `retire_p` (frequencies against the probabilities given).

use bacino_batch::{random_draws, RandomCease};
use bacino_core::Dataset;

fn dataset(facilities: &str) -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dataset.toml"),
        "name = \"d\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("f.csv"), facilities).unwrap();
    std::fs::write(dir.path().join("r.csv"), "id,lon,lat\nR1,9.6,45.6\n").unwrap();
    let d = Dataset::load(dir.path()).unwrap();
    (dir, d)
}

#[test]
fn draws_follow_retire_p_and_never_pick_a_gp_without_one() {
    let (_dir, ds) = dataset(
        "id,kind,lon,lat,retire_p\nG1,gp,9.6,45.6,0.6\nG2,gp,9.7,45.6,0\nG3,gp,9.8,45.6,0.2\n\
         G4,gp,9.9,45.6,\nG5,gp,9.5,45.6,0.2\n",
    );
    let n = 20_000;
    let draws = random_draws(
        &ds,
        &RandomCease {
            count: 1,
            draws: n,
            seed: 7,
        },
    )
    .unwrap();
    let share = |id: &str| draws.iter().filter(|d| d[0] == id).count() as f64 / n as f64;
    // One GP per draw: chosen with probability p / Σp = 0.6, 0.2, 0.2.
    assert!((share("G1") - 0.6).abs() < 0.02, "{}", share("G1"));
    assert!((share("G3") - 0.2).abs() < 0.02);
    assert!((share("G5") - 0.2).abs() < 0.02);
    assert_eq!(share("G2") + share("G4"), 0.0);
    // Three distinct GPs per draw: only three have p > 0.
    let draws = random_draws(
        &ds,
        &RandomCease {
            count: 3,
            draws: 5,
            seed: 1,
        },
    )
    .unwrap();
    assert!(draws.iter().all(|d| d == &["G1", "G3", "G5"]));
    let e = random_draws(
        &ds,
        &RandomCease {
            count: 4,
            draws: 5,
            seed: 1,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("retire_p > 0"), "{e}");
}

#[test]
fn without_retire_p_draws_are_uniform_and_a_bad_probability_is_refused() {
    let (_dir, ds) = dataset(
        "id,kind,lon,lat\nG1,gp,9.6,45.6\nG2,gp,9.7,45.6\nG3,gp,9.8,45.6\nG4,gp,9.9,45.6\n",
    );
    let n = 20_000;
    let draws = random_draws(
        &ds,
        &RandomCease {
            count: 2,
            draws: n,
            seed: 3,
        },
    )
    .unwrap();
    for id in ["G1", "G2", "G3", "G4"] {
        let share = draws.iter().filter(|d| d.iter().any(|g| g == id)).count() as f64 / n as f64;
        assert!((share - 0.5).abs() < 0.02, "{id}: {share}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dataset.toml"),
        "name = \"d\"\n[facilities]\npath = \"f.csv\"\n[residents]\npath = \"r.csv\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("f.csv"),
        "id,kind,lon,lat,retire_p\nG1,gp,9.6,45.6,1.5\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("r.csv"), "id,lon,lat\nR1,9.6,45.6\n").unwrap();
    let e = Dataset::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("f.csv:2") && e.contains("retire_p") && e.contains("probability"),
        "{e}"
    );
}
