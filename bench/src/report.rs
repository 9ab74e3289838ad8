//! What every scenario prints: one JSON line on stdout (machine-readable) and a table on
//! stderr (for people), plus the medians the tables are made of.

use serde_json::Value;

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The `q`-quantile (0..=1) of `sorted` by the nearest-rank method; 0 for none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Latency figures in milliseconds of `samples` (also in milliseconds).
pub fn latency_summary(samples: &mut [f64]) -> Value {
    samples.sort_by(|a, b| a.total_cmp(b));
    serde_json::json!({
        "count": samples.len(),
        "p50_ms": round(quantile(samples, 0.50)),
        "p90_ms": round(quantile(samples, 0.90)),
        "p99_ms": round(quantile(samples, 0.99)),
        "max_ms": round(samples.last().copied().unwrap_or(0.0)),
    })
}

/// Rounds to two decimals, which is all a noisy machine can tell.
pub fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Prints the scenario's JSON summary line on stdout.
pub fn summary(scenario: &str, mut figures: Value) {
    figures["scenario"] = Value::from(scenario);
    println!("{figures}");
}

/// Prints a table on stderr: a title, a header row and rows, columns padded to fit.
pub fn table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:>w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
    };
    eprintln!("\n{title}");
    eprintln!("{}", line(header.to_vec()));
    for row in rows {
        eprintln!("{}", line(row.iter().map(String::as_str).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.5), 50.0);
        assert_eq!(quantile(&sorted, 0.99), 99.0);
        assert_eq!(quantile(&sorted, 1.0), 100.0);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
    }
}
