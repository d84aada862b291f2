//! A closed stdout (`banter demo | head -1`) ends the command quietly.

/// `… | head -1`: once the reader has gone, end quietly (exit 0) instead of
/// panicking in `println!`. Rust ignores SIGPIPE, so a closed stdout is an
/// error on the next write; keeping SIGPIPE ignored keeps network writes safe.
pub fn exit_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
