//! Criterion benchmarks of siting: the San Francisco instance of spopt's
//! tests (205 tracts × 16 stores) for each model, and the bundled dataset
//! (areas, and the residents without a GP on full and truncated rows).
//!
//! `cargo bench --bench siting`; spopt + CBC side by side is
//! `benches/compare/siting_spopt.py`.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;

use bacino_batch::Parallel;
use bacino_core::Dataset;
use bacino_siting::{
    lscp, mclp, pcenter, pmedian, siting_report, CandidatesParam, Instance, LscpParams, MclpParams,
    PcenterParams, PmedianParams, SitingParams,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Tracts × stores, network metres, POP2000 weights.
fn san_francisco() -> Instance {
    let path = root()
        .join("fixtures/spopt-sf/SF_network_distance_candidateStore_16_censusTract_205_new.csv");
    let mut rd = csv::Reader::from_path(path).expect("SF distances");
    let mut cost: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut pop: BTreeMap<String, f64> = BTreeMap::new();
    for r in rd.records() {
        let r = r.expect("record");
        cost.entry(r[2].to_string())
            .or_default()
            .insert(r[1].to_string(), r[0].parse().expect("distance"));
        pop.insert(r[2].to_string(), r[3].parse().expect("demand"));
    }
    let rows: Vec<Vec<f64>> = cost
        .values()
        .map(|r| r.values().copied().collect())
        .collect();
    Instance::dense(pop.values().copied().collect(), &rows)
}

fn bench_san_francisco(c: &mut Criterion) {
    let inst = san_francisco();
    let mut g = c.benchmark_group("San Francisco 205 × 16, to a proof");
    g.sample_size(20);
    g.bench_function("pmedian p=4", |b| {
        b.iter(|| black_box(pmedian(&inst, &PmedianParams::new(4)).unwrap().objective))
    });
    g.bench_function("mclp p=4 5 km", |b| {
        b.iter(|| black_box(mclp(&inst, &MclpParams::new(4, 5000.0)).unwrap().objective))
    });
    g.bench_function("pcenter p=4", |b| {
        b.iter(|| black_box(pcenter(&inst, &PcenterParams::new(4)).unwrap().objective))
    });
    g.bench_function("lscp 8 km", |b| {
        b.iter(|| black_box(lscp(&inst, &LscpParams::new(8000.0)).unwrap().objective))
    });
    g.finish();
}

/// The residents without a GP, at their points, and the GPs as candidates.
fn no_gp(p: &mut SitingParams) {
    p.candidates = Some(CandidatesParam::Named("kind:gp".into()));
    p.demand = Some("residents".into());
    p.demand_group = Some("no_gp".into());
}

fn bench_bundled(c: &mut Criterion) {
    let d = Dataset::load(root().join("fixtures/bergamo")).expect("bundled dataset");
    let run = |model: &str, p: Option<usize>, extra: fn(&mut SitingParams)| {
        let mut prm = SitingParams {
            model: Some(model.into()),
            candidates: Some(CandidatesParam::Named("areas".into())),
            p,
            demand: Some("areas".into()),
            ..Default::default()
        };
        extra(&mut prm);
        let q = prm.to_query(10.0, false).expect("query");
        siting_report(&d, &q, &Parallel).expect("solved").objective
    };
    let mut g = c.benchmark_group("bundled dataset, whole report");
    g.sample_size(10);
    g.bench_function("pmedian areas p=21", |b| {
        b.iter(|| black_box(run("pmedian", Some(21), |_| {})))
    });
    g.bench_function("mclp areas p=21 5 km", |b| {
        b.iter(|| black_box(run("mclp", Some(21), |p| p.service_distance = Some(5000.0))))
    });
    g.bench_function("pcenter areas p=21", |b| {
        b.iter(|| black_box(run("pcenter", Some(21), |_| {})))
    });
    g.bench_function("pmedian no_gp residents × 597 GPs p=5, full rows", |b| {
        b.iter(|| {
            black_box(run("pmedian", Some(5), |p| {
                no_gp(p);
                p.max_pairs = Some(u64::MAX);
            }))
        })
    });
    g.bench_function(
        "pmedian no_gp residents × 597 GPs p=5, truncated rows",
        |b| {
            b.iter(|| {
                black_box(run("pmedian", Some(5), |p| {
                    no_gp(p);
                    p.max_pairs = Some(1);
                }))
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench_san_francisco, bench_bundled);
criterion_main!(benches);
