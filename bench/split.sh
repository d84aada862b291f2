#!/usr/bin/env bash
# The split deployment (deploy/local-cluster.sh) with one and with two
# processes per service, under the same open-model load: throughput, p95 and
# errors per run, and each process's CPU and resident memory read from /proc,
# the figures docs/scaling.md records and deploy/k8s sizes its pods from.
# Writes split.json and split.md; `--help` for the details.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/split.sh [--rounds N] [--rate R] [--duration D] [--warmup W] [-j JOURNEY]...
                      [--out DIR]
       bench/split.sh --summarize [--out DIR]

Starts deploy/local-cluster.sh with BANTER_CLUSTER_INSTANCES=1, runs loadgen at a fixed
arrival rate (open model: the same load whatever the response times) through the
gateway, stops it, then the same with 2, alternating 1 2 / 2 1 over the rounds so a
drift of the machine's load falls on both. Every run starts on empty databases.
For each process (users-1, ..., the gateway with its workers) it reads /proc before and
after the load: CPU seconds used, resident memory at rest (before), at the end and
at its peak (VmHWM).

Options (defaults in brackets):
  --rounds N      rounds, each one run of 1 and one of 2 instances [2]
  --rate R        loadgen --rate, journey starts per second [4/s]
  --duration D    measured window per run [30s]
  --warmup W      loadgen warm-up before the window [5s]
  -j, --journey J loadgen journey, repeatable (e.g. -j social for posts, follows and
                  home timelines) [seed-benchmark, chat, notifications]
  --out DIR       where split.json, split.md and the runs go [target/bench-split]
  --summarize     run nothing: rebuild split.json and split.md from DIR/runs.jsonl

Environment:
  BANTER_BIN, LOADGEN, SLO   binaries [target/release/{banter,loadgen,slo}; build them
                             with cargo build --release -p banter -p loadgen -p slo]
  BANTER_SPLIT_PORT_BASE     the cluster's port base (see deploy/local-cluster.sh) [27100]
  DATABASE_ADMIN_URL, REDIS_URL   as for deploy/local-cluster.sh; the databases are
                             bench_split_* (dropped before each run), the Redis keys
                             prefixed bench-split-<run> (deleted after it)

Each run takes about a minute more than --warmup + --duration (start-up, drain).
Exit status: 0 every run measured, 1 a run failed (its logs stay under DIR/cluster/logs),
2 bad arguments or missing tools.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=2 RATE=4/s DURATION=30s WARMUP=5s OUT=$ROOT/target/bench-split SUMMARIZE=0
JOURNEYS=()
while (($#)); do
    case $1 in
    --rounds | --rate | --duration | --warmup | --out | -j | --journey)
        (($# >= 2)) || { echo "split.sh: $1 needs a value" >&2; exit 2; }
        case $1 in
        --rounds) ROUNDS=$2 ;; --rate) RATE=$2 ;; --duration) DURATION=$2 ;;
        --warmup) WARMUP=$2 ;; --out) OUT=$2 ;; -j | --journey) JOURNEYS+=("$2") ;;
        esac
        shift 2
        ;;
    --summarize) SUMMARIZE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
die() { echo "split.sh: $*" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "--rounds $ROUNDS: a number from 1 to 99"
((${#JOURNEYS[@]})) || JOURNEYS=(seed-benchmark chat notifications)
for j in "${JOURNEYS[@]}"; do
    [[ $j =~ ^[a-z-]+$ ]] || die "--journey $j: a journey name (loadgen run --help lists them)"
done
JOURNEY_ARGS=()
for j in "${JOURNEYS[@]}"; do JOURNEY_ARGS+=(-j "$j"); done

summarize() {
    # Medians per instance count, the ratio 2 : 1, and per service the most any
    # process used: what the Kubernetes requests and limits are sized from.
    jq -s --arg cpus "$(nproc)" --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" '
        def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
            else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        def summary($n): map(select(.instances == $n)) as $r |
            { instances: $n, runs: ($r | length),
              throughput_rps: ($r | map(.throughput_rps) | median),
              p95_ms: ($r | map(.p95_ms.overall) | median),
              errors: ($r | map(.errors // 0) | add),
              machine_busy: ($r | map(.machine_busy) | median) };
        . as $runs |
        { commit: $commit, cpus: ($cpus | tonumber), rate: .[0].rate,
          runs: $runs,
          summary: [summary(1), summary(2)],
          ratio_2_to_1: { throughput: (summary(2).throughput_rps / summary(1).throughput_rps),
                          p95: (summary(2).p95_ms / summary(1).p95_ms) },
          per_service: ([$runs[] | .instances as $n | .processes[] | . + { instances: $n,
                service: (.name | sub("-[0-9]+$"; "") | if . == "nginx" then "gateway" else . end) }]
            | group_by(.service) | map({ service: .[0].service,
                cores_max: (map(.cores) | max), cores_median: (map(.cores) | median),
                rss_idle_mib_max: (map(.rss_idle_mib) | max),
                rss_peak_mib_max: (map(.rss_peak_mib) | max) })) }' "$OUT/runs.jsonl" >"$OUT/split.json"

    jq -r '
        def f1: if . == null then "–" else (. * 10 | round / 10 | tostring) end;
        def f2: if . == null then "–" else (. * 100 | round / 100 | tostring) end;
        "# Split deployment: 1 vs 2 processes per service\n",
        "Commit \(.commit), \(.cpus) CPUs, open model at \(.rate) (\(.runs[0].journeys // "seed-benchmark, chat, notifications"))",
        "through the nginx gateway of `deploy/local-cluster.sh`. Machine busy = share of all CPUs",
        "busy during the run, this benchmark included (others share the machine).\n",
        "| instances | runs | throughput (req/s, median) | p95 (ms, median) | errors | machine busy |",
        "|---|---|---|---|---|---|",
        (.summary[] | "| \(.instances) | \(.runs) | \(.throughput_rps | f1) | \(.p95_ms | f1) | \(.errors) | \(.machine_busy * 100 | round)% |"),
        "\nTwo processes per service against one: throughput × \(.ratio_2_to_1.throughput | f2), p95 × \(.ratio_2_to_1.p95 | f2).",
        "\nEach run:\n",
        "| round | instances | req/s | p95 overall | users | friends | chat | notifications | posts | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
        (.runs[] | "| \(.round) | \(.instances) | \(.throughput_rps | f1) | \(.p95_ms.overall | f1) | \(.p95_ms.users | f1) | \(.p95_ms.friends | f1) | \(.p95_ms.chat | f1) | \(.p95_ms.notifications | f1) | \(.p95_ms.posts | f1) | \(.errors // "–") |"),
        "\nPer service, over every process and run (CPU in cores while the load ran, memory in MiB):\n",
        "| service | CPU median | CPU max | RSS at rest (max) | RSS peak (max) |",
        "|---|---|---|---|---|",
        (.per_service[] | "| \(.service) | \(.cores_median | f2) | \(.cores_max | f2) | \(.rss_idle_mib_max | f1) | \(.rss_peak_mib_max | f1) |")
    ' "$OUT/split.json" >"$OUT/split.md"
    cat "$OUT/split.md"
}

if ((SUMMARIZE)); then
    [[ -f $OUT/runs.jsonl ]] || die "$OUT/runs.jsonl: no runs to summarize"
    summarize
    exit 0
fi

BANTER_BIN=${BANTER_BIN:-$ROOT/target/release/banter}
LOADGEN=${LOADGEN:-$ROOT/target/release/loadgen}
SLO=${SLO:-$ROOT/target/release/slo}
for b in "$BANTER_BIN" "$LOADGEN" "$SLO"; do
    [[ -x $b ]] || die "$b is missing: cargo build --release -p banter -p loadgen -p slo"
done
for t in jq psql; do command -v $t >/dev/null || die "$t is needed"; done
ADMIN_URL=${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${REDIS_URL:-redis://127.0.0.1:6379}
PORT_BASE=${BANTER_SPLIT_PORT_BASE:-27100}
SERVICES=(users friends chat notifications)
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
export BANTER_BIN BANTER_CLUSTER_DIR=$OUT/cluster BANTER_CLUSTER_PORT_BASE=$PORT_BASE
export BANTER_CLUSTER_DB_PREFIX=bench_split BANTER_CLUSTER_STOP_TIMEOUT=30
CLUSTER=$ROOT/deploy/local-cluster.sh
TICKS=$(getconf CLK_TCK)

# pids of process NAME of the cluster (the gateway: its master and workers).
pids_of() {
    local pid
    read -r pid _ <"$BANTER_CLUSTER_DIR/run/$1.pid" || return 0
    echo "$pid"
    if [[ $1 == nginx ]]; then pgrep -P "$pid" || true; fi
}

# "CPU-ticks RSS-KiB peak-RSS-KiB" of NAME, summed over its processes.
proc_stats() {
    local pid ticks=0 rss=0 hwm=0 stat f
    for pid in $(pids_of "$1"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -ra f <<<"${stat##*) }"
        ticks=$((ticks + f[11] + f[12]))
        rss=$((rss + $(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")))
        hwm=$((hwm + $(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")))
    done
    echo "$ticks $rss $hwm"
}

minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'; }

# "busy total" jiffies of the whole machine, to say how loaded it was.
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

names() {
    local s i
    for s in "${SERVICES[@]}"; do
        for ((i = 1; i <= $1; i++)); do echo "$s-$i"; done
    done
    echo nginx
}

reset_state() { # fresh databases for the next run
    local s
    for s in "${SERVICES[@]}"; do
        PGOPTIONS="-c client_min_messages=warning" \
            psql "$ADMIN_URL" -XAtqc "DROP DATABASE IF EXISTS bench_split_$s WITH (FORCE)" >/dev/null
    done
}

drop_keys() {
    command -v redis-cli >/dev/null || return 0
    redis-cli -u "$REDIS" --scan --pattern "$1*" | xargs -r -n 500 redis-cli -u "$REDIS" DEL >/dev/null
}

cleanup() { "$CLUSTER" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# run N ROUND: one measured run with N processes per service; appends its JSON.
run() {
    local n=$1 round=$2 id="n$1-r$2" name
    local prefix=bench-split-$id-$$
    echo "split.sh: round $round, $n instance(s) per service"
    reset_state
    BANTER_CLUSTER_INSTANCES=$n BANTER_CLUSTER_REDIS_PREFIX=$prefix "$CLUSTER" up >"$OUT/$id.up.log" ||
        { cat "$OUT/$id.up.log" >&2; return 1; }
    declare -A before
    for name in $(names "$n"); do before[$name]=$(proc_stats "$name"); done
    local m0 t0 t1 m1
    m0=$(machine_ticks)
    t0=$(date +%s.%N)
    timeout 600 "$LOADGEN" run --target-url "http://127.0.0.1:$PORT_BASE" --rate "$RATE" \
        --duration "$DURATION" --warmup "$WARMUP" "${JOURNEY_ARGS[@]}" \
        --quiet --out "$OUT/runs/$id" >"$OUT/$id.loadgen.log" 2>&1 ||
        { cat "$OUT/$id.loadgen.log" >&2; return 1; }
    t1=$(date +%s.%N)
    m1=$(machine_ticks)
    local procs=()
    for name in $(names "$n"); do
        procs+=("$(jq -n --arg name "$name" --argjson wall "$(minus "$t1" "$t0")" \
            --argjson ticks "$TICKS" --arg before "${before[$name]}" --arg after "$(proc_stats "$name")" '
            ($before | split(" ") | map(tonumber)) as $b | ($after | split(" ") | map(tonumber)) as $a |
            { name: $name, cpu_seconds: (($a[0] - $b[0]) / $ticks),
              cores: (($a[0] - $b[0]) / $ticks / $wall),
              rss_idle_mib: ($b[1] / 1024), rss_end_mib: ($a[1] / 1024), rss_peak_mib: ($a[2] / 1024) }')")
    done
    "$CLUSTER" down >/dev/null
    drop_keys "$prefix"
    local record=$OUT/runs/$id/run.json
    "$SLO" check --spec "$ROOT/slo/specs/banter.yaml" --run "$record" --format json \
        --out "$OUT/runs/$id/slo.json" 2>/dev/null || true
    local start end
    start=$(date -d "$(jq -r .window.start "$record")" +%s.%N)
    end=$(date -d "$(jq -r .window.end "$record")" +%s.%N)
    jq -n --argjson n "$n" --argjson round "$round" --arg rate "$RATE" \
        --arg journeys "$(IFS=,; echo "${JOURNEYS[*]}" | sed 's/,/, /g')" \
        --argjson window "$(minus "$end" "$start")" \
        --argjson m0 "[$(tr ' ' , <<<"$m0")]" --argjson m1 "[$(tr ' ' , <<<"$m1")]" \
        --slurpfile slo "$OUT/runs/$id/slo.json" --slurpfile record "$record" \
        --argjson processes "[$(IFS=,; echo "${procs[*]}")]" '
        def outcome($o): $slo[0].outcomes[] | select(.name == $o) | .measurement;
        def p95_ms($o): (outcome($o).latency.estimate_seconds // null) | if . then . * 1000 else . end;
        ([$record[0].steps[].requests] | add) as $requests |
        { instances: $n, round: $round, rate: $rate, journeys: $journeys, window_seconds: $window,
          requests: $requests, throughput_rps: ($requests / $window),
          errors: (outcome("overall-availability").bad // null),
          p95_ms: { overall: p95_ms("overall-latency"), users: p95_ms("users-latency"),
                    friends: p95_ms("friends-latency"), chat: p95_ms("chat-latency"),
                    notifications: p95_ms("notifications-latency"), posts: p95_ms("posts-latency") },
          machine_busy: (($m1[0] - $m0[0]) / ($m1[1] - $m0[1])),
          processes: $processes }' >>"$OUT/runs.jsonl"
}

rm -f "$OUT/runs.jsonl"
"$CLUSTER" down >/dev/null 2>&1 || true
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=(1 2); else order=(2 1); fi
    for n in "${order[@]}"; do run "$n" "$r" || { echo "split.sh: the run failed" >&2; exit 1; }; done
done

summarize
