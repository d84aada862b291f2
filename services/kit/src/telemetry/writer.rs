//! The stdout log writer: requests append their whole line to a shared buffer
//! and return; one background thread writes the buffer out in large chunks.
//! A request then never waits on a `write(2)` to a slow pipe or terminal, and
//! under load hundreds of lines leave in one system call instead of one each.
//!
//! The buffer is bounded: if stdout stops draining, lines past the bound are
//! dropped and counted, and the count is written as a line of its own once
//! stdout drains again — the service keeps serving rather than stall on logs.
//! [`flush`] waits (bounded) until everything appended so far is written.
//!
//! Under load the writer gathers lines for [`GATHER`] after each write instead
//! of being woken for every line: a request signals the writer only when it
//! is asleep waiting, so a busy hot route pays no wake-up (a futex call and a
//! context switch) per log line.

use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Bytes waiting to be written at most; past it, lines are dropped.
const MAX_PENDING: usize = 8 << 20;

/// How long the writer lets lines gather after a write before it takes the
/// next chunk: a line waits at most this long to reach stdout.
const GATHER: Duration = Duration::from_millis(20);

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    writing: bool,
    /// The writer waits on `wake` (only then does a new line signal it).
    idle: bool,
    dropped: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when a line arrives in an empty buffer.
    wake: Condvar,
    /// Signalled when the writer has written a chunk.
    written: Condvar,
}

static SHARED: OnceLock<&'static Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let shared: &'static Shared = Box::leak(Box::default());
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || drain(shared));
        if let Err(err) = spawned {
            eprintln!("cannot start the log writer thread: {err}");
        }
        shared
    })
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn drain(shared: &'static Shared) {
    let mut chunk = Vec::new();
    loop {
        let dropped = {
            let mut state = lock(shared);
            while state.pending.is_empty() {
                state.idle = true;
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.idle = false;
            std::mem::swap(&mut chunk, &mut state.pending);
            state.writing = true;
            std::mem::take(&mut state.dropped)
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&chunk);
        if dropped > 0 {
            let _ = writeln!(
                out,
                r#"{{"level":"warn","message":"{dropped} log lines dropped: stdout did not keep up"}}"#
            );
        }
        let _ = out.flush();
        drop(out);
        chunk.clear();
        // A burst can leave a huge buffer behind; give it back.
        chunk.shrink_to(64 << 10);
        lock(shared).writing = false;
        shared.written.notify_all();
        std::thread::sleep(GATHER);
    }
}

/// Appends one whole line (with its newline) for the background writer.
pub fn append(line: &[u8]) {
    let shared = shared();
    let idle = {
        let mut state = lock(shared);
        if state.pending.len() + line.len() > MAX_PENDING {
            state.dropped += 1;
            return;
        }
        state.pending.extend_from_slice(line);
        std::mem::take(&mut state.idle)
    };
    if idle {
        shared.wake.notify_one();
    }
}

/// Waits until every line appended so far is written (at most `patience`).
pub fn flush(patience: Duration) {
    let Some(shared) = SHARED.get() else { return };
    let deadline = Instant::now() + patience;
    let mut state = lock(shared);
    while !state.pending.is_empty() || state.writing {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        state = shared
            .written
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// A `Write` handle whose every `write` is one [`append`]: give it whole
/// lines (as the log layers do, one `write_all` per line).
#[derive(Clone, Copy, Default)]
pub struct Background;

impl Write for Background {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        append(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
