//! Criterion benchmarks of the road network on the bundled Monaco dataset
//! (real OpenStreetMap extract, © OpenStreetMap contributors, ODbL; 23
//! pharmacies, 28 synthetic GPs and 37,308 synthetic residents in real
//! buildings).
//!
//! `cargo bench --bench network`. Set `BACINO_BENCH_DATASET=DIR` to bench
//! another dataset with a `[network]` (e.g. the synthetic province of
//! `benches/compare/network/synth_province.py`).
#![allow(missing_docs)]

use std::path::PathBuf;

use bacino_batch::Parallel;
use bacino_core::network::{parse_pbf, ExtractId, ProfileName, RoadNetwork, Target};
use bacino_core::{
    distance_report, isochrones, scenario, Dataset, DistanceQuery, FacilityKind, GroupBy,
    IsochroneOptions, MetricName, ScenarioQuery, Sequential, Target as To,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn dataset_dir() -> PathBuf {
    std::env::var_os("BACINO_BENCH_DATASET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/monaco"))
}

fn bench_network(c: &mut Criterion) {
    let dir = dataset_dir();
    let mut dataset = Dataset::load_with(&dir, &Parallel).expect("dataset loads");
    dataset.set_cache_dir(None);
    let specs = dataset.network_specs().expect("a [network]").to_vec();
    let bytes = std::fs::read(&specs[0].path).expect("extract");
    let id = ExtractId {
        path: specs[0].path.display().to_string(),
        sha256: String::new(),
    };
    c.bench_function("network/parse extract", |b| {
        b.iter(|| parse_pbf(&bytes).expect("parses"))
    });
    let raw = parse_pbf(&bytes).expect("parses");
    for spec in &specs {
        c.bench_function(&format!("network/build {} graph", spec.profile.name), |b| {
            b.iter(|| RoadNetwork::from_raw(&id, &raw, spec).expect("builds"))
        });
    }
    dataset
        .prepare_networks(&ProfileName::ALL, &Parallel)
        .expect("networks");
    let kind = FacilityKind::Pharmacy;
    for metric in [MetricName::Car, MetricName::Foot] {
        let prepared = dataset
            .prepared_network(metric.profile().unwrap())
            .expect("prepared");
        let net = prepared.network();
        let locs: Vec<[f64; 2]> = dataset
            .residents()
            .locations()
            .iter()
            .map(|p| [p.lon, p.lat])
            .collect();
        c.bench_function(
            &format!("network/snap every resident ({metric}, 1 thread)"),
            |b| b.iter(|| locs.iter().filter(|p| net.snap(**p).is_some()).count()),
        );
        let targets: Vec<Target> = dataset
            .facilities()
            .active_of_kind(kind)
            .into_iter()
            .filter_map(|f| {
                Some(Target {
                    label: f,
                    snap: prepared.facility_snaps()[f as usize]?,
                })
            })
            .collect();
        c.bench_function(
            &format!("network/nearest pharmacy for every resident ({metric})"),
            |b| b.iter(|| net.nearest(&targets, prepared.resident_snaps())),
        );
        let query = DistanceQuery {
            target: To::Nearest(kind),
            group_by: GroupBy::All,
            min_group_size: 10.0,
            metric,
            cdf_steps: 0,
        };
        c.bench_function(
            &format!("network/stats report nearest pharmacy ({metric})"),
            |b| b.iter(|| distance_report(&dataset, &query, &Sequential).expect("report")),
        );
        c.bench_function(
            &format!("network/contraction hierarchy build ({metric})"),
            |b| b.iter(|| bacino_core::network::ContractionHierarchy::build(net.graph())),
        );
        let origins: Vec<_> = prepared
            .resident_snaps()
            .iter()
            .flatten()
            .take(1000)
            .copied()
            .collect();
        net.hierarchy();
        c.bench_function(
            &format!("network/matrix 1000 residents x pharmacies by CH buckets ({metric})"),
            |b| b.iter(|| net.matrix(&origins, &targets)),
        );
        let options = IsochroneOptions::new(kind);
        let m = dataset.metric(metric, &Sequential).expect("metric");
        c.bench_function(
            &format!("network/isochrones 5,10,15 min of every pharmacy ({metric}, 2 threads)"),
            |b| b.iter(|| isochrones(&dataset, &options, m, &Parallel).expect("isochrones")),
        );
        // A cessation minimising travel time: the two largest lists cease
        // (the fixture's MGP02, MGP03 on Monaco).
        let facilities = dataset.facilities();
        let mut gps = facilities.active_of_kind(FacilityKind::Gp);
        if gps.len() > 2 {
            gps.sort_by(|&a, &b| {
                dataset
                    .list_size(b)
                    .total_cmp(&dataset.list_size(a))
                    .then(facilities.get(a).id.cmp(&facilities.get(b).id))
            });
            let query = ScenarioQuery {
                cease: gps[..2]
                    .iter()
                    .map(|&g| facilities.get(g).id.0.clone())
                    .collect(),
                metric,
                ..ScenarioQuery::default()
            };
            c.bench_function(
                &format!("network/scenario: 2 largest GP lists cease ({metric}, 2 threads)"),
                |b| b.iter(|| scenario(&dataset, &query, &Parallel).expect("scenario")),
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_network
}
criterion_main!(benches);
