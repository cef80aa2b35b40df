//! Charts drawn as SVG: histogram with percentile markers, cumulative distribution,
//! tornado of drivers, and convergence of the running mean.

use leptos::prelude::*;
use scenarioforge_core::stats::sensitivity::spearman;
use scenarioforge_core::summary::{Driver, OutputStats, Probability};

use crate::format;
use crate::runner::Point;

const W: f64 = 560.0;
const H: f64 = 200.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 28.0;

/// Maps `x` in `lo..hi` to `a..b`.
fn scale(x: f64, lo: f64, hi: f64, a: f64, b: f64) -> f64 {
    if hi > lo {
        a + (x - lo) / (hi - lo) * (b - a)
    } else {
        (a + b) / 2.0
    }
}

/// Tick values on a nice step covering `lo..hi`, about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..=n + 1)
        .map(|i| first + i as f64 * step)
        .filter(|t| *t <= hi + step * 1e-9)
        .collect()
}

fn x_axis(lo: f64, hi: f64) -> impl IntoView {
    ticks(lo, hi, 5)
        .into_iter()
        .map(|t| {
            let x = scale(t, lo, hi, PAD_L, W - PAD_R);
            view! {
                <line class="tick" x1=x x2=x y1=H - PAD_B y2=H - PAD_B + 4.0></line>
                <text class="tick-label" x=x y=H - 8.0 text-anchor="middle">{format::number(t)}</text>
            }
        })
        .collect_view()
}

/// Horizontal grid lines at `values`, placed by `y` and labelled by `label`, on the left.
fn y_grid(
    values: impl IntoIterator<Item = f64>,
    y: impl Fn(f64) -> f64,
    label: impl Fn(f64) -> String,
) -> impl IntoView {
    values
        .into_iter()
        .map(|v| {
            let at = y(v);
            view! {
                <line class="grid" x1=PAD_L x2=W - PAD_R y1=at y2=at></line>
                <text class="tick-label" x=PAD_L - 6.0 y=at + 4.0 text-anchor="end">{label(v)}</text>
            }
        })
        .collect_view()
}

/// Histogram of an output with p5, p50 and p95 marked.
/// A chart's frame: the figure, its SVG of height `height` (the width is always `W`) holding
/// `body`, labelled `label` for screen readers, and its caption.
fn frame(
    label: String,
    height: f64,
    body: impl IntoView + 'static,
    caption: impl IntoView + 'static,
) -> impl IntoView {
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {height}") role="img" aria-label=label>
                {body}
            </svg>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

#[component]
pub fn Histogram(stats: OutputStats, #[prop(into)] title: String) -> impl IntoView {
    let h = &stats.histogram;
    let (lo, hi) = (
        h.edges.first().copied().unwrap_or(0.0),
        h.edges.last().copied().unwrap_or(1.0),
    );
    let max = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    // The y axis reads as the share of all iterations in a bin, so charts of runs of
    // different lengths compare.
    let total = h.total().max(1) as f64;
    let y_axis = y_grid(
        ticks(0.0, max / total, 4),
        move |share| scale(share * total, 0.0, max, H - PAD_B, PAD_T),
        format::percent,
    );
    let bars = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let x0 = scale(h.edges[i], lo, hi, PAD_L, W - PAD_R);
            let x1 = scale(h.edges[i + 1], lo, hi, PAD_L, W - PAD_R);
            let y = scale(c as f64, 0.0, max, H - PAD_B, PAD_T);
            view! {
                <rect class="bar" x=x0 y=y width=(x1 - x0 - 0.5).max(0.5) height=H - PAD_B - y>
                    <title>{format!("{} to {}: {}", format::number(h.edges[i]), format::number(h.edges[i + 1]), format::thousands(c))}</title>
                </rect>
            }
        })
        .collect_view();
    let p = &stats.percentiles;
    let markers = [("p5", p.p5), ("p50", p.p50), ("p95", p.p95)]
        .into_iter()
        .enumerate()
        .map(|(i, (name, v))| {
            let x = scale(v, lo, hi, PAD_L, W - PAD_R);
            // Labels on three rows, so close percentiles do not overlap; the right-hand one
            // reads leftwards to stay inside the chart.
            let y = PAD_T + 10.0 + 12.0 * i as f64;
            let right = x > W * 0.7;
            view! {
                <line class=format!("marker {name}") x1=x x2=x y1=PAD_T y2=H - PAD_B></line>
                <text class="marker-label" x=if right { x - 3.0 } else { x + 3.0 } y=y text-anchor=if right { "end" } else { "start" }>
                    {format!("{name} {}", format::number(v))}
                </text>
            }
        })
        .collect_view();
    let body = view! {
        {y_axis}
        {bars}
        {markers}
        <line class="axis" x1=PAD_L x2=W - PAD_R y1=H - PAD_B y2=H - PAD_B></line>
        {x_axis(lo, hi)}
    };
    frame(title.clone(), H, body, title)
}

/// A yes/no output as two bars, no and yes, each labelled with its share, the yes bar with
/// its 95% interval drawn as a whisker.
#[component]
pub fn YesNo(probability: Probability, #[prop(into)] title: String) -> impl IntoView {
    let p = probability;
    let y_of = |share: f64| scale(share, 0.0, 1.0, H - PAD_B, PAD_T);
    let grid = y_grid([0.0, 0.25, 0.5, 0.75, 1.0], y_of, format::percent);
    let width = (W - PAD_L - PAD_R) / 4.0;
    let bars = [("no", 1.0 - p.p, 0.0), ("yes", p.p, 2.0)]
        .into_iter()
        .map(|(name, share, at)| {
            let x = PAD_L + width * (0.5 + at);
            let y = y_of(share);
            view! {
                <rect class=format!("bar {name}") x=x y=y width=width height=H - PAD_B - y>
                    <title>{format!("{name}: {}", format::percent(share))}</title>
                </rect>
                <text class="tick-label" x=x + width / 2.0 y=H - 8.0 text-anchor="middle">{name}</text>
                <text class="marker-label" x=x + width / 2.0 y=(y - 4.0).max(PAD_T + 10.0) text-anchor="middle">{format::percent(share)}</text>
            }
        })
        .collect_view();
    let whisker_x = PAD_L + width * 3.0;
    let body = view! {
        {grid}
        {bars}
        <line class="whisker" x1=whisker_x x2=whisker_x y1=y_of(p.low) y2=y_of(p.high)></line>
        <line class="axis" x1=PAD_L x2=W - PAD_R y1=H - PAD_B y2=H - PAD_B></line>
    };
    frame(title.clone(), H, body, title)
}

/// The cumulative distribution from the same histogram: P(value ≤ x).
#[component]
pub fn Cumulative(stats: OutputStats, #[prop(into)] title: String) -> impl IntoView {
    let h = &stats.histogram;
    let (lo, hi) = (
        h.edges.first().copied().unwrap_or(0.0),
        h.edges.last().copied().unwrap_or(1.0),
    );
    let points: Vec<String> = h
        .cumulative()
        .into_iter()
        .map(|(x, p)| {
            let x = scale(x, lo, hi, PAD_L, W - PAD_R);
            let y = scale(p, 0.0, 1.0, H - PAD_B, PAD_T);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let grid = y_grid(
        [0.0, 0.25, 0.5, 0.75, 1.0],
        |q| scale(q, 0.0, 1.0, H - PAD_B, PAD_T),
        format::percent,
    );
    let body = view! {
        {grid}
        <polyline class="cdf" points=points.join(" ")></polyline>
        <line class="axis" x1=PAD_L x2=W - PAD_R y1=H - PAD_B y2=H - PAD_B></line>
        {x_axis(lo, hi)}
    };
    frame(title.clone(), H, body, title)
}

/// What drives an output: rank correlation (signed bar from the centre) and variance share.
#[component]
pub fn Tornado(drivers: Vec<Driver>, #[prop(into)] title: String) -> impl IntoView {
    let shown: Vec<Driver> = drivers.into_iter().take(10).collect();
    let row_h = 24.0;
    let height = PAD_T + row_h * shown.len().max(1) as f64 + PAD_B;
    let label_w = 150.0;
    let mid = label_w + (W - label_w - PAD_R) / 2.0;
    // Room beside the longest bars for their value labels.
    let half = (W - label_w - PAD_R) / 2.0 - 70.0;
    let rows = shown
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let y = PAD_T + i as f64 * row_h;
            let rho = d.rank_correlation;
            let len = (rho.abs() * half).min(half);
            let x = if rho < 0.0 { mid - len } else { mid };
            let share_w = (d.variance_share.clamp(0.0, 1.0) * half).max(0.0);
            let share_x = if rho < 0.0 { mid - share_w } else { mid };
            view! {
                <text class="tick-label" x=label_w - 8.0 y=y + 15.0 text-anchor="end">{d.input.clone()}</text>
                <rect class=if rho < 0.0 { "tornado neg" } else { "tornado pos" } x=x y=y + 3.0 width=len.max(0.5) height=row_h - 12.0>
                    <title>{format!("{}: rank correlation {:+.3}, variance share {}", d.input, rho, format::percent(d.variance_share))}</title>
                </rect>
                <rect class="share-bar" x=share_x y=y + row_h - 9.0 width=share_w height=4.0></rect>
                <text class="value-label" x=if rho < 0.0 { mid - len - 4.0 } else { mid + len + 4.0 } y=y + 13.0 text-anchor=if rho < 0.0 { "end" } else { "start" }>
                    {format!("{rho:+.2} · {}", format::percent(d.variance_share))}
                </text>
            }
        })
        .collect_view();
    let body = view! {
        <line class="axis" x1=mid x2=mid y1=PAD_T - 4.0 y2=height - PAD_B + 4.0></line>
        {rows}
        <text class="tick-label" x=mid - half y=height - 8.0>"−1"</text>
        <text class="tick-label" x=mid y=height - 8.0 text-anchor="middle">"0"</text>
        <text class="tick-label" x=mid + half y=height - 8.0 text-anchor="end">"+1"</text>
    };
    let caption = format!(
        "{title} — bar: rank correlation (Spearman's ρ between the draw and the output); thin bar: variance share (the part of the output's variance that the draw explains alone; shares of independent draws add up to at most 100%)"
    );
    frame(title, height, body, caption)
}

/// Running mean ± 2 SEM of one output against iterations.
#[component]
pub fn Convergence(
    points: Vec<Point>,
    output: String,
    #[prop(into)] title: String,
) -> impl IntoView {
    let series: Vec<(f64, f64, f64)> = points
        .iter()
        .filter_map(|p| {
            let (_, m, s) = p.outputs.iter().find(|(id, _, _)| *id == output)?;
            (m.is_finite()).then_some((
                p.iterations as f64,
                *m,
                if s.is_finite() { *s } else { 0.0 },
            ))
        })
        .collect();
    // A point per chunk can be thousands; a few hundred draw the same picture.
    let step = series.len().div_ceil(400).max(1);
    let last = series.last().copied();
    let mut series: Vec<(f64, f64, f64)> = series.into_iter().step_by(step).collect();
    if let Some(last) = last
        && series.last() != Some(&last)
    {
        series.push(last);
    }
    if series.len() < 2 {
        return view! { <p class="muted">"not enough progress points for a convergence chart"</p> }
            .into_any();
    }
    // Leave out the first point from the y-range when there are many: its band is wide.
    let skip = usize::from(series.len() > 8);
    let lo = series[skip..]
        .iter()
        .map(|(_, m, s)| m - 2.0 * s)
        .fold(f64::INFINITY, f64::min);
    let hi = series[skip..]
        .iter()
        .map(|(_, m, s)| m + 2.0 * s)
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let xmax = series.last().map_or(1.0, |p| p.0);
    let sx = |x: f64| scale(x, 0.0, xmax, PAD_L, W - PAD_R);
    let sy = move |y: f64| scale(y.clamp(lo, hi), lo, hi, H - PAD_B, PAD_T);
    let upper: Vec<String> = series
        .iter()
        .map(|(x, m, s)| format!("{:.1},{:.1}", sx(*x), sy(m + 2.0 * s)))
        .collect();
    let lower: Vec<String> = series
        .iter()
        .rev()
        .map(|(x, m, s)| format!("{:.1},{:.1}", sx(*x), sy(m - 2.0 * s)))
        .collect();
    let band = format!("{} {}", upper.join(" "), lower.join(" "));
    let line: Vec<String> = series
        .iter()
        .map(|(x, m, _)| format!("{:.1},{:.1}", sx(*x), sy(*m)))
        .collect();
    let yticks = y_grid(ticks(lo, hi, 4), sy, format::number);
    let body = view! {
        {yticks}
        <polygon class="band" points=band></polygon>
        <polyline class="mean-line" points=line.join(" ")></polyline>
        <line class="axis" x1=PAD_L x2=W - PAD_R y1=H - PAD_B y2=H - PAD_B></line>
        {x_axis(0.0, xmax)}
    };
    frame(title.clone(), H, body, title).into_any()
}

#[cfg(test)]
mod tests {
    use super::ticks;

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
    }
}

/// Most points a scatter plot draws: the first rows of the iteration sample, which is itself
/// a uniform sample, so the picture stays honest and the DOM small.
const SCATTER_POINTS: usize = 2_000;

/// Two nodes' sampled values against each other, with their rank correlation.
#[component]
pub fn Scatter(
    xs: Vec<f64>,
    ys: Vec<f64>,
    #[prop(into)] x_label: String,
    #[prop(into)] y_label: String,
) -> impl IntoView {
    let (x, y): (Vec<f64>, Vec<f64>) = xs
        .iter()
        .zip(&ys)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .take(SCATTER_POINTS)
        .unzip();
    let rho = spearman(&x, &y);
    let range = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &a| {
                (lo.min(a), hi.max(a))
            })
    };
    let ((x_lo, x_hi), (y_lo, y_hi)) = (range(&x), range(&y));
    let points = x
        .iter()
        .zip(&y)
        .map(|(&a, &b)| {
            let cx = scale(a, x_lo, x_hi, PAD_L, W - PAD_R);
            let cy = scale(b, y_lo, y_hi, H - PAD_B, PAD_T);
            view! { <circle class="point" cx=format!("{cx:.1}") cy=format!("{cy:.1}") r="1.6"></circle> }
        })
        .collect_view();
    let y_ticks = ticks(y_lo, y_hi, 4)
        .into_iter()
        .map(|t| {
            let yy = scale(t, y_lo, y_hi, H - PAD_B, PAD_T);
            view! { <text class="tick-label" x=PAD_L - 6.0 y=yy + 4.0 text-anchor="end">{format::number(t)}</text> }
        })
        .collect_view();
    let caption = format!(
        "{y_label} against {x_label}: rank correlation {rho:+.2} over {} sampled iterations",
        format::thousands(x.len() as u64)
    );
    view! {
        <figure class="chart scatter">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=caption.clone()>
                {points}
                <line class="axis" x1=PAD_L x2=W - PAD_R y1=H - PAD_B y2=H - PAD_B></line>
                <line class="axis" x1=PAD_L x2=PAD_L y1=PAD_T y2=H - PAD_B></line>
                {x_axis(x_lo, x_hi)}
                {y_ticks}
            </svg>
            <figcaption class="scatter-caption" data-rho=format!("{rho}")>{caption}</figcaption>
        </figure>
    }
}
