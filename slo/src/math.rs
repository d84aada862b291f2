//! The arithmetic every source shares: counter increases across resets, cumulative
//! histogram buckets, the exact good ratio at a bucket boundary, and quantile
//! estimates computed exactly like Prometheus's `histogram_quantile`.

/// The one message for a latency threshold that is not a bucket bound (`slo
/// check` on measured buckets, the spec and `slo rules` on declared ones).
pub fn not_a_bucket_bound(threshold: f64, bounds: &[f64]) -> String {
    let bounds: Vec<String> = bounds
        .iter()
        .filter(|le| le.is_finite())
        .map(|le| format!("{le}"))
        .collect();
    format!(
        "the threshold {threshold}s is not a bucket bound of the histogram, so the \
         share of requests under it cannot be counted exactly (bounds: {})",
        bounds.join(", ")
    )
}

/// A cumulative histogram: `(upper bound, observations ≤ bound)`, ascending by
/// bound, the last bound `+Inf` (as Prometheus exposes classic histograms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets(Vec<(f64, f64)>);

/// How much a counter grew from `before` to `after`. A counter that went down was
/// reset (the process restarted), so everything it counts now is new — the same
/// rule Prometheus's `increase()` applies.
pub fn counter_increase(before: f64, after: f64) -> f64 {
    if after < before {
        after
    } else {
        after - before
    }
}

impl Buckets {
    /// Builds from `(le, cumulative count)` pairs in any order; pairs with the same
    /// bound add up (e.g. the same route's series from several instances).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (f64, f64)>) -> Buckets {
        let mut v: Vec<(f64, f64)> = pairs.into_iter().filter(|(le, _)| !le.is_nan()).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(v.len());
        for (le, c) in v {
            match out.last_mut() {
                Some(last) if last.0 == le => last.1 += c,
                _ => out.push((le, c)),
            }
        }
        Buckets(out)
    }

    /// The `(le, cumulative count)` pairs, ascending.
    pub fn pairs(&self) -> &[(f64, f64)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Observations in the window (the `+Inf` bucket); 0 without one.
    pub fn total(&self) -> f64 {
        match self.0.last() {
            Some((le, c)) if le.is_infinite() => *c,
            _ => 0.0,
        }
    }

    /// Adds another histogram's buckets (same or different bounds).
    pub fn add(&mut self, other: &Buckets) {
        let merged = Buckets::from_pairs(self.0.iter().chain(other.0.iter()).copied());
        *self = merged;
    }

    /// Observations ≤ `bound` when `bound` is one of the bucket bounds (exact,
    /// no interpolation); `None` otherwise.
    pub fn count_at_or_below(&self, bound: f64) -> Option<f64> {
        self.0
            .iter()
            .find(|(le, _)| (le - bound).abs() <= bound.abs() * 1e-9)
            .map(|(_, c)| *c)
    }

    /// Share of observations ≤ `threshold`, exact because `threshold` must be a
    /// bucket bound. `Err` names the bounds when it is not; `Ok(None)` without
    /// observations.
    pub fn good_ratio(&self, threshold: f64) -> Result<Option<f64>, String> {
        let total = self.total();
        let Some(good) = self.count_at_or_below(threshold) else {
            let bounds: Vec<f64> = self.0.iter().map(|(le, _)| *le).collect();
            return Err(not_a_bucket_bound(threshold, &bounds));
        };
        if total <= 0.0 {
            return Ok(None);
        }
        Ok(Some((good / total).clamp(0.0, 1.0)))
    }

    /// The `q` quantile estimated exactly as Prometheus's `histogram_quantile`
    /// does for classic histograms: linear interpolation inside the bucket that
    /// holds rank `q * total`, the lowest bucket starting at 0, and the highest
    /// finite bound when the rank falls in the `+Inf` bucket. NaN without data.
    pub fn quantile(&self, q: f64) -> f64 {
        if q.is_nan() {
            return f64::NAN;
        }
        if q < 0.0 {
            return f64::NEG_INFINITY;
        }
        if q > 1.0 {
            return f64::INFINITY;
        }
        let mut b = self.0.clone();
        if b.len() < 2
            || !b
                .last()
                .is_some_and(|(le, _)| le.is_infinite() && *le > 0.0)
        {
            return f64::NAN;
        }
        // Prometheus forces cumulative counts to be monotonic (scrapes of different
        // buckets are not atomic); do the same.
        let mut max = f64::NEG_INFINITY;
        for (_, c) in b.iter_mut() {
            if *c < max {
                *c = max;
            } else {
                max = *c;
            }
        }
        let observations = b[b.len() - 1].1;
        if observations == 0.0 {
            return f64::NAN;
        }
        let mut rank = q * observations;
        let last = b.len() - 1;
        let i = b[..last]
            .iter()
            .position(|(_, c)| *c >= rank)
            .unwrap_or(last);
        if i == last {
            return b[last - 1].0;
        }
        if i == 0 && b[0].0 <= 0.0 {
            return b[0].0;
        }
        let bucket_end = b[i].0;
        let mut count = b[i].1;
        let mut bucket_start = 0.0;
        if i > 0 {
            bucket_start = b[i - 1].0;
            count -= b[i - 1].1;
            rank -= b[i - 1].1;
        }
        bucket_start + (bucket_end - bucket_start) * (rank / count)
    }

    /// The bucket `(lower, upper]` that holds `value` — to say "within one bucket".
    pub fn bucket_index(&self, value: f64) -> usize {
        self.0
            .iter()
            .position(|(le, _)| value <= *le)
            .unwrap_or(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn b(pairs: &[(f64, f64)]) -> Buckets {
        Buckets::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn counter_increase_handles_resets() {
        assert_eq!(counter_increase(10.0, 25.0), 15.0);
        assert_eq!(counter_increase(10.0, 10.0), 0.0);
        // Restarted and counted 4 since: Prometheus's increase() rule.
        assert_eq!(counter_increase(10.0, 4.0), 4.0);
    }

    #[test]
    fn buckets_of_several_series_add_up() {
        // Same bounds from two instances add up.
        let mut sum = b(&[(0.2, 1.0), (INF, 2.0)]);
        sum.add(&b(&[(0.2, 3.0), (INF, 4.0)]));
        assert_eq!(sum, b(&[(0.2, 4.0), (INF, 6.0)]));
    }

    #[test]
    fn good_ratio_is_exact_at_a_bound() {
        let h = b(&[(0.1, 50.0), (0.2, 95.0), (0.5, 99.0), (INF, 100.0)]);
        assert_eq!(h.good_ratio(0.2).unwrap(), Some(0.95));
        assert_eq!(h.good_ratio(0.5).unwrap(), Some(0.99));
        let err = h.good_ratio(0.3).unwrap_err();
        assert!(err.contains("0.1, 0.2, 0.5"), "{err}");
        assert_eq!(b(&[(0.2, 0.0), (INF, 0.0)]).good_ratio(0.2).unwrap(), None);
    }

    /// Expected values computed by Prometheus's `histogram_quantile` on the same
    /// buckets (its promql/quantile.go algorithm; the end-to-end test also compares
    /// with a live Prometheus).
    #[test]
    fn quantile_matches_histogram_quantile() {
        let h = b(&[(0.1, 50.0), (0.2, 95.0), (0.5, 99.0), (INF, 100.0)]);
        // rank 47.5 in the first bucket: 0 + 0.1 * 47.5 / 50
        assert!((h.quantile(0.95) - 0.2).abs() < 1e-12);
        assert!((h.quantile(0.5) - 0.1).abs() < 1e-12);
        assert!((h.quantile(0.25) - 0.05).abs() < 1e-12);
        // rank 97 in (0.2, 0.5]: 0.2 + 0.3 * 2/4
        assert!((h.quantile(0.97) - 0.35).abs() < 1e-12);
        // rank 99.5 falls in +Inf: the highest finite bound.
        assert_eq!(h.quantile(0.995), 0.5);
        assert_eq!(h.quantile(1.0), 0.5);
        assert_eq!(h.quantile(-0.1), f64::NEG_INFINITY);
        assert_eq!(h.quantile(1.1), f64::INFINITY);
        assert!(b(&[(0.1, 0.0), (INF, 0.0)]).quantile(0.5).is_nan());
        assert!(b(&[(0.1, 1.0)]).quantile(0.5).is_nan(), "no +Inf bucket");
        // Non-monotonic input (non-atomic scrape) is forced monotonic first:
        // 0.2 -> 10 becomes 12, so p50 (rank 10) lies in the first bucket.
        let h = b(&[(0.1, 12.0), (0.2, 10.0), (INF, 20.0)]);
        assert!((h.quantile(0.5) - 0.1 * 10.0 / 12.0).abs() < 1e-12);
        // Banter's real bounds: p95 of 1000 requests, 940 ≤ 0.15, 960 ≤ 0.2.
        let h = b(&[
            (0.1, 900.0),
            (0.15, 940.0),
            (0.2, 960.0),
            (0.25, 990.0),
            (INF, 1000.0),
        ]);
        assert!((h.quantile(0.95) - (0.15 + 0.05 * 10.0 / 20.0)).abs() < 1e-12);
        assert_eq!(h.bucket_index(0.175), 2);
    }
}
