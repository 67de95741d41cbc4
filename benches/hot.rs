//! Criterion benches of the hot Rust parts: parsing inbox values, fitting the two models and
//! scoring rows with a fitted model, and the draw's SHA-256 numbers.
//!
//! `cargo bench --locked --bench hot` (add `-- --quick` for a short run). Figures go to
//! BENCHMARKS.md.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use firecredit::contract::uscc::normalize;
use firecredit::contract::values::{parse_date, parse_timestamp};
use firecredit_models::artifact::{Artifact, Model, ModelKind, FORMAT};
use firecredit_models::calibration::Platt;
use firecredit_models::dataset::Dataset;
use firecredit_models::forest::ForestParams;
use firecredit_models::logistic::LogisticParams;
use firecredit_models::ndarray::{Array1, Array2};

/// A planted logistic problem: `rows` × `k` features, about 3 % positives.
fn planted(rows: usize, k: usize) -> Dataset {
    let mut state = 7u64;
    let mut u = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut x = Array2::zeros((rows, k));
    let mut y = Array1::from_elem(rows, false);
    for i in 0..rows {
        let mut logit = -4.0;
        for j in 0..k {
            let v = u() * 3.0;
            x[[i, j]] = v;
            logit += if j % 3 == 0 { 0.4 * v } else { 0.0 };
        }
        y[i] = u() < 1.0 / (1.0 + (-logit).exp());
    }
    Dataset {
        names: (0..k).map(|j| format!("f_{j}")).collect(),
        x,
        y: Some(y),
    }
}

fn parsing(c: &mut Criterion) {
    let dates: Vec<String> = (0..10_000)
        .map(|i| format!("20{:02}-{:02}-{:02}", 20 + i % 7, 1 + i % 12, 1 + i % 28))
        .collect();
    let stamps: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                "2026-0{}-1{}T1{}:2{}:3{}+08:00",
                1 + i % 9,
                i % 10,
                i % 10,
                i % 10,
                i % 10
            )
        })
        .collect();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("date", |b| {
        b.iter(|| {
            dates
                .iter()
                .filter_map(|d| parse_date(black_box(d)))
                .count()
        })
    });
    g.bench_function("timestamp", |b| {
        b.iter(|| {
            stamps
                .iter()
                .filter_map(|t| parse_timestamp(black_box(t)))
                .count()
        })
    });
    g.bench_function("uscc", |b| {
        b.iter(|| {
            (0..10_000)
                .filter_map(|_| normalize(black_box("91440101MA5CXQ1X8U")))
                .count()
        })
    });
    g.finish();
}

fn fitting(c: &mut Criterion) {
    let data = planted(50_000, 20);
    let mut g = c.benchmark_group("fit 50k x 20");
    g.sample_size(10);
    g.bench_function("logistic", |b| {
        let p = LogisticParams::default().check().unwrap();
        b.iter(|| p.fit(black_box(&data)).unwrap())
    });
    g.bench_function("forest", |b| {
        let p = ForestParams::default().check().unwrap();
        b.iter(|| p.fit(black_box(&data)).unwrap())
    });
    g.finish();
}

fn scoring(c: &mut Criterion) {
    let data = planted(50_000, 20);
    let logistic = LogisticParams::default()
        .check()
        .unwrap()
        .fit(&data)
        .unwrap();
    let forest = ForestParams::default().check().unwrap().fit(&data).unwrap();
    let rows: Vec<Vec<f64>> = data.x.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut g = c.benchmark_group("score 50k rows");
    g.throughput(Throughput::Elements(rows.len() as u64));
    for (kind, model) in [
        (ModelKind::Logistic, Model::Logistic(logistic)),
        (ModelKind::Forest, Model::Forest(forest)),
    ] {
        let name = kind.name();
        let artifact = Artifact {
            format: FORMAT.into(),
            version: "bench".into(),
            kind,
            model,
            calibration: Platt::IDENTITY,
            training_cutoff: "2025-06-30".into(),
            training_rows: rows.len(),
            data_sha256: String::new(),
            metrics: Default::default(),
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                rows.iter()
                    .map(|r| artifact.probability(black_box(r)))
                    .sum::<f64>()
            })
        });
    }
    g.bench_function("draw_u", |b| {
        b.iter(|| {
            (0..50_000)
                .map(|i| firecredit::engine::functions::draw_u(&format!("2026-06-30:U{i:07}")))
                .sum::<f64>()
        })
    });
    g.finish();
}

criterion_group!(benches, parsing, fitting, scoring);
criterion_main!(benches);
