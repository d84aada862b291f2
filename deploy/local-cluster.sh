#!/usr/bin/env bash
# The split Banter deployment on one machine, without Docker: a Kafka-protocol
# broker (tansu, in memory), two processes (or one) of each service (users, friends,
# chat, notifications, posts) on PostgreSQL and Redis, the nginx gateway in front
# of them (deploy/nginx.conf with local upstreams) and Prometheus scraping all
# ten. For engineers without Docker and for CI; `--help` for the details.
# Tested end to end by services/banter/tests/cluster.rs.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: deploy/local-cluster.sh up|down|status|logs [NAME [-f]]|kill NAME|restart NAME|help

  up      Start the cluster in the background and wait until every process is
          ready; prints the gateway, Prometheus and instance URLs. Refuses when
          a cluster from the same state dir is running. When a process does not
          become ready, says which, shows the end of its log and stops
          everything it started (logs stay).
  down    Stop everything `up` started (SIGTERM, then SIGKILL after
          BANTER_CLUSTER_STOP_TIMEOUT seconds). Idempotent; keeps logs, configs,
          databases and Redis keys.
  status  List the processes with their pid, URL and readiness
          (exit 0: all ready, 1: some down or not ready, 3: not running).
  logs    The end of every process's log; `logs NAME` the end of one
          (`logs NAME -f` follows it). Names: tansu, users-1, users-2,
          friends-1, ..., posts-2, nginx, prometheus.
  kill    `kill chat-1`: one service instance dies at once (SIGKILL: no
          draining, no goodbye to the broker), as a crashed process would. The
          gateway sends its requests to the other instance meanwhile.
  restart `restart chat-1`: start that instance again as `up` did (stopping it
          first if it runs) and wait until it is ready; exit 1 when it is not
          within BANTER_CLUSTER_READY_TIMEOUT.

Port layout (B = BANTER_CLUSTER_PORT_BASE, default 18000; all on 127.0.0.1):
  B       nginx gateway (the API: http://127.0.0.1:B)
  B+1     Prometheus
  B+2     tansu (Kafka protocol)
  B+10/11 users instances 1 and 2
  B+20/21 friends instances 1 and 2
  B+30/31 chat instances 1 and 2
  B+40/41 notifications instances 1 and 2
  B+50/51 posts instances 1 and 2

Environment (defaults in brackets):
  BANTER_BIN                   banter binary [target/release/banter, built with
                               `cargo build --release -p banter` when missing]
  BANTER_CLUSTER_DIR           state: pids, logs, generated configs, Prometheus
                               data [target/local-cluster]
  BANTER_CLUSTER_PORT_BASE     first port of the layout above [18000]; status,
                               logs and down use the one `up` recorded
  BANTER_CLUSTER_INSTANCES     processes per service, 1 or 2 [2] (1: instance 1
                               only, e.g. to measure what the second adds);
                               status, logs and down use the count `up` recorded
  BANTER_CLUSTER_DB_PREFIX     databases are <prefix>_users, <prefix>_friends,
                               <prefix>_chat, <prefix>_notifications,
                               <prefix>_posts, created when missing [banter]
  BANTER_CLUSTER_REDIS_PREFIX  prefix of every Redis key [banter-local]
  DATABASE_ADMIN_URL           PostgreSQL admin connection; the services' URLs
                               are this one with the database replaced
                               [postgres://postgres@127.0.0.1:5432/postgres]
  REDIS_URL                    [redis://127.0.0.1:6379]
  TANSU                        broker binary [tansu on PATH, else ~/.cargo/bin/tansu]
  NGINX, PROMETHEUS, PROMTOOL  binaries [on PATH, else /usr/sbin, /usr/bin]
  BANTER_CLUSTER_READY_TIMEOUT seconds `up` waits for readiness [120]
  BANTER_CLUSTER_STOP_TIMEOUT  seconds `down` waits before SIGKILL [30]
  BANTER_CLUSTER_DB_MAX_CONNECTIONS  pool size per process [8]
  BANTER_CLUSTER_SCRAPE_INTERVAL     Prometheus scrape interval [5s]
  BANTER_CLUSTER_KEEP_ON_FAILURE=1   leave processes running when `up` fails

The services get what compose.yml's x-banter-env sets for a deployment behind
the gateway: BANTER_TRUST_FORWARDED_FOR=true, BANTER_LOGIN_LIMIT_ADDRESS=20000,
JSON logs; friends, chat, notifications and posts fetch the token keys through the
gateway (--users-url http://127.0.0.1:B).
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES=(users friends chat notifications posts)
INSTANCE_COUNT=${BANTER_CLUSTER_INSTANCES:-2}

PORT_BASE=${BANTER_CLUSTER_PORT_BASE:-18000}
STATE_DIR=${BANTER_CLUSTER_DIR:-$ROOT/target/local-cluster}
DB_PREFIX=${BANTER_CLUSTER_DB_PREFIX:-banter}
REDIS_PREFIX=${BANTER_CLUSTER_REDIS_PREFIX:-banter-local}
ADMIN_URL=${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${REDIS_URL:-redis://127.0.0.1:6379}
READY_TIMEOUT=${BANTER_CLUSTER_READY_TIMEOUT:-120}
STOP_TIMEOUT=${BANTER_CLUSTER_STOP_TIMEOUT:-30}
DB_MAX_CONNECTIONS=${BANTER_CLUSTER_DB_MAX_CONNECTIONS:-8}
SCRAPE_INTERVAL=${BANTER_CLUSTER_SCRAPE_INTERVAL:-5s}

die() {
    echo "local-cluster: $*" >&2
    exit 1
}
say() { echo "local-cluster: $*"; }

[[ $DB_PREFIX =~ ^[a-z_][a-z0-9_]*$ ]] ||
    die "BANTER_CLUSTER_DB_PREFIX=$DB_PREFIX: use lower-case letters, digits and _ (it names databases)"
for n in READY_TIMEOUT STOP_TIMEOUT DB_MAX_CONNECTIONS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n=${!n} is not a number"
done
STATE_DIR=$(realpath -m "$STATE_DIR")
# `up` records its port base: status, logs and down of that cluster use it.
if [[ ${1:-} != up && -f $STATE_DIR/run/port-base ]]; then
    PORT_BASE=$(cat "$STATE_DIR/run/port-base")
    if [[ -f $STATE_DIR/run/instances ]]; then INSTANCE_COUNT=$(cat "$STATE_DIR/run/instances"); fi
fi
[[ $INSTANCE_COUNT == [12] ]] || die "BANTER_CLUSTER_INSTANCES=$INSTANCE_COUNT: 1 or 2"
INSTANCES=(1)
((INSTANCE_COUNT == 1)) || INSTANCES=(1 2)
if ! [[ $PORT_BASE =~ ^[0-9]+$ ]] || ((PORT_BASE < 1024 || PORT_BASE + 51 > 65535)); then
    die "BANTER_CLUSTER_PORT_BASE=$PORT_BASE: need a number from 1024 to 65484 (the layout uses base..base+51)"
fi
RUN_DIR=$STATE_DIR/run
LOG_DIR=$STATE_DIR/logs

GATEWAY_PORT=$PORT_BASE
PROMETHEUS_PORT=$((PORT_BASE + 1))
KAFKA_PORT=$((PORT_BASE + 2))

service_index() {
    local i
    for i in "${!SERVICES[@]}"; do
        [[ ${SERVICES[$i]} == "$1" ]] && echo "$i" && return
    done
    die "unknown service $1"
}
# The port of instance $2 (1 or 2) of service $1.
port_of() { echo $((PORT_BASE + 10 * ($(service_index "$1") + 1) + $2 - 1)); }
# The ports of every instance of service $1, joined by $2.
instance_ports() {
    local i out=
    for i in "${INSTANCES[@]}"; do out+="${out:+$2}$(port_of "$1" "$i")"; done
    echo "$out"
}

# Every process, in the order status lists them.
names() {
    local s i
    echo tansu
    for s in "${SERVICES[@]}"; do
        for i in "${INSTANCES[@]}"; do echo "$s-$i"; done
    done
    echo nginx
    echo prometheus
}

# What `status` shows as the address of a process.
address_of() {
    case $1 in
    tansu) echo "127.0.0.1:$KAFKA_PORT" ;;
    nginx) echo "http://127.0.0.1:$GATEWAY_PORT" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT" ;;
    *) echo "http://127.0.0.1:$(port_of "${1%-*}" "${1##*-}")" ;;
    esac
}

# The URL that answers 200 once the process is ready (none for tansu).
ready_url_of() {
    case $1 in
    tansu) ;;
    nginx) echo "http://127.0.0.1:$GATEWAY_PORT/health" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" ;;
    *) echo "$(address_of "$1")/ready" ;;
    esac
}

# --- processes -------------------------------------------------------------

# When process $1 started (clock ticks since boot), to tell our process from
# a later one that got its pid; empty without /proc.
started_at() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    local fields
    read -ra fields <<<"$stat"
    echo "${fields[19]}"
}

# The pid of a process this cluster started, if it still runs.
pid_of() {
    local file=$RUN_DIR/$1.pid pid since
    [[ -f $file ]] || return 1
    read -r pid since <"$file" || [[ -n ${pid:-} ]] || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ -z ${since:-} || $(started_at "$pid") == "$since" ]] || return 1
    echo "$pid"
}

running_names() {
    local n
    for n in $(names); do
        if pid_of "$n" >/dev/null; then echo "$n"; fi
    done
}

# start NAME BINARY ARGS...: in the background, in its own session (Ctrl-C in
# the calling shell does not reach it), output appended to logs/NAME.log.
start() {
    local name=$1 exe=$2 log=$LOG_DIR/$1.log
    shift 2
    printf '\n=== %s local-cluster.sh up: %s %s\n' "$(date '+%F %T')" "$exe" "$*" >>"$log"
    (cd "$STATE_DIR" && exec setsid "$exe" "$@" </dev/null >>"$log" 2>&1 9>&-) &
    echo "$! $(started_at $!)" >"$RUN_DIR/$name.pid"
}

# Stops the named processes: SIGTERM, wait, SIGKILL to the process group.
stop() {
    local n pid deadline pids=()
    for n in "$@"; do
        if pid=$(pid_of "$n"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$n:$pid")
        else
            rm -f "$RUN_DIR/$n.pid"
        fi
    done
    ((${#pids[@]})) || return 0
    deadline=$((SECONDS + STOP_TIMEOUT))
    while ((SECONDS < deadline)); do
        local left=0
        for n in "${pids[@]}"; do
            if kill -0 "${n#*:}" 2>/dev/null; then left=1; fi
        done
        ((left)) || break
        sleep 0.2
    done
    for n in "${pids[@]}"; do
        pid=${n#*:}
        if kill -0 "$pid" 2>/dev/null; then
            say "${n%%:*} (pid $pid) did not stop within ${STOP_TIMEOUT}s of SIGTERM: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$RUN_DIR/${n%%:*}.pid"
    done
}

stop_all() {
    local services=() s i
    for s in "${SERVICES[@]}"; do
        for i in "${INSTANCES[@]}"; do services+=("$s-$i"); done
    done
    # The front first, the broker last (services publish while draining).
    stop nginx prometheus "${services[@]}"
    stop tansu
}

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- binaries --------------------------------------------------------------

find_bin() { # find_bin NAME FALLBACK...: on PATH, else the first fallback that exists
    local name=$1 f
    shift
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return
    fi
    for f in "$@"; do
        if [[ -x $f ]]; then
            echo "$f"
            return
        fi
    done
    return 1
}

resolve_binaries() {
    if [[ -n ${BANTER_BIN:-} ]]; then
        [[ -x $BANTER_BIN ]] || die "BANTER_BIN=$BANTER_BIN is not an executable file"
    else
        BANTER_BIN=$ROOT/target/release/banter
        if [[ ! -x $BANTER_BIN ]]; then
            say "$BANTER_BIN is missing: cargo build --release -p banter"
            (cd "$ROOT" && cargo build --release -p banter) || die "building banter failed"
        fi
    fi
    local help
    help=$("$BANTER_BIN" serve --help 2>&1) || die "$BANTER_BIN serve --help failed: $help"
    local flag
    for flag in --kafka-brokers --users-url --redis-prefix --database-url; do
        grep -qE -- "^ +$flag( |$)" <<<"$help" ||
            die "$BANTER_BIN has no \`serve $flag\` (an older build?): rebuild it"
    done
    TANSU_BIN=${TANSU:-}
    if [[ -z $TANSU_BIN ]]; then
        TANSU_BIN=$(find_bin tansu "$HOME/.cargo/bin/tansu") ||
            die "the Kafka-protocol broker tansu is not installed: cargo install tansu --locked --features dynostore,postgres (or set TANSU)"
    fi
    [[ -x $TANSU_BIN ]] || die "TANSU=$TANSU_BIN is not an executable file"
    NGINX_BIN=${NGINX:-$(find_bin nginx /usr/sbin/nginx)} || die "nginx is not installed: apt-get install nginx (or set NGINX)"
    PROMETHEUS_BIN=${PROMETHEUS:-$(find_bin prometheus /usr/bin/prometheus)} ||
        die "prometheus is not installed: apt-get install prometheus (or set PROMETHEUS)"
    PROMTOOL_BIN=${PROMTOOL:-$(find_bin promtool /usr/bin/promtool)} || PROMTOOL_BIN=
    command -v curl >/dev/null || die "curl is needed to check readiness"
    command -v psql >/dev/null || die "psql is needed to create the databases: apt-get install postgresql-client"
    command -v setsid >/dev/null || die "setsid (util-linux) is needed"
}

# --- PostgreSQL ------------------------------------------------------------

# The admin URL with its database replaced by $1 (a query string is kept).
database_url() {
    local base=${ADMIN_URL%%\?*} query=
    [[ $ADMIN_URL == *\?* ]] && query="?${ADMIN_URL#*\?}"
    echo "${base%/*}/$1$query"
}

create_databases() {
    [[ $ADMIN_URL =~ ^postgres(ql)?://[^/]+/ ]] ||
        die "DATABASE_ADMIN_URL=$ADMIN_URL: expected postgres://user@host:port/database"
    local err s db
    err=$(psql "$ADMIN_URL" -XAtqc 'SELECT 1' 2>&1 >/dev/null) ||
        die "PostgreSQL does not answer at DATABASE_ADMIN_URL: $err"
    for s in "${SERVICES[@]}"; do
        db=${DB_PREFIX}_$s
        if [[ -z $(psql "$ADMIN_URL" -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
            say "creating database $db"
            err=$(psql "$ADMIN_URL" -XAtqc "CREATE DATABASE \"$db\"" 2>&1 >/dev/null) ||
                [[ $err == *"already exists"* ]] || die "CREATE DATABASE $db: $err"
        fi
    done
}

# --- generated configs -----------------------------------------------------

# deploy/nginx.conf with the compose hosts replaced by the instances of each
# service, listening on the gateway port, its pid and temp files in the state dir.
write_nginx_conf() {
    local dir=$STATE_DIR/nginx s
    mkdir -p "$dir"
    local upstreams=()
    for s in "${SERVICES[@]}"; do
        upstreams+=("$s=$(instance_ports "$s" ,)")
    done
    awk -v list="${upstreams[*]}" '
        BEGIN { n = split(list, items, " "); for (i = 1; i <= n; i++) { split(items[i], kv, "="); ports[kv[1]] = kv[2] } }
        match($0, /^[ \t]*server [a-z]+:[0-9]+;/) {
            host = $2; sub(/:.*/, "", host)
            if (host in ports) {
                k = split(ports[host], p, ",")
                indent = $0; sub(/server.*/, "", indent)
                for (j = 1; j <= k; j++) print indent "server 127.0.0.1:" p[j] ";"
                done[host] = 1
                next
            }
        }
        { print }
        END { for (h in ports) if (!(h in done)) { print "no upstream server for " h > "/dev/stderr"; exit 1 } }
    ' "$ROOT/deploy/nginx.conf" |
        sed -e "s|^worker_processes auto;|worker_processes 2;|" \
            -e "s|listen 8080;|listen 127.0.0.1:$GATEWAY_PORT;|" \
            -e "s|pid /tmp/nginx.pid;|pid $dir/nginx.pid;|" \
            -e "s|/tmp/nginx-|$dir/tmp-|g" >"$dir/nginx.conf.new" ||
        die "deploy/nginx.conf: could not generate the gateway config"
    local expect
    for expect in "listen 127.0.0.1:$GATEWAY_PORT;" "pid $dir/nginx.pid;" "worker_processes 2;"; do
        grep -qF "$expect" "$dir/nginx.conf.new" ||
            die "deploy/nginx.conf changed shape: the generated config lacks '$expect'"
    done
    if grep -qE ' /tmp/nginx[-.]' "$dir/nginx.conf.new"; then
        die "deploy/nginx.conf changed shape: a /tmp path is left in the generated config"
    fi
    mv "$dir/nginx.conf.new" "$dir/nginx.conf"
    cp "$ROOT/deploy/sse.conf" "$dir/sse.conf"
    # Workers run as an unprivileged user when the master is root.
    [[ $EUID -ne 0 ]] || chmod 755 "$STATE_DIR" "$dir"
    local out
    out=$("$NGINX_BIN" -t -q -c "$dir/nginx.conf" -p "$dir/" 2>&1) || die "nginx -t on $dir/nginx.conf: $out"
}

write_prometheus_conf() {
    local dir=$STATE_DIR/prometheus s
    mkdir -p "$dir/data"
    {
        cat <<EOF
# Generated by deploy/local-cluster.sh: the split deployment's ten processes
# (job banter-split, as in deploy/prometheus.yml), with the alert rules.
global:
  scrape_interval: $SCRAPE_INTERVAL
  evaluation_interval: 15s
  external_labels:
    platform: banter
    cluster: local

rule_files:
EOF
        for s in "$ROOT"/alerts/*.rules.yml; do
            [[ -f $s ]] && echo "  - $s"
        done
        cat <<EOF

scrape_configs:
  - job_name: banter-split
    static_configs:
EOF
        for s in "${SERVICES[@]}"; do
            echo "      - targets: ['127.0.0.1:$(instance_ports "$s" "', '127.0.0.1:")']"
            echo "        labels: { deployment: split, target: $s }"
        done
        cat <<EOF

  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROMETHEUS_PORT']
EOF
    } >"$dir/prometheus.yml"
    if [[ -n $PROMTOOL_BIN ]]; then
        local out
        out=$("$PROMTOOL_BIN" check config "$dir/prometheus.yml" 2>&1) ||
            die "promtool check config $dir/prometheus.yml: $out"
    fi
}

# --- commands --------------------------------------------------------------

show_failure() { # show_failure NAME REASON: with the end of this run's log
    local log=$LOG_DIR/$1.log
    echo "local-cluster: $1 $2" >&2
    echo "--- last 40 lines of $log:" >&2
    awk '/^=== .* local-cluster.sh up: /{n=0} {lines[n++]=$0} END{for(i=(n>40?n-40:0);i<n;i++)print lines[i]}' \
        "$log" >&2 2>/dev/null || true
    echo "---" >&2
}

on_up_exit() {
    local code=$?
    ((code)) || return 0
    if [[ ${BANTER_CLUSTER_KEEP_ON_FAILURE:-0} == 1 ]]; then
        say "up failed; processes left running (BANTER_CLUSTER_KEEP_ON_FAILURE=1): $(running_names | xargs)"
    elif [[ -n $(running_names) ]]; then
        say "up failed: stopping what it started (logs stay in $LOG_DIR)"
        stop_all
    fi
    exit "$code"
}

# wait_ready [NAME...]: every process (or the named ones) ready, else say which is not.
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) pending=() n next url code
    if (($#)); then pending=("$@"); else mapfile -t pending < <(names); fi
    while ((${#pending[@]})); do
        next=()
        for n in "${pending[@]}"; do
            if ! pid_of "$n" >/dev/null; then
                show_failure "$n" "exited before it became ready"
                return 1
            fi
            url=$(ready_url_of "$n")
            if [[ -z $url ]]; then
                listening "$KAFKA_PORT" || next+=("$n")
            else
                code=$(http_code "$url")
                [[ $code == 200 ]] || next+=("$n")
            fi
        done
        pending=("${next[@]+"${next[@]}"}")
        ((${#pending[@]})) || break
        if ((SECONDS >= deadline)); then
            for n in "${pending[@]}"; do
                url=$(ready_url_of "$n")
                if [[ -n $url ]]; then
                    code=$(http_code "$url")
                    show_failure "$n" "not ready after ${READY_TIMEOUT}s ($url answered ${code/#000/nothing})"
                else
                    show_failure "$n" "not listening on 127.0.0.1:$KAFKA_PORT after ${READY_TIMEOUT}s"
                fi
            done
            return 1
        fi
        sleep 0.5
    done
}

# start_instance SERVICE I: instance I of SERVICE, as `up` and `restart` start it.
start_instance() {
    local s=$1 i=$2 args
    args=(serve --target "$s" --port "$(port_of "$s" "$i")"
        --database-url "$(database_url "${DB_PREFIX}_$s")"
        --redis-url "$REDIS" --redis-prefix "$REDIS_PREFIX"
        --kafka-brokers "127.0.0.1:$KAFKA_PORT")
    [[ $s == users ]] || args+=(--users-url "http://127.0.0.1:$GATEWAY_PORT")
    (
        # What compose.yml's x-banter-env sets for processes behind the gateway.
        export BANTER_HOST=127.0.0.1 BANTER_LOG_FORMAT=json BANTER_TRUST_FORWARDED_FOR=true
        export BANTER_LOGIN_LIMIT_ADDRESS=20000 BANTER_DB_MAX_CONNECTIONS=$DB_MAX_CONNECTIONS
        start "$s-$i" "$BANTER_BIN" "${args[@]}"
    )
}

cmd_up() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    local running
    running=$(running_names | xargs)
    [[ -z $running ]] ||
        die "a cluster from $STATE_DIR is running ($running): deploy/local-cluster.sh down first"
    rm -f "$RUN_DIR"/*.pid
    echo "$PORT_BASE" >"$RUN_DIR/port-base"
    echo "$INSTANCE_COUNT" >"$RUN_DIR/instances"
    resolve_binaries
    # What `restart` needs to start an instance as this `up` did.
    declare -p BANTER_BIN DB_PREFIX REDIS_PREFIX REDIS ADMIN_URL DB_MAX_CONNECTIONS >"$RUN_DIR/settings"
    local port n
    for n in $(names); do
        port=$(address_of "$n")
        port=${port##*:}
        ! listening "$port" || die "port $port (for $n) is in use: pick another BANTER_CLUSTER_PORT_BASE"
    done
    create_databases
    write_nginx_conf
    write_prometheus_conf

    trap on_up_exit EXIT
    trap 'exit 130' INT TERM
    local kafka=tcp://127.0.0.1:$KAFKA_PORT
    (
        export RUST_LOG=${RUST_LOG:-warn}
        start tansu "$TANSU_BIN" broker \
            --listener-url "$kafka" --advertised-listener-url "$kafka" \
            --storage-engine memory://tansu/
    )
    local deadline=$((SECONDS + 30))
    until listening "$KAFKA_PORT"; do
        pid_of tansu >/dev/null || {
            show_failure tansu "exited at startup"
            exit 1
        }
        ((SECONDS < deadline)) || {
            show_failure tansu "did not listen on $KAFKA_PORT within 30s"
            exit 1
        }
        sleep 0.2
    done

    # The gateway first: friends, chat, notifications and posts get the token keys
    # through it.
    start nginx "$NGINX_BIN" -c "$STATE_DIR/nginx/nginx.conf" -p "$STATE_DIR/nginx/" -g 'daemon off;'

    local s i
    for s in "${SERVICES[@]}"; do
        for i in "${INSTANCES[@]}"; do start_instance "$s" "$i"; done
    done
    start prometheus "$PROMETHEUS_BIN" \
        --config.file="$STATE_DIR/prometheus/prometheus.yml" \
        --storage.tsdb.path="$STATE_DIR/prometheus/data" \
        --storage.tsdb.retention.time=2d \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"

    say "waiting up to ${READY_TIMEOUT}s for every process to be ready"
    wait_ready || exit 1
    trap - EXIT INT TERM

    local env_prefix=""
    [[ -z ${BANTER_CLUSTER_DIR:-} ]] || env_prefix="BANTER_CLUSTER_DIR=$STATE_DIR "
    {
        echo "GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT"
        echo "PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT"
        echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
        for s in "${SERVICES[@]}"; do
            for i in "${INSTANCES[@]}"; do
                echo "${s^^}_${i}_URL=http://127.0.0.1:$(port_of "$s" "$i")"
            done
        done
    } >"$STATE_DIR/cluster.env"
    cat <<EOF

Banter split deployment is up (state, logs and configs in $STATE_DIR):
  gateway     http://127.0.0.1:$GATEWAY_PORT    (the API; /docs is on each instance)
  prometheus  http://127.0.0.1:$PROMETHEUS_PORT
  kafka       127.0.0.1:$KAFKA_PORT (tansu, in memory)
EOF
    for s in "${SERVICES[@]}"; do
        printf '  %-13s http://127.0.0.1:%s\n' "$s" "$(instance_ports "$s" '  http://127.0.0.1:')"
    done
    cat <<EOF
  databases   $(database_url "${DB_PREFIX}_{users,friends,chat,notifications,posts}")
  redis       $REDIS (keys prefixed $REDIS_PREFIX)

Status: ${env_prefix}deploy/local-cluster.sh status
Logs:   ${env_prefix}deploy/local-cluster.sh logs [NAME]
Stop:   ${env_prefix}deploy/local-cluster.sh down
EOF
}

cmd_down() {
    [[ -d $RUN_DIR ]] || {
        say "nothing to stop in $STATE_DIR"
        return 0
    }
    local running
    running=$(running_names | xargs)
    if [[ -z $running ]]; then
        rm -f "$RUN_DIR"/*.pid
        say "nothing running from $STATE_DIR"
        return 0
    fi
    say "stopping $running"
    stop_all
    say "stopped (logs stay in $LOG_DIR)"
}

cmd_status() {
    local n pid url code state ready any=0 all=1
    printf '%-16s %-8s %-8s %-28s %s\n' NAME PID STATE ADDRESS READY
    for n in $(names); do
        if pid=$(pid_of "$n"); then
            state=running
            any=1
            url=$(ready_url_of "$n")
            if [[ -z $url ]]; then
                if listening "$KAFKA_PORT"; then ready=listening; else ready=no; fi
            else
                code=$(http_code "$url")
                if [[ $code == 200 ]]; then ready=yes; else ready="no (${code:-no answer})"; fi
            fi
        else
            pid=-
            state=stopped
            ready=-
        fi
        [[ $ready == yes || $ready == listening ]] || all=0
        printf '%-16s %-8s %-8s %-28s %s\n' "$n" "$pid" "$state" "$(address_of "$n")" "$ready"
    done
    ((any)) || return 3
    ((all)) || return 1
}

cmd_logs() {
    local n
    [[ -d $LOG_DIR ]] || die "no logs in $STATE_DIR (never started?)"
    if [[ $# -gt 0 ]]; then
        n=$1
        names | grep -qx -- "$n" || die "no process named $n (one of: $(names | xargs))"
        [[ -f $LOG_DIR/$n.log ]] || die "no log for $n in $LOG_DIR"
        if [[ ${2:-} == -f ]]; then
            exec tail -n 50 -f "$LOG_DIR/$n.log"
        fi
        tail -n "${LINES:-100}" "$LOG_DIR/$n.log"
        return
    fi
    for n in $(names); do
        [[ -f $LOG_DIR/$n.log ]] || continue
        echo "==> $LOG_DIR/$n.log <=="
        tail -n 10 "$LOG_DIR/$n.log"
        echo
    done
}

# instance_name NAME: NAME if it is a service instance of this cluster (e.g. chat-1).
instance_name() {
    [[ $# -eq 1 && -n $1 ]] || die "name one service instance, e.g. chat-1 (one of: $(names | grep -- '-[12]$' | xargs))"
    names | grep -- '-[12]$' | grep -qx -- "$1" ||
        die "no service instance named $1 (one of: $(names | grep -- '-[12]$' | xargs))"
}

cmd_kill() {
    instance_name "$@"
    local pid
    pid=$(pid_of "$1") || die "$1 is not running"
    kill -KILL "$pid" 2>/dev/null || die "cannot kill $1 (pid $pid)"
    local deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    rm -f "$RUN_DIR/$1.pid"
    printf '\n=== %s local-cluster.sh kill: SIGKILL to pid %s\n' "$(date '+%F %T')" "$pid" >>"$LOG_DIR/$1.log"
    say "killed $1 (pid $pid, SIGKILL); \`restart $1\` starts it again"
}

cmd_restart() {
    instance_name "$@"
    [[ -n $(running_names) ]] || die "no cluster running from $STATE_DIR: deploy/local-cluster.sh up"
    stop "$1"
    # The binary, databases and prefixes `up` used, whatever this shell's environment says.
    [[ ! -f $RUN_DIR/settings ]] || source "$RUN_DIR/settings"
    resolve_binaries
    start_instance "${1%-*}" "${1##*-}"
    local started=$SECONDS
    wait_ready "$1" || exit 1
    say "$1 is ready again (pid $(pid_of "$1"), $((SECONDS - started))s)"
}

# One command at a time per state dir (the lock is not passed to the processes).
lock() {
    mkdir -p "$STATE_DIR"
    command -v flock >/dev/null || return 0
    exec 9>"$STATE_DIR/.lock"
    flock -w 60 9 || die "another local-cluster.sh holds $STATE_DIR/.lock"
}

case ${1:-} in
up)
    lock
    cmd_up
    ;;
down)
    if [[ -d $STATE_DIR ]]; then lock; fi
    cmd_down
    ;;
status) cmd_status ;;
kill)
    lock
    shift
    cmd_kill "$@"
    ;;
restart)
    lock
    shift
    cmd_restart "$@"
    ;;
logs)
    shift
    cmd_logs "$@"
    ;;
help | -h | --help) usage ;;
*)
    usage >&2
    exit 2
    ;;
esac
