//! Criterion benchmarks of catchment drawing on the Bergamo fixture
//! (597 GPs, 21 Case di Comunità, 92k residents, 243 municipalities).
//!
//! `cargo bench --bench catchments`. Set `BACINO_BENCH_DATASET=DIR` to bench
//! another dataset directory instead (e.g. one whose areas are the full
//! ISTAT province boundaries).
#![allow(missing_docs)]

use std::path::PathBuf;

use bacino_batch::Parallel;
use bacino_core::{
    catchments, CatchmentMethod, CatchmentOptions, Dataset, FacilityKind, Overrides, Sequential,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn dataset_dir() -> PathBuf {
    std::env::var_os("BACINO_BENCH_DATASET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/bergamo"))
}

fn bench_catchments(c: &mut Criterion) {
    let dir = dataset_dir();
    let dataset = Dataset::load_with(&dir, &Parallel).expect("dataset loads");
    // The study area is built once per dataset and cached: time it apart.
    c.bench_function(
        "catchments/voronoi gp, first call (study area union)",
        |b| {
            b.iter_batched(
                || Dataset::load_with(&dir, &Parallel).expect("dataset loads"),
                |d| {
                    let options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Voronoi);
                    catchments(&d, &options, Overrides::default(), &Parallel).expect("catchments")
                },
                BatchSize::PerIteration,
            )
        },
    );
    for (kind, method) in [
        (FacilityKind::Gp, CatchmentMethod::Voronoi),
        (FacilityKind::Gp, CatchmentMethod::Assigned),
        (FacilityKind::Gp, CatchmentMethod::Bands),
        (FacilityKind::Cdc, CatchmentMethod::Voronoi),
    ] {
        let options = CatchmentOptions::new(kind, method);
        c.bench_function(&format!("catchments/{method} {kind} (parallel)"), |b| {
            b.iter(|| catchments(&dataset, &options, Overrides::default(), &Parallel))
        });
    }
    let options = CatchmentOptions::new(FacilityKind::Gp, CatchmentMethod::Voronoi);
    c.bench_function("catchments/voronoi gp (sequential)", |b| {
        b.iter(|| catchments(&dataset, &options, Overrides::default(), &Sequential))
    });
    let result = catchments(&dataset, &options, Overrides::default(), &Parallel).expect("ok");
    c.bench_function("catchments/voronoi gp to GeoJSON text", |b| {
        b.iter(|| result.to_geojson_string())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_catchments
}
criterion_main!(benches);
