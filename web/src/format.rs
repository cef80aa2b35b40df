//! Numbers as people read them: thousands separators, k/M/B for large values, a sensible
//! number of significant digits, and the node's unit.

/// `x` with about four significant digits: `1,234`, `12.35k`, `3.4M`, `0.0123`, `-5.2B`.
pub fn number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "−∞" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    let (scaled, suffix) = if a >= 1e12 {
        (a / 1e12, "T")
    } else if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e5 {
        (a / 1e3, "k")
    } else {
        (a, "")
    };
    if suffix.is_empty() && a >= 1000.0 {
        return format!("{sign}{}", thousands(a.round() as u64));
    }
    if a < 1e-4 {
        return format!("{x:.3e}");
    }
    let decimals = if scaled >= 100.0 {
        1
    } else if scaled >= 10.0 {
        2
    } else if scaled >= 1.0 {
        3
    } else {
        // Four significant digits below 1.
        (3 - scaled.log10().floor() as i32).clamp(0, 8) as usize
    };
    let text = format!("{scaled:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{sign}{text}{suffix}")
}

/// `x` followed by its unit, if any.
pub fn with_unit(x: f64, unit: Option<&str>) -> String {
    match unit {
        Some(u) if !u.is_empty() => format!("{} {u}", number(x)),
        _ => number(x),
    }
}

/// A probability as a percentage: `12.3%`, `<0.1%`, `0%`.
pub fn percent(p: f64) -> String {
    if p.is_nan() {
        "NaN".to_string()
    } else if p == 0.0 {
        "0%".to_string()
    } else if p < 0.001 {
        "<0.1%".to_string()
    } else if p > 0.999 && p < 1.0 {
        ">99.9%".to_string()
    } else {
        let s = format!("{:.1}", p * 100.0);
        format!("{}%", s.trim_end_matches(".0"))
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    scenarioforge_core::model::thousands(n)
}

/// A duration in seconds as `850 ms`, `12 s`, `3 min 5 s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        "—".to_string()
    } else if seconds < 1.0 {
        format!("{} ms", (seconds * 1000.0).round())
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let s = seconds.round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f64, expected: &str) {
        assert_eq!(number(x), expected, "number({x})");
    }

    #[test]
    fn numbers() {
        check(0.0, "0");
        check(1.0, "1");
        check(12.3456, "12.35");
        check(1234.4, "1,234");
        check(99_999.0, "99,999");
        check(123_456.0, "123.5k");
        check(-2_500_000.0, "-2.5M");
        check(3.2e9, "3.2B");
        check(0.012345, "0.01235");
        check(0.5, "0.5");
        check(1.5e-7, "1.500e-7");
        check(f64::NAN, "NaN");
    }

    #[test]
    fn percents_and_units() {
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.0002), "<0.1%");
        assert_eq!(with_unit(1500.0, Some("USD")), "1,500 USD");
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(75.0), "1 min 15 s");
    }
}
