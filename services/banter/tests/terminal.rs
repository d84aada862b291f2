//! The `banter` binary as a person at a terminal meets it: readable log lines
//! on a TTY (JSON otherwise), shell completions, a closed pipe, a taken port.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn banter() -> &'static str {
    env!("CARGO_BIN_EXE_banter")
}

/// `GET path` over plain HTTP/1.1; the status code.
fn status_of_get(port: u16, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
}

/// Kills banter if the test fails before stopping it.
struct Stop {
    pid: String,
}

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.pid]).status();
    }
}

/// Runs `banter serve` under a pseudo-terminal (util-linux `script`), sends
/// a few requests, stops it with SIGINT and returns what the terminal showed.
fn serve_on_a_terminal(extra_env: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    // The shell prints banter's pid so the test can stop it gracefully.
    let inner = format!(
        "{extra_env} {} serve --port {port} --data-dir {} & echo pid=$!; wait",
        banter(),
        dir.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .env_remove("BANTER_LOG_FORMAT")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs a command under a pseudo-terminal");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.trim_end_matches('\r').to_owned());
        }
    });
    let mut lines = Vec::new();
    let mut pid = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !lines.iter().any(|l: &String| l.contains("listening")) {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("banter did not start under a pty: {lines:?}"));
        if let Some(p) = line.strip_prefix("pid=") {
            pid = Some(p.trim().to_owned());
        } else {
            lines.push(line);
        }
    }
    let stop = Stop {
        pid: pid.expect("the shell printed banter's pid"),
    };
    for path in ["/api/users/1", "/api/users/2", "/api/users/3"] {
        assert_eq!(status_of_get(port, path), 401, "{path}");
    }
    Command::new("kill")
        .args(["-INT", &stop.pid])
        .status()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while let Ok(line) = rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
        lines.push(line);
    }
    // Stopped by SIGINT: its pid must not be killed again (it may be reused).
    std::mem::forget(stop);
    let _ = child.wait();
    lines
}

#[test]
fn log_lines_are_readable_on_a_terminal() {
    let lines = serve_on_a_terminal("");
    let text = lines.join("\n");
    assert!(
        lines.iter().all(|l| !l.trim_start().starts_with('{')),
        "no JSON on a terminal:\n{text}"
    );
    let listening = lines.iter().find(|l| l.contains("listening")).unwrap();
    // `14:02:07.311 INFO  banter banter listening on http://…`
    assert!(
        listening.contains(" INFO  banter ") && listening.contains("http://127.0.0.1:"),
        "{listening}"
    );
    // The three requests are one summary line, not three access lines.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("3 requests in") && l.contains("3 4xx")),
        "a summary of the requests:\n{text}"
    );
    assert!(!text.contains("request completed"), "{text}");
    assert!(lines.last().unwrap().contains("stopped"), "{text}");
}

#[test]
fn log_lines_are_json_on_a_terminal_when_asked() {
    let lines = serve_on_a_terminal("BANTER_LOG_FORMAT=json");
    let json: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(json.len(), lines.len(), "every line is JSON: {lines:?}");
    assert_eq!(
        json.iter()
            .filter(|v| v["message"] == "request completed")
            .count(),
        3,
        "one line per request in JSON"
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let script = |shell: &str| {
        let out = Command::new(banter())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let bash = dir.path().join("banter.bash");
    std::fs::write(&bash, script("bash")).unwrap();
    // Loaded by a real bash: `banter se<TAB>` completes to serve, and the
    // targets of `--target` are offered.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && COMP_WORDS=(banter se) COMP_CWORD=1 && _banter banter se banter && echo \"${{COMPREPLY[@]}}\" \
             && COMP_WORDS=(banter serve --target '') COMP_CWORD=3 && _banter banter '' --target && echo \"${{COMPREPLY[@]}}\"",
            bash.display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let mut lines = said.lines();
    assert_eq!(lines.next(), Some("serve"), "{said}");
    let targets = lines.next().unwrap_or_default();
    for t in ["all", "users", "friends", "chat", "notifications", "posts"] {
        assert!(targets.split(' ').any(|w| w == t), "{t} in {targets:?}");
    }
    assert!(script("zsh").starts_with("#compdef banter"));
    let fish = script("fish");
    assert!(
        fish.contains("complete -c banter") && fish.contains("demo"),
        "{fish}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        &["--help"][..],
        &["completions", "zsh"],
        &["serve", "--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(banter())
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(out.status.success(), "banter {args:?}: {}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn demo_refuses_a_taken_port_before_any_load() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    taken.set_nonblocking(true).unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(banter())
        .args([
            "demo",
            "--duration",
            "5s",
            "--port",
            &port.to_string(),
            "--out",
        ])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "error: the platform did not start: port {port} is already in use by another process; pick another --port, or leave it out for a free one"
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "checked up front"
    );
    assert!(
        taken.accept().is_err(),
        "no request reached the server on that port"
    );
    assert!(!dir.path().join("demo").exists(), "nothing written");
}
