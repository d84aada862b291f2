//! The scrape source against recorded expositions (two snapshots of one
//! histogram).

use super::*;

const BEFORE: &str = r#"# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.1"} 10
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.2"} 18
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="+Inf"} 20
http_server_request_duration_seconds_sum{service="users",http_route="/api/users/{user_id}"} 2.5
http_server_request_duration_seconds_count{service="users",http_route="/api/users/{user_id}"} 20
"#;
const AFTER: &str = r#"# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.1"} 60
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="0.2"} 108
http_server_request_duration_seconds_bucket{service="users",http_route="/api/users/{user_id}",le="+Inf"} 120
http_server_request_duration_seconds_sum{service="users",http_route="/api/users/{user_id}"} 12.5
http_server_request_duration_seconds_count{service="users",http_route="/api/users/{user_id}"} 120
http_server_request_duration_seconds_bucket{service="chat",http_route="/b",le="0.1"} 1
http_server_request_duration_seconds_bucket{service="chat",http_route="/b",le="0.2"} 1
http_server_request_duration_seconds_bucket{service="chat",http_route="/b",le="+Inf"} 1
http_server_request_duration_seconds_count{service="chat",http_route="/b"} 1
"#;

fn snap(text: &str, secs: i64) -> Snapshot {
    Snapshot {
        taken_at: DateTime::from_timestamp(1_795_255_200 + secs, 0).unwrap(),
        endpoints: vec![("http://127.0.0.1:1/metrics".into(), text.into())],
    }
}

#[tokio::test]
async fn measures_latency_between_two_snapshots() {
    let before = Snapshot::parse(&snap(BEFORE, 0).to_text()).unwrap();
    assert_eq!(before, snap(BEFORE, 0));
    let src = ScrapeSource::from_snapshots(Some(&before), &snap(AFTER, 10)).unwrap();
    let spec = crate::spec::latency_objectives(
        "http_server_request_duration_seconds",
        &[("users-latency", r#"service="users""#)],
    );
    let m = src.measure(&spec.slos[0]).await.unwrap();
    // 100 new requests, 90 of them ≤ 0.2 s.
    assert_eq!(m.total, Some(100.0));
    assert!((m.good_ratio.unwrap() - 0.9).abs() < 1e-12);
    let lat = m.latency.unwrap();
    // rank 95 in (0.2, +Inf]: the highest finite bound.
    assert_eq!(lat.estimate_seconds, Some(0.2));
    assert_eq!(src.range(), "10s");
}

#[tokio::test]
async fn a_restart_between_the_scrapes_counts_from_zero() {
    let spec = crate::spec::latency_objectives(
        "http_server_request_duration_seconds",
        &[("users-latency", r#"service="users""#)],
    );
    // After a restart only 12 requests were counted, 9 within 0.2 s: the
    // +Inf bucket alone did not go down, but the histogram reset as a whole.
    let restarted = AFTER
        .replace("le=\"0.1\"} 60", "le=\"0.1\"} 5")
        .replace("le=\"0.2\"} 108", "le=\"0.2\"} 9")
        .replace("le=\"+Inf\"} 120", "le=\"+Inf\"} 21")
        .replace(
            "_count{service=\"users\",http_route=\"/api/users/{user_id}\"} 120",
            "_count{service=\"users\",http_route=\"/api/users/{user_id}\"} 21",
        );
    let src = ScrapeSource::from_snapshots(Some(&snap(BEFORE, 0)), &snap(&restarted, 10)).unwrap();
    let m = src.measure(&spec.slos[0]).await.unwrap();
    assert_eq!(m.total, Some(21.0));
    assert!((m.good_ratio.unwrap() - 9.0 / 21.0).abs() < 1e-12);
    assert!(src.describe().contains("restarted"), "{}", src.describe());
}

#[test]
fn refuses_a_snapshot_of_other_endpoints() {
    let mut other = snap(BEFORE, 0);
    other.endpoints[0].0 = "http://127.0.0.1:2/metrics".into();
    let err = ScrapeSource::from_snapshots(Some(&other), &snap(AFTER, 10))
        .err()
        .unwrap();
    assert!(err.0.contains("same endpoints"), "{err}");
    assert!(Snapshot::parse("foo 1\n").is_err());
    assert_eq!(metrics_url("http://h:1"), "http://h:1/metrics");
    assert_eq!(metrics_url("http://h:1/x/metrics"), "http://h:1/x/metrics");
}
