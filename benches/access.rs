//! Criterion benchmarks of accessibility and coverage on the bundled
//! dataset: pairs in reach (the grid index against the R-tree), the
//! resident-level kernel, 2SFCA and the exact coverage solve.
//!
//! `cargo bench --bench access`; PySAL and HiGHS side by side are
//! `benches/compare/access_pysal.py` and `benches/compare/coverage_lp.py`.
#![allow(missing_docs)]

use std::path::Path;

use bacino_access::{
    access_report, coverage_report, AccessQuery, CoverageQuery, Method, Mode, SelectionNorm, Supply,
};
use bacino_batch::Parallel;
use bacino_core::{
    Dataset, FacilityIndex, FacilityKind, GroupBy, Metric, MetricName, ReachIndex, Sequential,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn dataset() -> Dataset {
    Dataset::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo"))
        .expect("bundled dataset")
}

fn bench_pairs(c: &mut Criterion) {
    let d = dataset();
    let gps = d.facilities().active_of_kind(FacilityKind::Gp);
    let points = &d.residents().locations()[..20_000];
    let mut g = c.benchmark_group("pairs within 10 km, 20k residents");
    g.sample_size(10);
    g.bench_function("ReachIndex (grid)", |b| {
        b.iter(|| {
            let index = ReachIndex::new(d.facilities(), &gps, 10_000.0, points);
            let mut n = 0usize;
            for &p in points {
                index.for_each_within(p, |_, _| n += 1);
            }
            black_box(n)
        })
    });
    g.bench_function("FacilityIndex (R-tree, LocalFrame)", |b| {
        let index = FacilityIndex::new(d.facilities(), &gps);
        b.iter(|| {
            let mut n = 0usize;
            for &p in points {
                index.for_each_within(p, 10_000.0, |_, _| n += 1);
            }
            black_box(n)
        })
    });
    g.finish();
}

fn bench_reports(c: &mut Criterion) {
    let d = dataset();
    let gps = d.facilities().active_of_kind(FacilityKind::Gp);
    let mut g = c.benchmark_group("bundled dataset, 10 km");
    g.sample_size(10);
    g.bench_function("cost kernel", |b| {
        b.iter(|| {
            bacino_access::report::cost_kernel(&d, &gps, Metric::Geodesic, 10_000.0, &Parallel)
                .nnz()
        })
    });
    let query = AccessQuery {
        kind: FacilityKind::Gp,
        method: Method::TwoStep,
        decay: None,
        max_cost: 10_000.0,
        metric: MetricName::Geodesic,
        supply: Supply::Capacity,
        selection: SelectionNorm::InReach,
        tau: None,
        rho: None,
        group_by: GroupBy::Municipality,
        min_group_size: 10.0,
    };
    g.bench_function("2SFCA report by municipality", |b| {
        b.iter(|| access_report(&d, &query, &Parallel).unwrap().mean)
    });
    let cov = CoverageQuery {
        kind: FacilityKind::Gp,
        max_cost: 10_000.0,
        metric: MetricName::Geodesic,
        supply: Supply::Capacity,
        mode: Mode::Optimal,
        group_by: GroupBy::All,
        min_group_size: 10.0,
    };
    g.bench_function("coverage, optimal", |b| {
        b.iter(|| coverage_report(&d, &cov, &Sequential).unwrap().covered)
    });
    g.finish();
}

criterion_group!(benches, bench_pairs, bench_reports);
criterion_main!(benches);
