//! What the benchmark reads from outside the platform: a process's CPU time
//! and resident memory (from `/proc`), RSS sampled over a run with its slope,
//! wrk's throughput on one route, and the CPU time of finished children.

use anyhow::{Context as _, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat`'s times (USER_HZ, 100 on
/// every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    let tick = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc/<pid>/stat")?
            .parse::<f64>()?)
    };
    Ok((tick(11)? + tick(12)?) / TICKS_PER_SECOND)
}

/// Resident memory of a process in MiB.
pub fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .context("no VmRSS in /proc/<pid>/status")?;
    Ok(kib / 1024.0)
}

/// `XmY.YYYs` (the shell's `times`) in seconds.
fn shell_time(t: &str) -> Option<f64> {
    let (m, s) = t.strip_suffix('s')?.split_once('m')?;
    Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// The children's user + system seconds from the last line of `times`.
fn children_cpu(out: &str) -> Option<f64> {
    let last = out.lines().last()?;
    let mut parts = last.split_whitespace().map(shell_time);
    Some(parts.next()?? + parts.next()??)
}

/// RSS samples (seconds since start, MiB) taken once a second by a thread.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(f64, f64)>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Ok(mib) = rss_mib(pid) {
                    samples.push((start.elapsed().as_secs_f64(), mib));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        });
        Self { stop, thread }
    }

    pub fn finish(self) -> Memory {
        self.stop.store(true, Ordering::Relaxed);
        Memory::of(&self.thread.join().unwrap_or_default())
    }
}

/// Resident memory over a run: its peak, last value and the slope of a
/// least-squares line through the samples after the first third (warm-up).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    pub peak_mib: f64,
    pub last_mib: f64,
    pub slope_mib_per_min: f64,
    pub samples: usize,
}

impl Memory {
    pub fn of(samples: &[(f64, f64)]) -> Self {
        let settled = &samples[samples.len() / 3..];
        Self {
            peak_mib: samples.iter().map(|s| s.1).fold(0.0, f64::max),
            last_mib: samples.last().map_or(0.0, |s| s.1),
            slope_mib_per_min: slope(settled) * 60.0,
            samples: samples.len(),
        }
    }
}

/// Least-squares slope of y over x (0 with fewer than two points).
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), p| {
        (num + (p.0 - mx) * (p.1 - my), den + (p.0 - mx).powi(2))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

/// One wrk run: requests completed, their rate, and wrk's own CPU seconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct WrkRun {
    pub requests: u64,
    pub per_second: f64,
    pub client_cpu_seconds: f64,
}

/// Runs `wrk` (one thread, `connections` connections) on `url` for `secs`.
pub async fn wrk(url: &str, token: &str, connections: u32, secs: u64) -> anyhow::Result<WrkRun> {
    // The shell's `times` reports its children's CPU time once wrk is done.
    let out = tokio::process::Command::new("sh")
        .args([
            "-c",
            r#"wrk "$@"; rc=$?; times; exit $rc"#,
            "wrk",
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "-H",
            &format!("Authorization: Bearer {token}"),
            url,
        ])
        .output()
        .await
        .context("cannot run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let client_cpu_seconds = children_cpu(&text).context("no `times` line after wrk")?;
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    if text.contains("Non-2xx") {
        bail!("wrk saw errors: {text}");
    }
    // "  123456 requests in 10.00s, 45.67MB read"
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse::<u64>().ok())
        .with_context(|| format!("no request count in wrk's output: {text}"))?;
    let per_second = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no Requests/sec in wrk's output: {text}"))?;
    Ok(WrkRun {
        requests,
        per_second,
        client_cpu_seconds,
    })
}

/// The median of some values (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_and_median() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 2.0 * f64::from(i) + 1.0))
            .collect();
        assert!((slope(&line) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&line[..1]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        // The first third (two samples) is warm-up: the peak counts, the
        // slope does not.
        let flat = Memory::of(&[
            (0.0, 50.0),
            (1.0, 80.0),
            (2.0, 60.0),
            (3.0, 60.0),
            (4.0, 60.0),
            (5.0, 60.0),
        ]);
        assert_eq!(flat.peak_mib, 80.0);
        assert_eq!(flat.slope_mib_per_min, 0.0);
        assert_eq!(
            children_cpu("Requests/sec: 1\n0m0.01s 0m0.02s\n1m1.50s 0m0.25s"),
            Some(61.75)
        );
    }

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(rss_mib(pid).unwrap() > 0.0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
    }
}
