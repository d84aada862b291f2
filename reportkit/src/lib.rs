//! What Banter's command-line tools (`loadgen`, `slo`, `banter`) share to show
//! results to people: time-series charts drawn as inline SVG in one house
//! style ([`chart`]), Markdown tables ([`markdown::Table`]), text made safe
//! for HTML ([`escape_html`]), durations
//! for people ([`ms`]), and a quiet exit when the reader of stdout goes away
//! ([`exit_quietly_when_stdout_closes`]).
//!
//! It knows nothing of run records, SLO specs or services: callers turn their
//! data into points and captions; this crate only draws and formats.

pub mod chart;
pub mod markdown;

/// Text made safe inside HTML (and XML) elements and attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Microseconds for people (`850 µs`, `12.3 ms`, `1.20 s`).
pub fn ms(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

/// `… | head -1`: once the reader has gone, end quietly (exit 0) instead of
/// panicking in `println!`. Rust ignores SIGPIPE, so a closed stdout is an
/// error on the next write; keeping SIGPIPE ignored keeps network writes safe.
/// Call it first thing in `main`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_character_that_ends_text_or_an_attribute() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn durations_pick_the_unit_a_person_reads() {
        assert_eq!(ms(850), "850 µs");
        assert_eq!(ms(12_345), "12.3 ms");
        assert_eq!(ms(1_200_000), "1.20 s");
    }
}
