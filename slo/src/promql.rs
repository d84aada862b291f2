//! A small PromQL evaluator over two scrapes ("before" and "after"), so the same
//! SLI queries work without a Prometheus server.
//!
//! Parsing is `promql-parser`'s; what evaluates is the subset SLI queries use:
//! `rate` / `increase` over a range selector (the range is ignored: the window is
//! the time between the two scrapes), `sum` (with `by` / `without`), `+ - * /`
//! between vectors with identical labels or with scalars, number literals and
//! parentheses. Anything else is refused with a message that says to use
//! `--prometheus`.

use std::collections::BTreeMap;

use promql_parser::parser::{Expr, VectorSelector};

use crate::math::counter_increase;

/// Label set of one series, without `__name__`.
pub type Labels = BTreeMap<String, String>;

/// One scraped sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

/// An instant vector or a scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
}

/// Two scrapes and the seconds between them.
pub struct Window<'a> {
    pub before: &'a [Series],
    pub after: &'a [Series],
    pub seconds: f64,
}

/// Calls `f` on every vector selector in `expr`.
pub fn visit_selectors(expr: &Expr, f: &mut dyn FnMut(&VectorSelector)) {
    match expr {
        Expr::Aggregate(a) => {
            visit_selectors(&a.expr, f);
            if let Some(p) = &a.param {
                visit_selectors(p, f);
            }
        }
        Expr::Unary(u) => visit_selectors(&u.expr, f),
        Expr::Binary(b) => {
            visit_selectors(&b.lhs, f);
            visit_selectors(&b.rhs, f);
        }
        Expr::Paren(p) => visit_selectors(&p.expr, f),
        Expr::Subquery(s) => visit_selectors(&s.expr, f),
        Expr::VectorSelector(vs) => f(vs),
        Expr::MatrixSelector(ms) => f(&ms.vs),
        Expr::Call(c) => c.args.args.iter().for_each(|a| visit_selectors(a, f)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn selects(vs: &VectorSelector, s: &Series) -> bool {
    if let Some(name) = &vs.name
        && name != &s.name
    {
        return false;
    }
    let matches = |m: &promql_parser::label::Matcher| {
        let v = if m.name == "__name__" {
            s.name.as_str()
        } else {
            s.labels.get(&m.name).map_or("", String::as_str)
        };
        m.is_match(v)
    };
    let all = vs.matchers.matchers.iter().all(matches);
    if vs.matchers.or_matchers.is_empty() {
        all
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .any(|group| group.iter().all(matches))
    }
}

fn unsupported(what: &str) -> String {
    format!(
        "the scrape source cannot evaluate {what}; it supports sum/rate/increase and + - * / \
         (use --prometheus for full PromQL)"
    )
}

/// Evaluates a query over a window.
pub fn eval(query: &str, w: &Window<'_>) -> Result<Value, String> {
    let expr = promql_parser::parser::parse(query).map_err(|e| format!("invalid PromQL: {e}"))?;
    eval_expr(&expr, w)
}

fn check_plain(vs: &VectorSelector) -> Result<(), String> {
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(unsupported("`offset` or `@`"));
    }
    Ok(())
}

fn eval_expr(expr: &Expr, w: &Window<'_>) -> Result<Value, String> {
    match expr {
        Expr::Paren(p) => eval_expr(&p.expr, w),
        Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
        Expr::VectorSelector(vs) => {
            check_plain(vs)?;
            Ok(Value::Vector(
                w.after
                    .iter()
                    .filter(|s| selects(vs, s))
                    .map(|s| (s.labels.clone(), s.value))
                    .collect(),
            ))
        }
        Expr::Call(call) if matches!(call.func.name, "rate" | "increase") => {
            let Some(Expr::MatrixSelector(ms)) = call.args.args.first().map(|a| a.as_ref()) else {
                return Err(unsupported(&format!(
                    "{}() without a range selector",
                    call.func.name
                )));
            };
            check_plain(&ms.vs)?;
            let per = if call.func.name == "rate" {
                w.seconds
            } else {
                1.0
            };
            let out = w
                .after
                .iter()
                .filter(|s| selects(&ms.vs, s))
                .map(|s| {
                    let before = w
                        .before
                        .iter()
                        .find(|b| b.name == s.name && b.labels == s.labels)
                        .map_or(0.0, |b| b.value);
                    (s.labels.clone(), counter_increase(before, s.value) / per)
                })
                .collect();
            Ok(Value::Vector(out))
        }
        Expr::Call(call) => Err(unsupported(&format!("{}()", call.func.name))),
        Expr::Aggregate(agg) => {
            let op = agg.op.to_string();
            if op != "sum" && op != "count" {
                return Err(unsupported(&format!("the `{op}` aggregation")));
            }
            let Value::Vector(v) = eval_expr(&agg.expr, w)? else {
                return Err(format!("{op}() needs a vector"));
            };
            let mut groups: BTreeMap<Labels, f64> = BTreeMap::new();
            for (labels, value) in v {
                let key: Labels = match &agg.modifier {
                    None => Labels::new(),
                    Some(m) => {
                        let names = &m.labels().labels;
                        labels
                            .into_iter()
                            .filter(|(k, _)| names.contains(k) == m.is_include())
                            .collect()
                    }
                };
                *groups.entry(key).or_insert(0.0) += if op == "sum" { value } else { 1.0 };
            }
            Ok(Value::Vector(groups.into_iter().collect()))
        }
        Expr::Binary(b) => {
            if b.modifier.as_ref().is_some_and(|m| {
                m.matching.is_some()
                    || m.return_bool
                    || !matches!(
                        m.card,
                        promql_parser::parser::VectorMatchCardinality::OneToOne
                    )
            }) {
                return Err(unsupported("`on`/`ignoring`/`group_*`/`bool` modifiers"));
            }
            let op = b.op.to_string();
            let f = match op.as_str() {
                "+" => |a: f64, b: f64| a + b,
                "-" => |a: f64, b: f64| a - b,
                "*" => |a: f64, b: f64| a * b,
                "/" => |a: f64, b: f64| a / b,
                other => return Err(unsupported(&format!("the `{other}` operator"))),
            };
            let lhs = eval_expr(&b.lhs, w)?;
            let rhs = eval_expr(&b.rhs, w)?;
            Ok(match (lhs, rhs) {
                (Value::Scalar(a), Value::Scalar(c)) => Value::Scalar(f(a, c)),
                (Value::Vector(v), Value::Scalar(c)) => {
                    Value::Vector(v.into_iter().map(|(l, a)| (l, f(a, c))).collect())
                }
                (Value::Scalar(a), Value::Vector(v)) => {
                    Value::Vector(v.into_iter().map(|(l, c)| (l, f(a, c))).collect())
                }
                (Value::Vector(l), Value::Vector(r)) => Value::Vector(
                    l.into_iter()
                        .filter_map(|(labels, a)| {
                            r.iter()
                                .find(|(rl, _)| *rl == labels)
                                .map(|(_, c)| (labels, f(a, *c)))
                        })
                        .collect(),
                ),
            })
        }
        other => Err(unsupported(&format!("`{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, labels: &[(&str, &str)], value: f64) -> Series {
        Series {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }

    #[test]
    fn evaluates_sli_queries_over_two_scrapes() {
        let c = "http_server_request_duration_seconds_count";
        let before = vec![
            s(c, &[("service", "users"), ("code", "200")], 100.0),
            s(c, &[("service", "users"), ("code", "500")], 1.0),
            s(c, &[("service", "chat"), ("code", "200")], 50.0),
        ];
        let after = vec![
            s(c, &[("service", "users"), ("code", "200")], 190.0),
            s(c, &[("service", "users"), ("code", "500")], 3.0),
            // reset: restarted and counted 5 since
            s(c, &[("service", "chat"), ("code", "200")], 5.0),
            // new series: counts from zero
            s(c, &[("service", "users"), ("code", "503")], 8.0),
        ];
        let w = Window {
            before: &before,
            after: &after,
            seconds: 10.0,
        };
        let one = |q: &str| match eval(q, &w).unwrap() {
            Value::Vector(v) if v.len() == 1 => v[0].1,
            Value::Scalar(x) => x,
            other => panic!("{q}: {other:?}"),
        };
        let errors = format!(r#"sum(rate({c}{{service="users",code=~"5.."}}[5m]))"#);
        let total = format!(r#"sum(rate({c}{{service="users"}}[5m]))"#);
        assert!((one(&errors) - 1.0).abs() < 1e-12);
        assert!((one(&total) - 10.0).abs() < 1e-12);
        assert!((one(&format!("({errors}) / ({total})")) - 0.1).abs() < 1e-12);
        assert_eq!(
            one(&format!(r#"sum(increase({c}{{service="chat"}}[1h]))"#)),
            5.0
        );
        assert_eq!(one("1 - 0.25"), 0.75);
        match eval(&format!("sum by (service) (increase({c}[5m]))"), &w).unwrap() {
            Value::Vector(v) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
        let err = eval(&format!("histogram_quantile(0.9, rate({c}[5m]))"), &w).unwrap_err();
        assert!(err.contains("--prometheus"), "{err}");
    }
}
