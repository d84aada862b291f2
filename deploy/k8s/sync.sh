#!/usr/bin/env bash
# Copies the files the manifests are generated from into deploy/k8s (kustomize
# reads only files below a kustomization): the gateway config, the alert rules,
# the dashboards, the PostgreSQL init script and the SLO spec. Run it after
# changing any of them; services/banter/tests/k8s/ fails while a copy is stale
# and names this script.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
k8s=$root/deploy/k8s

copy() { # copy SOURCE DEST_DIR
    mkdir -p "$2"
    if ! cmp -s "$1" "$2/$(basename "$1")"; then
        cp "$1" "$2/"
        echo "updated ${2#"$root"/}/$(basename "$1")"
    fi
}

copy "$root/deploy/nginx.conf" "$k8s/base/gateway"
copy "$root/deploy/sse.conf" "$k8s/base/gateway"
for f in "$root"/alerts/*.rules.yml; do copy "$f" "$k8s/base/monitoring/alerts"; done
for f in "$root"/dashboards/*.json; do copy "$f" "$k8s/base/monitoring/dashboards"; done
copy "$root/deploy/compose/postgres-init.sql" "$k8s/dependencies"
copy "$root/slo/specs/banter.yaml" "$k8s/load/base"

# Copies whose source is gone.
for f in "$k8s"/base/monitoring/alerts/*; do
    [[ -e $root/alerts/$(basename "$f") ]] || { rm "$f"; echo "removed ${f#"$root"/}"; }
done
for f in "$k8s"/base/monitoring/dashboards/*; do
    [[ -e $root/dashboards/$(basename "$f") ]] || { rm "$f"; echo "removed ${f#"$root"/}"; }
done
echo "deploy/k8s is in sync; list new alert or dashboard files in base/kustomization.yaml"
