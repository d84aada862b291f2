//! Faults that act on the process itself rather than on a call: busy threads
//! (`cpu-starvation`) and retained memory (`memory-growth`). Each runs until
//! its [`Effect`] is dropped, which is when the fault ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A running effect; dropping it stops it and gives back what it took.
pub(super) struct Effect {
    stop: Arc<AtomicBool>,
}

impl Drop for Effect {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `threads` threads that spin until the effect ends.
pub(super) fn burn_cpu(threads: u32) -> Effect {
    let stop = Arc::new(AtomicBool::new(false));
    for i in 0..threads {
        let stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("fault-cpu-{i}"))
            .spawn(move || {
                let mut x: u64 = 1;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..10_000 {
                        x = std::hint::black_box(
                            x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1),
                        );
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "cpu-starvation: cannot start a burner thread");
        }
    }
    Effect { stop }
}

/// One MiB.
const MB: usize = 1 << 20;
/// How often retained memory grows.
const TICK: Duration = Duration::from_millis(100);

/// Retains `mb_per_sec` MiB more each second, up to `max_mb`, written to so
/// it is resident; freed when the effect ends.
///
/// The whole range is reserved at once (at least 64 MiB, so the allocator
/// maps it on its own rather than carving it from a heap arena) and only
/// filled as time goes: freeing it then returns it to the system at once.
pub(super) fn grow_memory(mb_per_sec: f64, max_mb: u64) -> Effect {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let max = usize::try_from(max_mb)
        .unwrap_or(usize::MAX / MB)
        .saturating_mul(MB);
    let spawned = std::thread::Builder::new()
        .name("fault-memory".into())
        .spawn(move || {
            let mut held: Vec<u8> = Vec::with_capacity(max.max(64 * MB));
            let start = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let due = ((start.elapsed().as_secs_f64() * mb_per_sec) * MB as f64) as usize;
                let target = due.min(max);
                if target > held.len() {
                    held.resize(target, 0xa5);
                }
                std::thread::sleep(TICK);
            }
            drop(held);
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "memory-growth: cannot start its thread");
    }
    Effect { stop }
}
