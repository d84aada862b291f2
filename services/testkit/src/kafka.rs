//! A real Kafka-protocol broker for one test: `tansu` (installed by `./test.sh`
//! with `cargo install tansu --features dynostore,postgres`) on a free port
//! with in-memory storage, stopped when dropped. Outages are simulated with
//! SIGSTOP/SIGCONT: the broker stops answering (connections hang, requests
//! time out), and its log and committed offsets are all still there when it
//! continues, as they would be on a real cluster's disks.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The broker binary: `$TANSU`, else `tansu` on PATH, else ~/.cargo/bin/tansu.
pub fn tansu_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("tansu"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cargo/bin/tansu"))
                .filter(|p| p.is_file())
        })
        .expect(
            "the Kafka-protocol broker `tansu` is not installed: \
             cargo install tansu --locked --features dynostore,postgres (./test.sh does)",
        )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Broker {
    child: Child,
    port: u16,
    paused: bool,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// Starts a broker and waits until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("tansu.log")).unwrap();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu_binary())
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting tansu");
        let mut broker = Self {
            child,
            port,
            paused: false,
            _dir: dir,
        };
        broker.wait_until_listening();
        broker
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tansu exited at startup ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "tansu did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` for `--kafka-brokers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("tansu.log")).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} tansu");
    }

    /// Stops the broker: it answers nothing until [`Broker::resume`].
    pub fn pause(&mut self) {
        self.signal("-STOP");
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.signal("-CONT");
        self.paused = false;
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.paused {
            self.signal("-CONT");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
