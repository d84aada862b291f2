use super::*;

fn spec(raw: &str) -> FaultSpec {
    FaultSpec::parse_flag(raw).unwrap()
}

#[tokio::test]
async fn faults_are_off_until_switched_on_and_after_switched_off() {
    let faults = Faults::default();
    faults.serves("users");
    faults.serves("chat");
    assert!(!faults.http_error("users", "/x"));
    assert!(faults.db_delay("users").is_none());

    let on = faults
        .switch_on(spec("http-errors:users:route=/x"))
        .unwrap();
    assert!(faults.http_error("users", "/x"));
    assert!(!faults.http_error("users", "/y"), "only the named route");
    assert!(!faults.http_error("chat", "/x"), "only the named service");
    assert_eq!(faults.active().len(), 1);
    assert_eq!(faults.active()[0].params["route"], "/x");

    assert_eq!(faults.switch_off(on.id).map(|f| f.id), Some(on.id));
    assert!(!faults.http_error("users", "/x"));
    assert!(faults.switch_off(on.id).is_none());
    assert!(faults.active().is_empty());
}

#[tokio::test]
async fn probes_match_their_targets() {
    let faults = Faults::default();
    faults
        .switch_on(spec("db-latency:users:latency_ms=5..10"))
        .unwrap();
    let d = faults.db_delay("users").unwrap();
    assert!((5..=10).contains(&(d.as_millis() as u64)), "{d:?}");
    assert!(faults.db_delay("chat").is_none());

    faults
        .switch_on(spec("http-latency:notifications:latency_ms=300,route=/x"))
        .unwrap();
    let d = faults.http_delay("notifications", "/x");
    assert_eq!(d, Some(Duration::from_millis(300)));
    assert!(faults.http_delay("notifications", "/y").is_none());
    assert!(faults.http_delay("users", "/x").is_none());
    assert!(
        !faults.http_error("notifications", "/x"),
        "slow, not failing"
    );
    let ended = faults.switch_off_matching(Some(Kind::HttpLatency), None);
    assert_eq!(ended.len(), 1);

    faults.switch_on(spec("bus-stall:chat")).unwrap();
    assert!(faults.bus_stalled("chat") && !faults.bus_stalled("users"));

    faults
        .switch_on(spec("consumer-failures:friends:consumer=user.events"))
        .unwrap();
    assert!(faults.consumer_fails("friends", "user.events", "friends"));
    assert!(!faults.consumer_fails("friends", "user.online_status", "friends"));
    assert!(!faults.consumer_fails("chat", "user.events", "chat"));

    assert!(!faults.dependency_down(Dependency::Redis));
    assert_eq!(
        faults.switch_on(spec("dependency-down:users")).unwrap_err(),
        FaultError::NoRedis
    );
    faults.uses_redis();
    faults.switch_on(spec("dependency-down:users")).unwrap();
    assert!(faults.dependency_down(Dependency::Redis));

    let ended = faults.switch_off_matching(Some(Kind::BusStall), None);
    assert_eq!(ended.len(), 1);
    assert!(!faults.bus_stalled("chat"));
    assert_eq!(faults.switch_off_matching(None, Some("users")).len(), 2);
    assert_eq!(faults.active().len(), 1);
}

#[tokio::test]
async fn a_share_hits_about_that_share() {
    let faults = Faults::default();
    faults
        .switch_on(spec("http-errors:users:share=0.3"))
        .unwrap();
    let hits = (0..10_000)
        .filter(|_| faults.http_error("users", "/r"))
        .count();
    assert!((2_500..3_500).contains(&hits), "{hits} of 10000");
    faults.switch_off_matching(None, None);
    faults.switch_on(spec("http-errors:users:share=0")).unwrap();
    assert!((0..1000).all(|_| !faults.http_error("users", "/r")));
}

#[tokio::test]
async fn a_fault_with_a_duration_ends_by_itself() {
    let faults = Faults::default();
    faults
        .switch_on(spec("bus-stall:users:duration=100ms"))
        .unwrap();
    assert!(faults.bus_stalled("users"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!faults.bus_stalled("users"));
    assert!(faults.active().is_empty());
}

#[tokio::test]
async fn faults_for_services_the_process_does_not_run_are_refused() {
    let faults = Faults::default();
    faults.serves("users");
    let err = faults.switch_on(spec("bus-stall:chat")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this process runs no service `chat`; it runs users"
    );
}

#[tokio::test]
async fn shutdown_ends_every_fault() {
    let faults = Faults::default();
    let shutdown = CancellationToken::new();
    faults.end_on(shutdown.clone(), &tokio_util::task::TaskTracker::new());
    faults.switch_on(spec("cpu-starvation:users")).unwrap();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(faults.active().is_empty());
}
