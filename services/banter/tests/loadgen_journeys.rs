//! Every loadgen journey, briefly, against the embedded platform: each step
//! measured (non-empty histogram), no errors, delivery through the SSE
//! streams timed, and every post composed found in a follower's timeline.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use loadgen::Journey;
use loadgen::context::JourneySettings;
use loadgen::journeys::social::graph::GraphSize;
use loadgen::profile::{Plan, ProfileName, Request};
use runrecord::RunRecord;
use support::Banter;
use support::journeys::{closed, run_clean_with, run_plan_clean};

/// Goose keeps process-wide state (its ctrl-c flag): one run at a time.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run(journey: Journey, request: Request, stream_share: f64) -> RunRecord {
    let settings = JourneySettings {
        stream_share,
        ..JourneySettings::default()
    };
    run_with(journey, request, settings).await
}

async fn run_with(journey: Journey, request: Request, settings: JourneySettings) -> RunRecord {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let banter = Banter::start(&[], &[]).await;
    let record = run_clean_with(&banter.base, journey, &request, settings).await;
    assert_eq!(record.journeys, vec![journey.name().to_owned()]);
    assert!(record.window.seconds() > 0.0);
    // Valid JSON in, the same record out.
    let again = RunRecord::from_json(&record.to_json(), "test").unwrap();
    assert_eq!(again, record);
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_benchmark_measures_every_step() {
    let record = run(Journey::SeedBenchmark, closed(2, 4), 0.0).await;
    let sends = record.step("seed-benchmark/send-message").unwrap();
    let opens = record.step("seed-benchmark/open-room").unwrap();
    assert!(sends.requests >= 5 * opens.requests.saturating_sub(1));
}

/// k6's ramping-vus profile ends with its ramp down, and so does the run: a
/// plan with a further 0-user step after it left goose idling for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_benchmark_profile_stops_after_its_ramp_down() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let banter = Banter::start(&[], &[]).await;
    // The shortest plan: 10 s up, 1 s held, 10 s down.
    let plan = Plan::new(ProfileName::SeedBenchmark, &closed(2, 21)).unwrap();
    let run = run_plan_clean(
        &banter.base,
        Journey::SeedBenchmark,
        plan,
        JourneySettings::default(),
    );
    let record = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("a 21 s seed-benchmark plan still running after 90 s");
    assert!(!record.interrupted);
    assert!(
        record.window.seconds() >= 15.0,
        "{}",
        record.window.seconds()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_measures_delivery_on_the_partners_stream() {
    // Open model: no think time, so every weighted action comes round quickly.
    let request = Request {
        users: Some(2),
        rate: Some(15.0),
        duration: Some(Duration::from_secs(4)),
        warmup: Some(Duration::ZERO),
    };
    let record = run(Journey::Chat, request, 1.0).await;
    let delivery = record.step("chat/sse-delivery").unwrap();
    assert!(delivery.latency.count() > 0);
    assert_eq!(record.profile.parameters["model"], "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_arrive_on_the_stream() {
    let record = run(Journey::Notifications, closed(2, 5), 0.0).await;
    for step in [
        "friend-request-notified",
        "friend-accepted-notified",
        "message-notified",
    ] {
        let s = record.step(&format!("notifications/{step}")).unwrap();
        assert!(s.latency.count() > 0, "{step}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn social_posts_reach_a_followers_timeline_by_the_next_request() {
    // A small community, seeded in the measured window so its steps count.
    let social = GraphSize {
        accounts: 12,
        follows: 3,
    };
    let settings = JourneySettings {
        social,
        ..JourneySettings::default()
    };
    let record = run_with(Journey::Social, closed(3, 12), settings).await;
    // Every post composed after the seed was checked in a follower's home
    // timeline, and found (run_with: no step failed).
    let visible = record.step("social/post-visible").unwrap();
    assert!(visible.latency.count() > 0);
    let composed = record.step("social/compose-post").unwrap();
    let seeded = social.accounts as u64;
    // A first post per account, then one check per post (the last of each
    // of the 3 users may fall after the window closes).
    assert!(
        (visible.requests + seeded..=visible.requests + seeded + 3).contains(&composed.requests),
        "{} posts, {} checks",
        composed.requests,
        visible.requests
    );
    let registered = record.step("social/register").unwrap();
    assert_eq!(registered.requests, seeded, "seeded once, for every user");
    assert_eq!(registered.service.as_deref(), Some("users"));
    assert_eq!(visible.service.as_deref(), Some("posts"));
}
