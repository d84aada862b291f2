//! The rule files an experiment's Prometheus evaluates: the symptom alerts
//! (`alerts/banter.rules.yml`) and the SLO burn-rate alerts `slo rules`
//! generates from the spec, optionally **time-compressed**.
//!
//! Compression by a factor `f` divides every range selector (`[5m]`) and every
//! `for:` by `f`, and nothing else: thresholds, burn factors and expressions stay
//! as written. At `f = 60` a 1 h burn window becomes 60 s and `for: 5m` becomes
//! 5 s, so an alert that needs an hour of burning in production fires after a
//! minute of a fault. Ranges never go below [`MIN_RANGE_SECS`] (four scrapes),
//! else `rate()` would see too few samples. Recording-rule names keep their
//! original windows (`slo:sli_error:ratio_rate1h` measures 60 s at `f = 60`).

use anyhow::Context as _;
use serde_yaml_ng::Value;

/// Shortest compressed range: four scrapes at the experiment's 1 s interval.
pub const MIN_RANGE_SECS: f64 = 4.0;

/// A Prometheus duration (`5m`, `1h30m`, `500ms`) in seconds.
pub fn duration_secs(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// `secs` as a Prometheus duration, in whole milliseconds.
fn format_secs(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as u64;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `expr` with every range selector divided by `factor` (never below
/// [`MIN_RANGE_SECS`]). Brackets inside quoted label values (a regex's `[0-9]`)
/// are left alone.
pub fn compress_expr(expr: &str, factor: f64) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
                let _ = q;
            }
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (None, '"' | '\'' | '`') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '[') => {
                let close = expr[i..].find(']').map(|j| i + j);
                let inner = close.map(|j| &expr[i + 1..j]);
                // `[5m]` or a subquery's `[30m:1m]`: both parts scale.
                let scaled = inner.and_then(|inner| {
                    inner
                        .split(':')
                        .map(|part| {
                            if part.is_empty() {
                                return Some(String::new());
                            }
                            duration_secs(part)
                                .map(|s| format_secs((s / factor).max(MIN_RANGE_SECS.min(s))))
                        })
                        .collect::<Option<Vec<String>>>()
                });
                match (scaled, close) {
                    (Some(parts), Some(j)) => {
                        out.push('[');
                        out.push_str(&parts.join(":"));
                        out.push(']');
                        while chars.peek().is_some_and(|(k, _)| *k <= j) {
                            chars.next();
                        }
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A rule file (YAML text) with every rule's `expr` and `for` compressed.
pub fn compress_file(text: &str, factor: f64) -> anyhow::Result<String> {
    if factor == 1.0 {
        return Ok(text.to_owned());
    }
    let mut doc: Value = serde_yaml_ng::from_str(text).context("not a rule file")?;
    let groups = doc
        .get_mut("groups")
        .and_then(Value::as_sequence_mut)
        .context("a rule file has `groups:`")?;
    for group in groups {
        let Some(rules) = group.get_mut("rules").and_then(Value::as_sequence_mut) else {
            continue;
        };
        for rule in rules {
            let Some(rule) = rule.as_mapping_mut() else {
                continue;
            };
            if let Some(Value::String(expr)) = rule.get_mut("expr") {
                *expr = compress_expr(expr, factor);
            }
            for key in ["for", "keep_firing_for"] {
                if let Some(Value::String(d)) = rule.get_mut(key)
                    && let Some(secs) = duration_secs(d)
                {
                    *d = format_secs(secs / factor);
                }
            }
        }
    }
    serde_yaml_ng::to_string(&doc).context("cannot write the compressed rules")
}

/// Writes the (compressed) rule files into `dir`; their names.
pub fn write(
    rules: &[std::path::PathBuf],
    spec: &slo::spec::Spec,
    compress: f64,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    for path in rules {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the rule file {} (run from the repository's root, or pass --rules)",
                path.display()
            )
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rules.yml".into());
        files.push((name, text));
    }
    files.push((
        "slo.generated.rules.yml".into(),
        slo::rules::to_yaml(spec, "the experiment's spec"),
    ));
    for (name, text) in files {
        let compressed =
            compress_file(&text, compress).with_context(|| format!("cannot compress {name}"))?;
        std::fs::write(dir.join(&name), compressed)?;
        names.push(name);
    }
    Ok(names)
}

/// A process the experiment's Prometheus scrapes, and the labels its series get.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub address: String,
    pub labels: Vec<(&'static str, String)>,
}

/// Prometheus' configuration: scrape every target as job `job` (one the
/// symptom alerts select: `banter` for the embedded platform, `banter-split`
/// for the split deployment's processes) every second, evaluate `rule_files`
/// every second.
pub fn prometheus_config(job: &str, targets: &[Target], rule_files: &[String]) -> String {
    let files: String = rule_files.iter().map(|f| format!("  - '{f}'\n")).collect();
    let mut config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n{files}scrape_configs:\n  - job_name: {job}\n    static_configs:\n"
    );
    for t in targets {
        config.push_str(&format!("      - targets: ['{}']\n", t.address));
        if !t.labels.is_empty() {
            let labels: Vec<String> = t
                .labels
                .iter()
                .map(|(k, v)| format!("{k}: '{v}'"))
                .collect();
            config.push_str(&format!("        labels: {{{}}}\n", labels.join(", ")));
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_shrink_by_the_factor_but_not_below_four_scrapes() {
        assert_eq!(
            compress_expr("rate(x[5m]) / rate(y[1h])", 60.0),
            "rate(x[5s]) / rate(y[60s])"
        );
        assert_eq!(compress_expr("rate(x[1m])", 60.0), "rate(x[4s])");
        assert_eq!(
            compress_expr("max_over_time(x[30m:1m])", 60.0),
            "max_over_time(x[30s:4s])"
        );
        assert_eq!(compress_expr("rate(x[90s])", 60.0), "rate(x[4s])");
        assert_eq!(compress_expr("rate(x[1d])", 7.0), "rate(x[12342857ms])");
    }

    #[test]
    fn brackets_in_label_values_are_not_ranges() {
        let e = r#"rate(x{code=~"5[0-9]{2}",le=~"0\\.20*"}[5m])"#;
        assert_eq!(
            compress_expr(e, 60.0),
            r#"rate(x{code=~"5[0-9]{2}",le=~"0\\.20*"}[5s])"#
        );
    }

    #[test]
    fn files_compress_expressions_and_for_and_keep_the_rest() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(x[10m]) > 0\n    for: 5m\n    labels: {severity: critical}\n  - record: r\n    expr: sum(rate(y[1h]))\n";
        let out = compress_file(text, 60.0).unwrap();
        assert!(out.contains("rate(x[10s]) > 0"), "{out}");
        assert!(out.contains("for: 5s"), "{out}");
        assert!(out.contains("sum(rate(y[60s]))"), "{out}");
        assert!(out.contains("severity: critical"), "{out}");
        assert_eq!(compress_file(text, 1.0).unwrap(), text);
    }

    #[test]
    fn every_target_is_scraped_with_its_labels() {
        let targets = [
            Target {
                address: "127.0.0.1:1".into(),
                labels: vec![("target", "chat".into()), ("process", "chat-1".into())],
            },
            Target {
                address: "127.0.0.1:2".into(),
                labels: vec![("target", "chat".into()), ("process", "chat-2".into())],
            },
        ];
        let text = prometheus_config("banter-split", &targets, &["a.yml".into()]);
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        let job = &doc["scrape_configs"][0];
        assert_eq!(job["job_name"], "banter-split");
        let configs = job["static_configs"].as_sequence().unwrap();
        assert_eq!(configs.len(), 2, "{text}");
        assert_eq!(configs[1]["targets"][0], "127.0.0.1:2");
        assert_eq!(configs[1]["labels"]["process"], "chat-2");
        assert_eq!(doc["rule_files"][0], "a.yml");
        let one = prometheus_config("banter", &targets[..1], &[]);
        assert!(one.contains("job_name: banter\n"), "{one}");
    }

    #[test]
    fn durations_read_as_prometheus_writes_them() {
        assert_eq!(duration_secs("1h30m"), Some(5400.0));
        assert_eq!(duration_secs("500ms"), Some(0.5));
        assert_eq!(duration_secs("3d"), Some(259_200.0));
        assert_eq!(duration_secs("x"), None);
    }
}
