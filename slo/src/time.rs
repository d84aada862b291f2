//! Points in time on the command line: `now`, `now-15m`, `-15m`, RFC 3339 or Unix
//! seconds.

use chrono::{DateTime, Duration, Utc};

use crate::spec::parse_duration_seconds;

/// Parses a point in time relative to `now`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let relative = |d: &str, sign: f64| -> Result<DateTime<Utc>, String> {
        let secs = parse_duration_seconds(d)?;
        Ok(now + Duration::milliseconds((sign * secs * 1000.0) as i64))
    };
    if t == "now" {
        return Ok(now);
    }
    if let Some(d) = t.strip_prefix("now-") {
        return relative(d, -1.0);
    }
    if let Some(d) = t.strip_prefix("now+") {
        return relative(d, 1.0);
    }
    if let Some(d) = t.strip_prefix('-')
        && d.starts_with(|c: char| c.is_ascii_digit())
        && d.ends_with(|c: char| c.is_ascii_alphabetic())
    {
        return relative(d, -1.0);
    }
    if let Ok(secs) = t.parse::<f64>() {
        return DateTime::from_timestamp_millis((secs * 1000.0) as i64)
            .ok_or_else(|| format!("`{t}` is out of range"));
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            format!("`{t}` is not a time: use now, now-15m, RFC 3339 (2026-11-21T10:00:00Z) or Unix seconds")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times() {
        let now = DateTime::from_timestamp(1_795_255_200, 0).unwrap();
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(
            parse_time("now-5m", now).unwrap().timestamp(),
            now.timestamp() - 300
        );
        assert_eq!(
            parse_time("-1h", now).unwrap().timestamp(),
            now.timestamp() - 3600
        );
        assert_eq!(
            parse_time("1795255000", now).unwrap().timestamp(),
            1_795_255_000
        );
        assert_eq!(
            parse_time("2026-11-21T10:00:00Z", now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-21T10:00:00+00:00"
        );
        assert!(parse_time("yesterday", now).is_err());
    }
}
