use super::*;

#[test]
fn reads_every_kind_from_the_flag_syntax() {
    let spec = FaultSpec::parse_flag("db-latency:users:latency_ms=100..300,share=0.5,duration=30s")
        .unwrap();
    assert_eq!(spec.service, "users");
    assert_eq!(spec.duration, Some(Duration::from_secs(30)));
    assert_eq!(
        spec.fault,
        Fault::DbLatency {
            latency: Latency {
                min_ms: 100,
                max_ms: 300
            },
            share: 0.5
        }
    );
    assert_eq!(
        FaultSpec::parse_flag("http-errors:chat:route=/api/chat/rooms")
            .unwrap()
            .fault,
        Fault::HttpErrors {
            share: 1.0,
            route: Some("/api/chat/rooms".into())
        }
    );
    assert_eq!(
        FaultSpec::parse_flag("bus-stall:users").unwrap().fault,
        Fault::BusStall
    );
    assert_eq!(
        FaultSpec::parse_flag("consumer-failures:friends:consumer=user.events,share=0.1")
            .unwrap()
            .fault,
        Fault::ConsumerFailures {
            share: 0.1,
            consumer: Some("user.events".into())
        }
    );
    assert_eq!(
        FaultSpec::parse_flag("cpu-starvation:users:threads=2,duration=500ms").unwrap(),
        FaultSpec {
            service: "users".into(),
            fault: Fault::CpuStarvation { threads: 2 },
            duration: Some(Duration::from_millis(500)),
        }
    );
    assert_eq!(
        FaultSpec::parse_flag("memory-growth:chat:mb_per_sec=5")
            .unwrap()
            .fault,
        Fault::MemoryGrowth {
            mb_per_sec: 5.0,
            max_mb: 512
        }
    );
    assert_eq!(
        FaultSpec::parse_flag("dependency-down:users")
            .unwrap()
            .fault,
        Fault::DependencyDown {
            dependency: Dependency::Redis
        }
    );
    assert_eq!(
        FaultSpec::parse_flag("db-latency:users:duration=2m")
            .unwrap()
            .duration,
        Some(Duration::from_secs(120))
    );
}

#[test]
fn mistakes_are_named() {
    let cases = [
        ("nope:users", "unknown fault kind `nope`"),
        ("kill-instance:users", "split deployment"),
        ("http-errors", "names no service"),
        ("http-errors:", "names no service"),
        ("http-errors:chat:share", "has no value"),
        ("http-errors:chat:share=2", "share=2 is not a share"),
        ("http-errors:chat:share=x", "share=x is not a share"),
        (
            "http-errors:chat:latency_ms=3",
            "unknown parameter `latency_ms` for http-errors",
        ),
        (
            "bus-stall:chat:share=1",
            "unknown parameter `share` for bus-stall; expected duration",
        ),
        ("http-errors:chat:share=1,share=0", "given twice"),
        (
            "db-latency:users:latency_ms=300..100",
            "latency_ms=300..100 is not a latency",
        ),
        ("db-latency:users:latency_ms=-1", "is not a latency"),
        (
            "db-latency:users:duration=0",
            "duration=0 is not a duration",
        ),
        ("db-latency:users:duration=soon", "is not a duration"),
        (
            "cpu-starvation:users:threads=0",
            "threads=0 is not a number between 1 and 64",
        ),
        (
            "dependency-down:users:dependency=kafka",
            "cannot take `kafka` down",
        ),
    ];
    for (raw, expected) in cases {
        let msg = FaultSpec::parse_flag(raw).unwrap_err().0;
        assert!(msg.contains(expected), "{raw}: {msg}");
    }
}

#[test]
fn json_bodies_use_the_same_keys() {
    let body = serde_json::json!({
        "kind": "http-errors", "service": "chat", "share": 0.5, "duration": "10s"
    });
    let spec = FaultSpec::from_json(&body).unwrap();
    assert_eq!(
        spec.fault,
        Fault::HttpErrors {
            share: 0.5,
            route: None
        }
    );
    assert_eq!(spec.duration, Some(Duration::from_secs(10)));
    let body = serde_json::json!({"kind": "db-latency", "service": "users", "latency_ms": 20});
    assert!(FaultSpec::from_json(&body).is_ok());
    for (body, expected) in [
        (serde_json::json!([1]), "expected a JSON object"),
        (serde_json::json!({"service": "chat"}), "`kind` is missing"),
        (
            serde_json::json!({"kind": "bus-stall", "service": 3}),
            "`service` must be a string",
        ),
        (
            serde_json::json!({"kind": "bus-stall", "service": "chat", "x": true}),
            "`x` must be a number or a string",
        ),
    ] {
        let msg = FaultSpec::from_json(&body).unwrap_err().0;
        assert!(msg.contains(expected), "{body}: {msg}");
    }
}
