#!/usr/bin/env bash
# The Helm chart (deploy/helm/instance-reconciler) in CI: `helm lint`, `helm template` with
# each values file, and every rendered manifest validated with kubeconform against the
# Kubernetes JSON schemas (two versions: the oldest and newest supported) and the custom
# resources' schemas (KEDA's ScaledObject, prometheus-operator's ServiceMonitor and
# PrometheusRule, generated from the CRDs inside their Go modules). Finally a manifest with
# known mistakes must fail, so a validator that checks nothing cannot pass.
#
# Installs what it needs into .cache/ on the first run (Go modules from the module proxy,
# the schema package from PyPI) and reuses it afterwards (a fresh clone's first run takes
# about 30 s more when Go's caches already hold the modules, some minutes on a new machine):
#   helm         go install helm.sh/helm/v3/cmd/helm
#   kubeconform  go install github.com/yannh/kubeconform/cmd/kubeconform
#   Kubernetes schemas  the PyPI package kubernetes-validate (its references made absolute)
#   CRDs         go mod download of KEDA and prometheus-operator
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${RECONCILER_CACHE_DIR:-$root/.cache}"
python="$cache/venv/bin/python"
chart="$root/deploy/helm/instance-reconciler"

helm_version=v3.21.4
kubeconform_version=v0.7.0
keda_version=v2.20.2
prometheus_operator_version=v0.85.0
schemas_package_version=1.37.0
kubernetes_versions=(1.30.0 1.37.0)
# A Go toolchain at least this new builds helm; an older `go` fetches it as a module.
go_toolchain=go1.26.0

step() { printf 'check-helm: %s\n' "$*"; }
fail() {
  echo "check-helm: $*" >&2
  exit 1
}

# Go's own module and build caches stay where Go keeps them (~/go, ~/.cache/go-build): CI
# runs in a fresh clone, whose .cache/ is empty, and they make its helm build a link step.
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
# go: the machine's (PATH or /usr/local/go), else Debian's; when that one is too old for
# helm, the toolchain module of $go_toolchain (Go 1.21+ does this itself; Debian 12's 1.19
# does not).
find_go() {
  local candidate
  for candidate in "$(command -v go || true)" /usr/local/go/bin/go; do
    [ -x "$candidate" ] && {
      echo "$candidate"
      return
    }
  done
  echo "check-helm: apt-get install golang-go" >&2
  apt_prefix=()
  if [ "$(id -u)" != 0 ]; then apt_prefix=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${apt_prefix[@]}" apt-get install -y -q --no-install-recommends golang-go >&2
  command -v go
}
go=$(find_go)
minor=$("$go" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ "${minor:-0}" -lt 24 ]; then
  module="golang.org/toolchain@v0.0.1-${go_toolchain}.linux-$("$go" env GOARCH)"
  step "$("$go" env GOVERSION) is too old for helm: fetching $module"
  dir=$(cd /tmp && "$go" mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  go="$dir/bin/go"
  [ -x "$go" ] || fail "no go in $module"
fi

go_tool() { # name version package
  local bin="$cache/tools/$1-$2/$1"
  if [ ! -x "$bin" ]; then
    step "building $1 $2 (first run only, a few minutes)" >&2
    GOBIN="$cache/tools/$1-$2" "$go" install "$3@$2" >&2
  fi
  echo "$bin"
}
helm=$(go_tool helm "$helm_version" helm.sh/helm/v3/cmd/helm)
kubeconform=$(go_tool kubeconform "$kubeconform_version" github.com/yannh/kubeconform/cmd/kubeconform)

# Kubernetes schemas: kubernetes-validate's "local-strict" ones refer to their definitions
# as "/api/_definitions.json#..."; kubeconform reads file URLs, so those become absolute.
schemas="$cache/k8s-schemas/kubernetes-validate-$schemas_package_version"
if [ ! -f "$schemas/.complete" ]; then
  step "fetching the Kubernetes schemas (kubernetes-validate $schemas_package_version)"
  rm -rf "$schemas"
  mkdir -p "$schemas/download"
  "$cache/venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$schemas/download" \
    "kubernetes-validate==$schemas_package_version"
  for version in "${kubernetes_versions[@]}"; do
    "$python" -m zipfile -e "$schemas"/download/*.whl "$schemas/unpacked" >/dev/null
    source_dir="$schemas/unpacked/kubernetes_validate/kubernetes-json-schema/v$version-local-strict"
    [ -d "$source_dir" ] || fail "kubernetes-validate $schemas_package_version has no $version schemas"
    mv "$source_dir" "$schemas/v$version-local-strict"
    rm -rf "$schemas/unpacked"
    sed -i "s#\"/api/_definitions.json\##\"file://$schemas/v$version-local-strict/_definitions.json\##g" \
      "$schemas/v$version-local-strict"/*.json
  done
  rm -rf "$schemas/download"
  touch "$schemas/.complete"
fi

crds="$cache/k8s-schemas/crds-keda-$keda_version-prometheus-operator-$prometheus_operator_version"
if [ ! -f "$crds/.complete" ]; then
  step "generating the custom resources' schemas from the KEDA and prometheus-operator CRDs"
  rm -rf "$crds"
  keda_dir=$(cd /tmp && "$go" mod download -json "github.com/kedacore/keda/v2@$keda_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  operator_dir=$(cd /tmp && "$go" mod download -json \
    "github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  "$python" "$root/scripts/crd-schemas.py" "$crds" \
    "$keda_dir/config/crd/bases/keda.sh_scaledobjects.yaml" \
    "$operator_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
    "$operator_dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  touch "$crds/.complete"
fi

validate() { # manifest file: kubeconform for every Kubernetes version; no schema = failure
  local version
  for version in "${kubernetes_versions[@]}"; do
    "$kubeconform" -strict -summary -kubernetes-version "$version" \
      -schema-location "$schemas/{{.NormalizedKubernetesVersion}}-local-strict/{{.ResourceKind}}{{.KindSuffix}}.json" \
      -schema-location "$crds/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" "$1"
  done
}

work=$(mktemp -d /tmp/reconciler-helm.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The chart reads the alert rules through a link to ops/prometheus/alerts.yml; helm says so
# on every run (a warning line, not a problem).
quiet() { grep -v "found symbolic link in path" || true; }

values_sets=("default:" "keda:values-keda.yaml" "monitoring:values-monitoring.yaml"
  "minimal:values-minimal.yaml" "everything:values-keda.yaml,values-monitoring.yaml")
for entry in "${values_sets[@]}"; do
  name=${entry%%:*}
  files=()
  IFS=, read -r -a listed <<<"${entry#*:}"
  for file in "${listed[@]}"; do files+=(-f "$root/deploy/helm/$file"); done
  step "values $name: lint, template, validate"
  "$helm" lint --strict "$chart" "${files[@]}" 2>&1 | quiet | grep -v "^$" | sed 's/^/  /'
  "$helm" template reconciler "$chart" --namespace reconciler "${files[@]}" \
    >"$work/$name.yaml" 2> >(quiet >&2)
  validate "$work/$name.yaml"
done

# docs/deployment.md's (and the README's) `helm install`, rendered instead of installed.
step "the documented helm install: template, validate"
"$helm" template reconciler "$chart" -f "$root/deploy/helm/values-keda.yaml" \
  --set kafka.bootstrapServers=kafka:9092 --set controlPlane.url=http://cp:8080 \
  --set restart.url='http://ws:8080/workspaces/{id}/restart' \
  --set image.repository=REGISTRY/instance-reconciler \
  --set setup.image.repository=REGISTRY/instance-reconciler-init >"$work/documented.yaml" 2> >(quiet >&2)
validate "$work/documented.yaml"
grep -q 'value: "http://ws:8080/workspaces/{id}/restart"' "$work/documented.yaml" ||
  fail "the documented --set restart.url did not reach the actuator"
grep -q 'image: "REGISTRY/instance-reconciler-init:0.1.0"' "$work/documented.yaml" ||
  fail "the setup Job does not run the init image"

# What each values file must have produced.
count() { grep -c "^kind: $2$" "$work/$1.yaml" || true; }
[ "$(count default Deployment)" = 3 ] || fail "default: expected 3 Deployments"
[ "$(count default PodDisruptionBudget)" = 3 ] || fail "default: expected 3 PodDisruptionBudgets"
[ "$(count default Job)" = 1 ] || fail "default: expected the setup Job"
[ "$(count default ScaledObject)" = 0 ] || fail "default: KEDA must be off"
[ "$(count keda ScaledObject)" = 1 ] || fail "values-keda.yaml: expected a ScaledObject"
[ "$(count everything ServiceMonitor)" = 1 ] || fail "values-monitoring.yaml: no ServiceMonitor"
[ "$(count everything PrometheusRule)" = 1 ] || fail "values-monitoring.yaml: no PrometheusRule"
[ "$(count minimal PodDisruptionBudget)" = 0 ] || fail "values-minimal.yaml: PDBs left"
"$python" - "$work/everything.yaml" "$root/ops/prometheus/alerts.yml" <<'COMPARE' ||
import sys, yaml
rendered = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "PrometheusRule"]
sys.exit(0 if rendered[0]["spec"]["groups"] == yaml.safe_load(open(sys.argv[2]))["groups"] else 1)
COMPARE
  fail "the PrometheusRule's groups differ from ops/prometheus/alerts.yml's"
if grep -q "value: .*://[^\"]*:[^\"]*@" "$work/everything.yaml"; then
  fail "a credential is in a manifest's environment"
fi

# Mistakes the validator must catch: a typo in a Deployment, a bad ScaledObject trigger field.
cat >"$work/broken.yaml" <<'BROKEN'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: "two"
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec: {containers: [{name: c, image: i, imagePullPolicy: Sometimes, prots: []}]}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: broken}
spec: {scaleTargetRef: {name: x}, triggers: [{type: kafka, metadata: {}}], maxReplicaCount: many}
BROKEN
if validate "$work/broken.yaml" >"$work/broken.log" 2>&1; then
  cat "$work/broken.log" >&2
  fail "kubeconform accepted a broken manifest: the validation checks nothing"
fi
grep -q "Invalid: 2" "$work/broken.log" || {
  cat "$work/broken.log" >&2
  fail "kubeconform did not find both broken resources invalid"
}
step "chart ok: ${#values_sets[@]} values sets rendered, linted and validated against Kubernetes ${kubernetes_versions[*]}"
