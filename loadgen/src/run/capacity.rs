//! The capacity profile: raise the arrival rate stage by stage, judge each
//! stage with the SLO (`slo::objectives`), and report the highest rate that
//! held.

use super::*;

#[derive(Debug, Clone)]
pub struct Capacity {
    pub highest_rate: Option<f64>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub rate: f64,
    pub achieved_per_second: f64,
    pub p95_ms: f64,
    pub error_rate: f64,
    pub held: bool,
    pub verdict: String,
}

/// Raises the arrival rate stage by stage until the SLO breaks.
pub(super) async fn capacity(
    cfg: &RunConfig,
    targets: &[Target],
    live: &Live,
) -> anyhow::Result<(RunRecord, Option<Capacity>)> {
    let (spec, spec_name) = slo::objectives::load_or_builtin(cfg.slo_spec.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let Model::Open {
        rate: first,
        pool: first_pool,
    } = cfg.plan.model
    else {
        anyhow::bail!("the capacity profile needs the open model");
    };
    let mut stages = Vec::new();
    let mut best: Option<(f64, RunRecord)> = None;
    let mut last = None;
    let mut rate = first;
    for k in 0..cfg.max_stages.max(1) {
        // A pool the user asked for is a floor; it grows with the rate.
        let pool = crate::profile::pool_for_iterations(rate, longest_iteration(&cfg.journeys))
            .max(first_pool);
        let plan = cfg.plan.at_rate(rate, Some(pool));
        let label = format!("stage {} @ {rate:.1}/s ", k + 1);
        if cfg.progress {
            eprint_line(&format!(
                "capacity: {label}— {}s warm-up + {}s measured",
                plan.warmup.as_secs(),
                plan.duration.as_secs()
            ));
        }
        let record = run_plan(cfg, &plan, targets, live, &label).await?;
        let report = slo::objectives::check_run(&spec, &spec_name, &record, &label).await;
        let breached = slo::objectives::breached(&report);
        let requests: u64 = record.steps.iter().map(|s| s.requests).sum();
        let errors: u64 = record.steps.iter().map(|s| s.errors.total()).sum();
        let mut all = runrecord::LatencyHistogram::new();
        for s in &record.steps {
            let _ = all.add(&s.latency);
        }
        let held = breached.is_empty() && requests > 0;
        let stage = Stage {
            rate,
            achieved_per_second: requests as f64 / record.window.seconds().max(1e-3),
            p95_ms: all.quantile_us(0.95) as f64 / 1000.0,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            held,
            verdict: if held {
                "held".into()
            } else if requests == 0 {
                "no requests".into()
            } else {
                format!("breached {}", breached.join(", "))
            },
        };
        if cfg.progress {
            eprint_line(&format!(
                "capacity: {label}→ p95 {:.1} ms, errors {:.3} %, {}",
                stage.p95_ms,
                stage.error_rate * 100.0,
                stage.verdict
            ));
        }
        stages.push(stage);
        if let Some(out) = &cfg.out {
            record.write(out.join(format!("capacity-stage-{}.json", k + 1)))?;
        }
        if !held {
            last = Some(record);
            break;
        }
        best = Some((rate, record));
        rate = (rate * cfg.rate_factor.max(1.05) * 10.0).round() / 10.0;
    }
    let highest_rate = best.as_ref().map(|(r, _)| *r);
    let mut record = match (best, last) {
        (Some((_, r)), _) => r,
        (None, Some(r)) => r,
        (None, None) => anyhow::bail!("no capacity stage ran"),
    };
    record
        .profile
        .parameters
        .insert("highest_rate_meeting_slo".into(), json!(highest_rate));
    record.profile.parameters.insert(
        "stages".into(),
        json!(stages
            .iter()
            .map(|s| json!({"rate_per_second": s.rate, "achieved_per_second": s.achieved_per_second,
                "p95_ms": s.p95_ms, "error_rate": s.error_rate, "verdict": s.verdict}))
            .collect::<Vec<_>>()),
    );
    Ok((
        record,
        Some(Capacity {
            highest_rate,
            stages,
        }),
    ))
}
