//! The summary's merges: any doubles, split anywhere, summarised in parts and merged in either
//! order must equal the summary of the whole (sketches exactly; moment counts exactly), and no
//! query may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scenarioforge_core::stats::moments::Moments;
use scenarioforge_core::stats::sketch::Sketch;

/// One query of each kind (each scans the buckets, which is most of an execution's time).
fn queries(s: &Sketch) -> Vec<u64> {
    let mut out = vec![s.count(), s.quantile(0.5).map_or(u64::MAX, f64::to_bits)];
    out.push(s.tail_mean_high(0.05).to_bits());
    if let (Some(lo), Some(hi)) = (s.min(), s.max()) {
        let h = s.histogram(lo, hi, 10);
        out.extend(h.counts);
        out.push(h.below);
        out.push(h.above);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let values: Vec<f64> = rest
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let cut = usize::from(split).min(values.len());
    let (a, b) = values.split_at(cut);

    let mut whole = Sketch::new();
    whole.insert_slice(&values);
    let (mut left, mut right) = (Sketch::new(), Sketch::new());
    left.insert_slice(a);
    right.insert_slice(b);
    let mut ab = left.clone();
    ab.merge(&right);
    let mut ba = right.clone();
    ba.merge(&left);
    // Equal state (the sketch compares its canonical buckets, count and extremes), so equal
    // answers to every query; the queries themselves run once, on the whole, for panics.
    assert!(ab == whole && ba == whole);
    let _ = queries(&whole);

    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (fa, fb) = finite.split_at(cut.min(finite.len()));
    let mut m = Moments::from_slice(fa);
    m.merge(&Moments::from_slice(fb));
    let all = Moments::from_slice(&finite);
    assert_eq!(m.count(), all.count());
    let _ = (m.mean(), m.std(), m.sem(), m.skewness(), m.kurtosis(), m.min(), m.max());
});
