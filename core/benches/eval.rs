//! The evaluator's hot path: one chunk of a compiled model, and a whole run, for the
//! benchmark models (copies of `shared/bench/`). Per-node cost is the chunk time divided by
//! `CHUNK_SIZE` × nodes.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scenarioforge_core::eval::{CHUNK_SIZE, Columns};
use scenarioforge_core::model::Sampling;
use scenarioforge_core::{ModelSpec, RunSettings, Settings, Unobserved, compile, run};

const MODELS: [(&str, &str); 2] = [
    ("wide50", include_str!("models/wide50.json")),
    ("startup", include_str!("models/startup.json")),
];

fn chunk(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunk");
    for (name, json) in MODELS {
        let model = compile(&ModelSpec::from_json(json).unwrap()).unwrap();
        let mut cols = Columns::new(model.program.slots);
        // Throughput in node evaluations: criterion then reports ns per node evaluation.
        group.throughput(Throughput::Elements(
            (CHUNK_SIZE * model.nodes.len()) as u64,
        ));
        let mut k = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                k += 1;
                model
                    .program
                    .run_chunk(&mut cols, CHUNK_SIZE, 42, black_box(k), Sampling::Random);
            });
        });
    }
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
        let settings = RunSettings::validate(&settings, 100_000).unwrap();
        group.bench_function(name, |b| b.iter(|| run(&model, &settings, 1, &Unobserved)));
    }
    group.finish();
}

criterion_group!(benches, chunk, whole_run);
criterion_main!(benches);
