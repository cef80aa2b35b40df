//! The evaluator's hot path: one chunk of a compiled model, and a whole run, for the
//! benchmark models (copies of `shared/bench/`). Per-node cost is the chunk time divided by
//! `CHUNK_SIZE` × nodes.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scenarioforge_core::dist::{Dist, DistKind};
use scenarioforge_core::eval::{CHUNK_SIZE, Columns};
use scenarioforge_core::model::Sampling;
use scenarioforge_core::rng::Stream;
use scenarioforge_core::stats::sensitivity::Ranked;
use scenarioforge_core::stats::{Moments, Sketch};
use scenarioforge_core::{Limits, ModelSpec, RunSettings, Settings, Unobserved, compile, run};

const MODELS: [(&str, &str); 2] = [
    ("wide50", include_str!("models/wide50.json")),
    ("startup", include_str!("models/startup.json")),
];

fn chunk(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunk");
    for (name, json) in MODELS {
        let model = compile(&ModelSpec::from_json(json).unwrap()).unwrap();
        let mut cols = Columns::try_new(model.program.slots).unwrap();
        // Throughput in node evaluations: criterion then reports ns per node evaluation.
        group.throughput(Throughput::Elements(
            (CHUNK_SIZE * model.nodes.len()) as u64,
        ));
        // Chunks from 16 on, where fixed draws go through their inversion tables. The same
        // chunk with the kernels' baseline copies (`simd`) shows what AVX-512 adds.
        for wide in [true, false] {
            scenarioforge_core::simd::use_wide(wide);
            let label = if wide {
                name.to_string()
            } else {
                format!("{name} baseline")
            };
            let mut k = 16;
            group.bench_function(label, |b| {
                b.iter(|| {
                    k += 1;
                    model.program.run_chunk(
                        &mut cols,
                        CHUNK_SIZE,
                        42,
                        black_box(k),
                        Sampling::Random,
                        &|| false,
                    );
                });
            });
        }
        scenarioforge_core::simd::use_wide(true);
    }
    group.finish();
}

/// One chunk of draws from each distribution of the benchmark models: ns per draw.
fn draws(c: &mut Criterion) {
    let mut group = c.benchmark_group("draw");
    group.throughput(Throughput::Elements(CHUNK_SIZE as u64));
    let cases: [(&str, DistKind, &[f64]); 6] = [
        ("normal(10, 2)", DistKind::Normal, &[10.0, 2.0]),
        ("lognormal(2, 0.3)", DistKind::LogNormal, &[2.0, 0.3]),
        ("uniform(1, 3)", DistKind::Uniform, &[1.0, 3.0]),
        (
            "triangular(0, 5, 10)",
            DistKind::Triangular,
            &[0.0, 5.0, 10.0],
        ),
        ("beta(2, 5)", DistKind::Beta, &[2.0, 5.0]),
        ("beta(10, 30)", DistKind::Beta, &[10.0, 30.0]),
    ];
    let mut out = vec![0.0; CHUNK_SIZE];
    for (name, kind, params) in cases {
        let dist = Dist::new(kind, params).unwrap();
        let mut k = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                k += 1;
                dist.fill(&mut Stream::new(42, 0, black_box(k)), &mut out);
            });
        });
        if let Some(table) = dist.inverse_table() {
            group.bench_function(format!("{name} by table"), |b| {
                b.iter(|| {
                    k += 1;
                    dist.fill_from(&table, &mut Stream::new(42, 0, black_box(k)), &mut out);
                });
            });
        }
    }
    group.finish();
}

/// What the run does with each output column of a chunk: moments and the quantile sketch,
/// in ns per value, on a chunk of lognormal values (the shape of a typical money output).
fn summarise(c: &mut Criterion) {
    let mut group = c.benchmark_group("summarise");
    group.throughput(Throughput::Elements(CHUNK_SIZE as u64));
    let mut values = vec![0.0; CHUNK_SIZE];
    Dist::new(DistKind::LogNormal, &[10.0, 0.5])
        .unwrap()
        .fill(&mut Stream::new(42, 0, 0), &mut values);
    group.bench_function("moments", |b| {
        b.iter(|| Moments::from_slice(black_box(&values)));
    });
    let mut sketch = Sketch::new();
    group.bench_function("sketch", |b| {
        b.iter(|| sketch.insert_slice(black_box(&values)));
    });
    // What a run does: the chunk's moments have found the extremes already.
    let m = Moments::from_slice(&values);
    let mut sketch = Sketch::new();
    group.bench_function("sketch with extremes", |b| {
        b.iter(|| sketch.insert_slice_with_extremes(black_box(&values), m.min(), m.max()));
    });
    let mut column = vec![0.0; 20_000];
    Dist::new(DistKind::LogNormal, &[10.0, 0.5])
        .unwrap()
        .fill(&mut Stream::new(42, 1, 0), &mut column);
    group.throughput(Throughput::Elements(column.len() as u64));
    group.bench_function("rank 20k", |b| {
        b.iter(|| Ranked::new(black_box(&column)));
    });
    group.finish();
}

fn whole_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("run_100k_1_thread");
    group.sample_size(10);
    for (name, json) in MODELS {
        let model = compile(&ModelSpec::from_json(json).unwrap()).unwrap();
        let settings = Settings {
            iterations: Some(100_000),
            seed: Some(42),
            ..Settings::default()
        };
        let settings = RunSettings::validate(&settings, &Limits::up_to(100_000)).unwrap();
        group.bench_function(name, |b| b.iter(|| run(&model, &settings, 1, &Unobserved)));
    }
    group.finish();
}

criterion_group!(benches, draws, summarise, chunk, whole_run);
criterion_main!(benches);
