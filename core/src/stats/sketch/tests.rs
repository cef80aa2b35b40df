use super::*;
use crate::stats::bins::{FineBins, Histogram};

#[test]
fn known_extremes_give_the_same_sketch() {
    let mut rng = Stream::new(4, 0, 0);
    let plain: Vec<f64> = (0..1000).map(|_| rng.next_f64() * 10.0 - 3.0).collect();
    let mut cases = vec![plain.clone(), Vec::new()];
    // Zeros and a subnormal in the first, a middle and the last batch of 256.
    for at in [0, 300, 999] {
        for odd in [-0.0, 0.0, -1e-310] {
            let mut values = plain.clone();
            values[at] = odd;
            cases.push(values);
        }
    }
    cases.push(vec![-0.0, -0.0]);
    for values in cases {
        let m = crate::stats::Moments::from_slice(&values);
        let mut known = Sketch::new();
        known.insert_slice_with_extremes(&values, m.min(), m.max());
        let mut found = Sketch::new();
        found.insert_slice(&values);
        assert!(known == found, "{:?}", &values[..3]);
    }
}

use crate::rng::Stream;
use crate::stats::testutil::{normals, uniforms};

/// numpy's default ('linear') quantile of sorted data.
fn exact_quantile(sorted: &[f64], q: f64) -> (f64, f64) {
    let rank = q * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let frac = rank - lo as f64;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    // The scale the error is measured against: |exact| when both neighbours have one
    // sign, and more than that when they straddle zero, where relative error means
    // nothing.
    let scale = (1.0 - frac) * a.abs() + frac * b.abs();
    (a + frac * (b - a), scale)
}

fn sketch_of(values: &[f64]) -> Sketch {
    let mut sketch = Sketch::new();
    sketch.insert_slice(values);
    sketch
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

const QUANTILES: [f64; 10] = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999];

fn distributions(n: usize) -> Vec<(&'static str, Vec<f64>)> {
    let z = normals(11, n);
    let z2 = normals(12, n);
    let u = uniforms(13, n);
    let mut pick = Stream::new(14, 0, 0);
    vec![
        ("lognormal(0,1)", z.iter().map(|&z| libm::exp(z)).collect()),
        (
            "0.5 N(-5,1) + 0.5 N(10,2)",
            z2.iter()
                .map(|&z| {
                    if pick.next_f64() < 0.5 {
                        -5.0 + z
                    } else {
                        10.0 + 2.0 * z
                    }
                })
                .collect(),
        ),
        ("uniform(0,1)", u.clone()),
        ("N(0,1)", z.clone()),
        (
            "uniform(-1000,-1)",
            u.iter().map(|&u| -1000.0 + 999.0 * u).collect(),
        ),
    ]
}

#[test]
fn quantiles_within_one_percent_of_exact() {
    for (name, values) in distributions(1_000_000) {
        let sketch = sketch_of(&values);
        let sorted = sorted(&values);
        assert_eq!(sketch.count(), values.len() as u64);
        let mut line = format!("{name:>26}:");
        for q in QUANTILES {
            let (exact, scale) = exact_quantile(&sorted, q);
            let got = sketch.quantile(q).unwrap_or(f64::NAN);
            let err = (got - exact).abs() / scale;
            line += &format!(" p{}={err:.5}", q * 100.0);
            assert!(err <= 0.01, "{name} q={q}: got {got}, exact {exact}");
            assert!(
                err <= RELATIVE_ACCURACY,
                "{name} q={q}: got {got}, exact {exact}"
            );
        }
        println!("{line}");
        assert_eq!(sketch.quantile(0.0), Some(sorted[0]));
        assert_eq!(sketch.quantile(1.0), sorted.last().copied());
    }
}

#[test]
fn every_representative_is_within_the_guarantee() {
    // Values sweeping several binades finely, including both ends of each binade.
    let mut x = 0.25f64;
    while x < 64.0 {
        for v in [x, -x, x.next_up(), x.next_down()] {
            let mut sketch = Sketch::new();
            sketch.insert(v);
            sketch.insert(v * 1e-3); // keeps min/max from clamping the answer to v
            sketch.insert(v * 1e3);
            let got = sketch.quantile(0.5).unwrap_or(f64::NAN);
            assert!(
                ((got - v) / v).abs() <= RELATIVE_ACCURACY,
                "{v}: representative {got}"
            );
        }
        x *= 1.0007;
    }
    // Extremes of the double range.
    for v in [f64::MIN_POSITIVE, f64::MAX, -f64::MAX, 1e-300, 1e300] {
        let table = mantissa_representatives();
        let bits = v.abs().to_bits();
        let rep = representative(table, bucket_index(bits));
        assert!(
            ((rep - v.abs()) / v.abs()).abs() <= RELATIVE_ACCURACY,
            "{v}: {rep}"
        );
    }
}

/// The display histogram from the sketch alone (no fine bins).
fn histogram(sketch: &Sketch, lo: f64, hi: f64, bins: usize) -> Histogram {
    FineBins::default().histogram(sketch, lo, hi, bins)
}

/// Every query's bits and the whole state, for comparing sketches.
fn fingerprint(sketch: &Sketch) -> Vec<u64> {
    let mut out = vec![sketch.count()];
    for q in QUANTILES.into_iter().chain([0.0, 0.333, 1.0]) {
        out.push(sketch.quantile(q).map_or(0, f64::to_bits));
    }
    for f in [0.01, 0.05, 0.5] {
        out.push(sketch.tail_mean_low(f).to_bits());
        out.push(sketch.tail_mean_high(f).to_bits());
    }
    let h = histogram(sketch, -3.0, 7.0, 50);
    out.extend(h.counts);
    out.extend([h.below, h.above]);
    out
}

/// Pieces of `values` with lengths drawn from 0..2 * mean_len.
fn random_pieces(values: &[f64], seed: u64, mean_len: usize) -> Vec<Sketch> {
    let mut lengths = Stream::new(seed, 0, 0);
    let mut pieces = Vec::new();
    let mut rest = values;
    while !rest.is_empty() {
        let len = (lengths.next_u32() as usize % (2 * mean_len)).min(rest.len());
        let (head, tail) = rest.split_at(len);
        pieces.push(sketch_of(head));
        rest = tail;
    }
    pieces
}

fn merge_all<'a>(pieces: impl Iterator<Item = &'a Sketch>) -> Sketch {
    let mut acc = Sketch::new();
    for piece in pieces {
        acc.merge(piece);
    }
    acc
}

fn merge_tree(pieces: &[Sketch]) -> Sketch {
    match pieces {
        [] => Sketch::new(),
        [one] => one.clone(),
        _ => {
            let (a, b) = pieces.split_at(pieces.len() / 2);
            let mut left = merge_tree(a);
            left.merge(&merge_tree(b));
            left
        }
    }
}

fn assert_order_invariant(values: &[f64], what: &str) {
    let whole = sketch_of(values);
    let reversed = {
        let mut s = Sketch::new();
        for &x in values.iter().rev() {
            s.insert(x);
        }
        s
    };
    let pieces = random_pieces(values, 21, 3000);
    let mut shuffled: Vec<&Sketch> = pieces.iter().collect();
    let mut rng = Stream::new(22, 0, 0);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.next_u32() as usize % (i + 1));
    }
    let candidates = [
        ("reversed insertion", reversed),
        ("pieces in order", merge_all(pieces.iter())),
        ("pieces reversed", merge_all(pieces.iter().rev())),
        ("pieces shuffled", merge_all(shuffled.into_iter())),
        ("pieces as a tree", merge_tree(&pieces)),
        ("other pieces", merge_tree(&random_pieces(values, 23, 100))),
    ];
    let want = fingerprint(&whole);
    for (how, sketch) in candidates {
        assert!(sketch == whole, "{what}: {how}: state differs");
        assert_eq!(fingerprint(&sketch), want, "{what}: {how}: answers differ");
    }
}

#[test]
fn merge_order_and_split_do_not_matter() {
    for (name, values) in distributions(200_000) {
        assert_order_invariant(&values, name);
    }
    let mut signed_zeros = normals(5, 10_000);
    for (i, x) in signed_zeros.iter_mut().enumerate().step_by(7) {
        *x = if i % 2 == 0 { 0.0 } else { -0.0 };
    }
    assert_order_invariant(&signed_zeros, "with signed zeros");
}

/// Magnitudes from 1e-200 to 1e200 need about 93,000 buckets, far past `MAX_BUCKETS`.
fn huge_range(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Stream::new(seed, 0, 0);
    (0..n)
        .map(|_| {
            let magnitude = libm::exp10(-200.0 + 400.0 * rng.next_f64());
            if rng.next_f64() < 0.3 {
                -magnitude
            } else {
                magnitude
            }
        })
        .collect()
}

#[test]
fn collapsing_keeps_merges_exact_and_memory_bounded() {
    let values = huge_range(31, 100_000);
    assert_order_invariant(&values, "huge range");
    let sketch = sketch_of(&values);
    assert_eq!(sketch.count(), 100_000);
    assert!(sketch.heap_bytes() <= 2 * 8 * MAX_BUCKETS);
    assert_eq!(sketch.stores[0].counts.len(), MAX_BUCKETS);

    // Only the smallest magnitudes lose accuracy: the upper quantiles are still within
    // the guarantee.
    let sorted = sorted(&values);
    // Positive magnitudes above about 1e181 are intact (19 decades below the top);
    // these quantiles are at about 1e189, 1e194 and 1e199.
    for q in [0.98, 0.99, 0.999] {
        let (exact, _) = exact_quantile(&sorted, q);
        let got = sketch.quantile(q).unwrap_or(f64::NAN);
        assert!(((got - exact) / exact).abs() <= RELATIVE_ACCURACY, "q={q}");
    }
    let h = histogram(&sketch, -1.0, 1.0, 10);
    assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 100_000);

    // A strictly descending stream grows the window downward one bucket at a time.
    let mut descending = Sketch::new();
    let mut x = 1e300;
    while x > 1e-300 {
        descending.insert(x);
        x *= 0.999;
    }
    assert!(descending.heap_bytes() <= 8 * MAX_BUCKETS);
    let mut ascending = Sketch::new();
    while x < 1e300 {
        x /= 0.999;
        ascending.insert(x);
    }
    assert_eq!(ascending.count(), descending.count());
}

#[test]
fn histogram_counts_add_up() {
    for (name, values) in distributions(100_000) {
        let sketch = sketch_of(&values);
        for (lo, hi, bins) in [
            (-1.0, 1.0, 20),
            (0.0, 10.0, 7),
            (-500.0, -100.0, 40),
            (2.0, 2.0, 10),
            (5.0, -5.0, 3),
            (0.0, 1.0, 0),
        ] {
            let h = histogram(&sketch, lo, hi, bins);
            assert_eq!(h.edges.len(), h.counts.len() + 1, "{name}");
            assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 100_000);
        }
    }
    // uniform(0,1) in ten bins: each holds about a tenth (bucket edges move values by
    // at most 0.39%, so only the bins' borders blur).
    let sketch = sketch_of(&uniforms(40, 100_000));
    let h = histogram(&sketch, 0.0, 1.0, 10);
    assert_eq!((h.below, h.above), (0, 0));
    assert_eq!(h.edges[10], 1.0);
    for &c in &h.counts {
        assert!((9_000..11_000).contains(&c), "{h:?}");
    }
}

#[test]
fn tail_means_match_exact_tails() {
    for (name, values) in distributions(200_000) {
        let sketch = sketch_of(&values);
        let sorted = sorted(&values);
        for frac in [0.01, 0.05, 0.25, 1.0] {
            let k = (frac * sorted.len() as f64) as usize;
            let low = sorted[..k].iter().sum::<f64>() / k as f64;
            let high = sorted[sorted.len() - k..].iter().sum::<f64>() / k as f64;
            let scale_low = sorted[..k].iter().map(|x| x.abs()).sum::<f64>() / k as f64;
            let scale_high = sorted[sorted.len() - k..]
                .iter()
                .map(|x| x.abs())
                .sum::<f64>()
                / k as f64;
            let got_low = sketch.tail_mean_low(frac);
            let got_high = sketch.tail_mean_high(frac);
            assert!(
                (got_low - low).abs() <= RELATIVE_ACCURACY * scale_low,
                "{name} low {frac}: {got_low} vs {low}"
            );
            assert!(
                (got_high - high).abs() <= RELATIVE_ACCURACY * scale_high,
                "{name} high {frac}: {got_high} vs {high}"
            );
        }
        assert_eq!(sketch.tail_mean_low(0.0), sorted[0]);
        assert_eq!(Some(sketch.tail_mean_high(0.0)), sorted.last().copied());
    }
}

#[test]
fn edge_cases_do_not_panic() {
    let empty = Sketch::new();
    assert_eq!(empty, Sketch::default());
    assert_eq!(empty.count(), 0);
    assert_eq!(empty.quantile(0.5), None);
    assert!(empty.tail_mean_low(0.05).is_nan());
    assert_eq!(empty.min(), None);
    let h = histogram(&empty, 0.0, 1.0, 4);
    assert_eq!((h.counts, h.below, h.above), (vec![0; 4], 0, 0));

    let mut s = Sketch::new();
    s.insert_slice(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN]);
    s.insert(f64::NAN);
    assert_eq!(s, Sketch::new());

    s.insert_slice(&[0.0, -0.0, 5e-324, -5e-324]);
    assert_eq!((s.count(), s.quantile(0.3)), (4, Some(0.0)));
    assert_eq!((s.min(), s.max()), (Some(0.0), Some(0.0)));

    let mut one = Sketch::new();
    one.insert(-42.0);
    for q in [0.0, 0.5, 1.0, -3.0, 7.0] {
        assert_eq!(one.quantile(q), Some(-42.0));
    }
    assert_eq!(one.quantile(f64::NAN), None);
    assert_eq!(one.tail_mean_high(0.5), -42.0);
    assert_eq!(one.tail_mean_low(f64::INFINITY), -42.0);
    assert_eq!(one.tail_mean_low(f64::NAN), -42.0);
    for (lo, hi) in [(f64::NAN, 1.0), (0.0, f64::INFINITY), (f64::NAN, f64::NAN)] {
        let h = histogram(&one, lo, hi, 3);
        assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 1);
    }
    let h = histogram(&one, -42.0, -42.0, 5);
    assert_eq!((h.edges, h.counts), (vec![-42.0, -42.0], vec![1]));

    let mut extremes = Sketch::new();
    extremes.insert_slice(&[f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 1.0]);
    assert_eq!(extremes.quantile(1.0), Some(f64::MAX));
    assert_eq!(extremes.quantile(0.0), Some(-f64::MAX));
    assert!(extremes.quantile(0.5).is_some_and(f64::is_finite));
}

#[test]
fn value_stability() {
    // Pins the bucket mapping and representatives: a change here changes every
    // reported quantile, which saved results would then disagree with.
    let sketch = sketch_of(&normals(77, 10_000));
    let got = [0.05, 0.5, 0.95].map(|q| sketch.quantile(q).map(f64::to_bits));
    let want = [
        -1.644521971496437,
        -0.005432085968253255,
        1.6757721445221445,
    ];
    let shown = got.map(|b| b.map(f64::from_bits));
    assert_eq!(got, want.map(|v| Some(f64::to_bits(v))), "got {shown:?}");
}
