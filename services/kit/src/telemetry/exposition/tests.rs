use super::*;

const TEXT: &str = "\
# TYPE zeta_total counter
zeta_total{b=\"2\"} 1
zeta_total{b=\"1\"} 2

# HELP alpha Alpha.
# TYPE alpha gauge
alpha 3

# HELP t_seconds Time.
# TYPE t_seconds histogram
t_seconds_bucket{s=\"b\",le=\"0.1\"} 1
t_seconds_bucket{s=\"b\",le=\"+Inf\"} 1
t_seconds_sum{s=\"b\"} 0.05
t_seconds_count{s=\"b\"} 1
t_seconds_bucket{s=\"a\",le=\"0.1\"} 0
t_seconds_bucket{s=\"a\",le=\"+Inf\"} 2
t_seconds_sum{s=\"a\"} 3
t_seconds_count{s=\"a\"} 2

";

#[test]
fn families_and_series_come_out_sorted_with_histograms_whole() {
    let sorted = sorted(TEXT);
    let names: Vec<&str> = sorted
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    assert_eq!(
        names,
        ["alpha gauge", "t_seconds histogram", "zeta_total counter"]
    );
    let t: Vec<&str> = sorted.lines().filter(|l| l.starts_with("t_")).collect();
    assert_eq!(t[0], "t_seconds_bucket{s=\"a\",le=\"0.1\"} 0");
    assert_eq!(t[3], "t_seconds_count{s=\"a\"} 2");
    assert_eq!(t[4], "t_seconds_bucket{s=\"b\",le=\"0.1\"} 1");
    assert!(sorted.find("zeta_total{b=\"1\"}") < sorted.find("zeta_total{b=\"2\"}"));
    assert_eq!(sorted, super::sorted(&sorted), "sorting is stable");
}

#[test]
fn openmetrics_names_counters_and_ends_with_eof() {
    let om = openmetrics(&sorted(TEXT));
    assert!(
        om.contains("# TYPE zeta counter\nzeta_total{b=\"1\"} 2\n"),
        "{om}"
    );
    assert!(om.ends_with("# EOF\n"));
    assert!(!om.contains("\n\n"));
}

#[test]
fn duration_buckets_carry_the_trace_of_an_observation_in_them() {
    let labels = [("service", "exemplar-test"), ("http_route", "/x")];
    keep_exemplar(&labels, 0.18, "4bf92f3577b34da6a3ce929d0e0e4736");
    keep_exemplar(&labels, 0.01, "00000000000000000000000000000000");
    let text = format!(
        "# TYPE {EXEMPLAR_HISTOGRAM} histogram\n\
         {EXEMPLAR_HISTOGRAM}_bucket{{service=\"exemplar-test\",http_route=\"/x\",le=\"0.15\"}} 0\n\
         {EXEMPLAR_HISTOGRAM}_bucket{{service=\"exemplar-test\",http_route=\"/x\",le=\"0.2\"}} 1\n\
         {EXEMPLAR_HISTOGRAM}_bucket{{service=\"exemplar-test\",http_route=\"/x\",le=\"+Inf\"}} 1\n"
    );
    let om = openmetrics(&text);
    let lines: Vec<&str> = om.lines().collect();
    assert!(
        !lines[1].contains('#'),
        "no exemplar below 0.18: {}",
        lines[1]
    );
    assert!(
        lines[2].contains(" 1 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 0.18 "),
        "{}",
        lines[2]
    );
    assert!(!lines[3].contains('#'), "{}", lines[3]);
}
