//! Criterion benchmarks of the core engine: index build, exact nearest
//! queries, weighted statistics, loading, a whole distances report and an
//! exact GP-cessation reassignment.
//!
//! `cargo bench --bench core`; the side-by-side comparison with the Python
//! peers is `benches/compare/run.sh`.
#![allow(missing_docs)]

use std::path::Path;

use bacino_batch::Parallel;
use bacino_core::{
    distance_report, geodesic_distance_m, reassign, reassign_cached, CessationCache, Dataset,
    DistanceQuery, Facilities, Facility, FacilityIndex, FacilityKind, GroupBy, LocalFrame, LonLat,
    ScenarioQuery, Sequential, Summary, Target,
};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn gps(n: usize, rng: &mut ChaCha8Rng) -> Facilities {
    Facilities::new(
        (0..n)
            .map(|i| {
                let at = LonLat::new(rng.random_range(9.3..10.3), rng.random_range(45.4..46.2));
                Facility {
                    capacity: Some(1500),
                    ..Facility::new(format!("GP{i:04}"), FacilityKind::Gp, at)
                }
            })
            .collect(),
    )
    .expect("unique ids")
}

fn bench_index(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let facilities = gps(594, &mut rng);
    let points: Vec<LonLat> = (0..100_000)
        .map(|_| LonLat::new(rng.random_range(9.3..10.3), rng.random_range(45.4..46.2)))
        .collect();
    c.bench_function("index/build 594 GPs", |b| {
        b.iter(|| FacilityIndex::active(black_box(&facilities), FacilityKind::Gp))
    });
    let index = FacilityIndex::active(&facilities, FacilityKind::Gp);
    c.bench_function("index/nearest x100k (exact geodesic)", |b| {
        b.iter(|| {
            points
                .iter()
                .map(|&p| index.nearest(p).map_or(0.0, |h| h.distance_m))
                .sum::<f64>()
        })
    });
    // One resident against a facility 0–20 km away: the short-line kernel
    // (the resident's frame built per pair, the facility's once) against
    // Karney's inverse.
    let pairs: Vec<(LonLat, LocalFrame)> = points
        .iter()
        .zip(points.iter().skip(1))
        .map(|(&p, &q)| {
            let q = LonLat::new(p.lon + (q.lon - p.lon) * 0.2, p.lat + (q.lat - p.lat) * 0.2);
            (p, LocalFrame::new(q))
        })
        .collect();
    c.bench_function("geodesic/short-line kernel x100k pairs", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(p, fq)| LocalFrame::new(*p).distance_to(fq))
                .sum::<f64>()
        })
    });
    c.bench_function("geodesic/Karney inverse x100k pairs", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(p, fq)| geodesic_distance_m(*p, fq.point()))
                .sum::<f64>()
        })
    });
    c.bench_function("index/k_nearest k=8 x10k", |b| {
        b.iter(|| {
            points[..10_000]
                .iter()
                .map(|&p| index.k_nearest(p, 8).len())
                .sum::<usize>()
        })
    });
}

fn bench_stats(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pairs: Vec<(f64, f64)> = (0..1_000_000)
        .map(|_| (rng.random_range(0.0..20_000.0), 1.0))
        .collect();
    c.bench_function("stats/summary of 1M weighted distances", |b| {
        b.iter_batched(
            || pairs.clone(),
            |mut p| Summary::from_weighted(&mut p),
            BatchSize::LargeInput,
        )
    });
}

fn bench_dataset(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo");
    c.bench_function("load/fixtures/bergamo (92k residents, parallel)", |b| {
        b.iter(|| Dataset::load_with(&dir, &Parallel).expect("fixture loads"))
    });
    let dataset = Dataset::load(&dir).expect("fixture loads");
    let query = DistanceQuery {
        target: Target::Nearest(FacilityKind::Gp),
        group_by: GroupBy::Municipality,
        min_group_size: 10.0,
        metric: bacino_core::MetricName::Geodesic,
        cdf_steps: 0,
    };
    c.bench_function("report/nearest gp by municipality (92k, sequential)", |b| {
        b.iter(|| distance_report(&dataset, &query, &Sequential).expect("report"))
    });
}

/// Exact reassignment on the fixture: twelve GPs spread over the province,
/// and three neighbouring GPs in Bergamo city where spare places are short
/// (long augmenting paths). `BACINO_BENCH_DATASET=/tmp/bergamo-full` runs
/// the same scenarios at full scale.
fn bench_reassign(c: &mut Criterion) {
    let dir = std::env::var_os("BACINO_BENCH_DATASET")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo"));
    let dataset = Dataset::load_with(&dir, &Parallel).expect("dataset loads");
    let spread: Vec<String> = (0..12).map(|i| format!("GP{:04}", 1 + 50 * i)).collect();
    let city: Vec<String> = ["GP0055", "GP0058", "GP0059"].map(String::from).to_vec();
    for (label, cease) in [("12 spread GPs", spread), ("3 city GPs", city)] {
        let query = ScenarioQuery {
            cease,
            ..ScenarioQuery::default()
        };
        let solved =
            reassign(&dataset, &query, bacino_core::Metric::Geodesic, &Parallel).expect("scenario");
        let patients: u64 = solved.rows.iter().map(|r| r.people as u64).sum();
        c.bench_function(
            &format!("reassign/{label} ({patients} patients, parallel distances)"),
            |b| {
                b.iter(|| {
                    reassign(&dataset, &query, bacino_core::Metric::Geodesic, &Parallel)
                        .expect("scenario")
                })
            },
        );
    }
}

/// A Monte Carlo wave as `bacino batch` runs one: draws of 12 random
/// active GPs solved one after another on one warm [`CessationCache`] (the
/// batch runs draws in parallel; this times one core's share).
fn bench_wave(c: &mut Criterion) {
    let dir = std::env::var_os("BACINO_BENCH_DATASET")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo"));
    let dataset = Dataset::load_with(&dir, &Parallel).expect("dataset loads");
    let active: Vec<String> = dataset
        .facilities()
        .active_of_kind(FacilityKind::Gp)
        .into_iter()
        .map(|i| dataset.facilities().get(i).id.0.clone())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let draws: Vec<ScenarioQuery> = (0..10)
        .map(|_| {
            let mut cease: Vec<String> = Vec::new();
            while cease.len() < 12 {
                let g = &active[rng.random_range(0..active.len())];
                if !cease.contains(g) {
                    cease.push(g.clone());
                }
            }
            ScenarioQuery {
                cease,
                ..ScenarioQuery::default()
            }
        })
        .collect();
    let cache = CessationCache::new(&dataset, ScenarioQuery::default().max_distance_m);
    let solve_all = || {
        for q in &draws {
            let solved = reassign_cached(
                &dataset,
                q,
                bacino_core::Metric::Geodesic,
                &cache,
                &Sequential,
            )
            .expect("draw");
            assert!(solved.optimality.proven);
        }
    };
    // Fill the cache first: the steady state of a long wave.
    solve_all();
    c.bench_function(
        "reassign/10 draws of 12 random GPs, warm cache, one core",
        |b| b.iter(solve_all),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_index, bench_stats, bench_dataset, bench_reassign, bench_wave
}
criterion_main!(benches);
