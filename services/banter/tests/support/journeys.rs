//! Runs one loadgen journey against a base URL and checks it was clean:
//! every step measured, no errors.

use loadgen::context::JourneySettings;
use loadgen::profile::{Plan, ProfileName, Request};
use loadgen::target::Targets;
use loadgen::{Journey, RunConfig};
use runrecord::RunRecord;
use std::time::Duration;

/// Closed model, the measured window opening at once so the sign-ups count.
pub fn closed(users: usize, seconds: u64) -> Request {
    Request {
        users: Some(users),
        rate: None,
        duration: Some(Duration::from_secs(seconds)),
        warmup: Some(Duration::ZERO),
    }
}

/// The smoke profile of `journey` with `request` against `base`; panics
/// unless every step was measured without errors.
pub async fn run_clean(
    base: &str,
    journey: Journey,
    request: &Request,
    stream_share: f64,
) -> RunRecord {
    let settings = JourneySettings {
        stream_share,
        ..JourneySettings::default()
    };
    run_clean_with(base, journey, request, settings).await
}

/// [`run_clean`] with all the journeys' settings.
pub async fn run_clean_with(
    base: &str,
    journey: Journey,
    request: &Request,
    settings: JourneySettings,
) -> RunRecord {
    let plan = Plan::new(ProfileName::Smoke, request).unwrap();
    run_plan_clean(base, journey, plan, settings).await
}

/// [`run_clean_with`] with a plan of any profile.
pub async fn run_plan_clean(
    base: &str,
    journey: Journey,
    plan: Plan,
    settings: JourneySettings,
) -> RunRecord {
    let config = RunConfig {
        targets: Targets::single(base).unwrap(),
        journeys: vec![journey],
        plan,
        settings,
        out: None,
        metrics_port: None,
        progress: false,
        slo_spec: None,
        max_stages: 1,
        rate_factor: 1.5,
    };
    let record = loadgen::run(&config).await.unwrap().record;
    println!("{}", loadgen::report::summary(&record));
    for name in journey.steps() {
        let key = format!("{}/{name}", journey.name());
        let step = record
            .step(&key)
            .unwrap_or_else(|| panic!("step {key} was never measured"));
        assert!(step.latency.count() > 0, "{key}: empty histogram");
        assert_eq!(step.errors.total(), 0, "{key}: {:?}", step.errors);
    }
    record
}
