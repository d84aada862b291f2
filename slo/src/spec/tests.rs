use super::*;

const GOOD: &str = r#"
version: prometheus/v1
service: banter
slos:
  - name: users-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_server_request_duration_seconds_count{service="users",http_response_status_code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_server_request_duration_seconds_count{service="users"}[{{ .window }}]))
  - name: users-latency
    objective: 95
    sli:
      latency:
        metric: http_server_request_duration_seconds
        selector: service="users"
        threshold: 200ms
"#;

#[test]
fn parses_events_and_latency() {
    let spec = Spec::parse(GOOD, "t.yaml").unwrap();
    assert_eq!(spec.slos.len(), 2);
    assert!((spec.slos[0].objective - 0.999).abs() < 1e-12);
    assert_eq!(spec.slos[0].service.as_deref(), Some("users"));
    assert_eq!(spec.slos[1].service.as_deref(), Some("users"));
    assert!(
        spec.slos[1]
            .service_matcher
            .as_ref()
            .unwrap()
            .is_match("users")
    );
    match &spec.slos[1].sli {
        Sli::Latency {
            threshold_seconds, ..
        } => assert!((threshold_seconds - 0.2).abs() < 1e-12),
        other => panic!("{other:?}"),
    }
    let (e, t) = spec.slos[0].sli.event_queries("30m").unwrap();
    assert!(e.contains("[30m]") && t.contains("[30m]"), "{e} {t}");
    let (e, _) = spec.slos[1].sli.event_queries("5m").unwrap();
    assert!(e.contains(r#"le=~"0\\.20*""#), "{e}");
    promql_parser::parser::parse(&e).unwrap();
}

fn error_of(text: &str) -> SpecError {
    Spec::parse(text, "t.yaml").unwrap_err()
}

#[test]
fn errors_point_at_the_bad_field() {
    let e = error_of(&GOOD.replace("objective: 95", "objective: 120"));
    assert_eq!(e.field, "slos[1].objective");
    let e = error_of(&GOOD.replace("threshold: 200ms", "threshold: 200 parsecs"));
    assert_eq!(e.field, "slos[1].sli.latency.threshold");
    assert!(e.to_string().contains("parsecs"), "{e}");
    let e = error_of(&GOOD.replace("[{{.window}}]))", "[5m]))"));
    assert_eq!(e.field, "slos[0].sli.events.error_query");
    let e = error_of(&GOOD.replace(
        "sum(rate(http_server_request_duration_seconds_count{service=\"users\"}[{{ .window }}]))",
        "sum(rate(x{[{{.window}}]))",
    ));
    assert_eq!(e.field, "slos[0].sli.events.total_query");
    assert!(e.message.contains("not valid PromQL"), "{e}");
    let e = error_of(&GOOD.replace("prometheus/v1", "prometheus/v2"));
    assert_eq!(e.field, "version");
    let e = error_of(&GOOD.replace("objective: 95", "objective: 95\n    sly: 1"));
    assert!(e.field.starts_with("slos[1]"), "{e:?}");
    assert!(e.message.contains("unknown field `sly`"), "{e:?}");
    let e = error_of(&GOOD.replace("objective: 99.9", "objective: lots"));
    assert!(e.field.starts_with("slos[0].objective"), "{e:?}");
    let e = error_of(&GOOD.replace("name: users-latency", "name: users-availability"));
    assert_eq!(e.field, "slos[1].name");
    let e = error_of(&GOOD.replace("selector: service=\"users\"", "selector: service=users"));
    assert_eq!(e.field, "slos[1].sli.latency.selector");
    let e = error_of("version: prometheus/v1\nservice: x\nslos: []\n");
    assert_eq!(e.field, "slos");
}

#[test]
fn the_shipped_spec_is_valid() {
    let spec = Spec::load(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/banter.yaml")).unwrap();
    for service in ["users", "friends", "chat", "notifications", "posts"] {
        for kind in ["latency", "availability"] {
            let slo = spec
                .slos
                .iter()
                .find(|s| s.name == format!("{service}-{kind}"))
                .unwrap_or_else(|| panic!("{service}-{kind}"));
            assert_eq!(slo.service.as_deref(), Some(service));
        }
    }
    let overall = spec
        .slos
        .iter()
        .find(|s| s.name == "overall-latency")
        .unwrap();
    assert_eq!(overall.service, None);
    let m = overall.service_matcher.as_ref().unwrap();
    assert!(m.is_match("chat") && !m.is_match("banter"));
}

#[test]
fn durations() {
    assert_eq!(parse_duration_seconds("200ms").unwrap(), 0.2);
    assert_eq!(parse_duration_seconds("1.5s").unwrap(), 1.5);
    assert_eq!(parse_duration_seconds("5m").unwrap(), 300.0);
    assert!(parse_duration_seconds("fast").is_err());
    assert_eq!(
        with_window("a[{{.window}}] b[{{ .window }}]", "1h"),
        "a[1h] b[1h]"
    );
}
