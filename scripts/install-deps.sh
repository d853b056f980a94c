#!/usr/bin/env bash
# Installs what building, testing and running the local stack need on Debian 12, and only
# what is missing: apt packages, a Python virtualenv for the test harness, and the Apache
# Kafka broker jars from Maven Central. Idempotent; safe to run on every test run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${RECONCILER_CACHE_DIR:-$root/.cache}"

apt_packages=(
  build-essential cmake pkg-config clang-format shellcheck
  librdkafka-dev libpq-dev libcurl4-openssl-dev libavro-dev check libjansson-dev libjemalloc-dev
  libmicrohttpd-dev uuid-dev
  postgresql postgresql-client
  python3 python3-venv
  default-jdk-headless maven
  docker-compose prometheus jq curl openssl
  golang-go
)
# "ii": installed and configured (`dpkg -s` would also accept a package that was removed with
# its configuration files left behind).
installed() { [[ "$(dpkg-query -W -f="\${db:Status-Abbrev}" "$1" 2>/dev/null)" == ii* ]]; }
missing=()
for package in "${apt_packages[@]}"; do
  case "$package" in
  # A JDK (e.g. Temurin) or a Maven from elsewhere is fine: skip Debian's then. A JDK, not a
  # JRE: scripts/check-schemas.sh runs a single-file Java program, which needs jdk.compiler.
  default-jdk-headless) if java --list-modules 2>/dev/null | grep -q '^jdk.compiler@'; then continue; fi ;;
  maven) if command -v mvn >/dev/null 2>&1; then continue; fi ;;
  # Any Go toolchain builds Toxiproxy (below) and bench/peer (Go 1.19 or newer): a Go installed
  # from elsewhere is fine too.
  golang-go) if command -v go >/dev/null 2>&1; then continue; fi ;;
  esac
  installed "$package" || missing+=("$package")
done
# apt-get only runs when something is missing, so a prepared machine needs neither root nor
# the network here.
if ((${#missing[@]} > 0)); then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_prefix=()
  if [ "$(id -u)" != 0 ]; then apt_prefix=(sudo); fi
  "${apt_prefix[@]}" apt-get update -q
  "${apt_prefix[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Python harness for the integration tests (fastavro as the independent Avro decoder,
# confluent-kafka and psycopg to look at what the programs wrote).
venv="$cache/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import fastavro, confluent_kafka, psycopg, pytest, yaml, requests' 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/requirements.txt"
fi

# Jars from Maven Central, cached: Maven resolves a pom's dependencies once.
maven_jars() { # pom, directory, what
  local pom=$1 lib=$2
  [ -f "$lib/.complete" ] && return
  rm -rf "$lib"
  mkdir -p "$lib"
  echo "install-deps: fetching $3 from Maven Central into $lib" >&2
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$lib" \
    -Dmdep.useRepositoryLayout=false
  touch "$lib/.complete"
}
maven_jars "$root/scripts/kafka/pom.xml" "$cache/kafka/lib" "the Kafka broker"
# Apache Avro's Java library, for the schema compatibility check (scripts/check-schemas.sh).
maven_jars "$root/scripts/schemas/pom.xml" "$cache/avro/lib" "Apache Avro"

# Toxiproxy (the network-fault proxy of tests/integration/test_reliability_network.py), built
# once per machine from the Go module proxy; its own GOPATH keeps the module cache in .cache/.
toxiproxy_version=v2.5.0
toxiproxy_dir="$cache/toxiproxy-$toxiproxy_version"
if [ ! -x "$toxiproxy_dir/bin/server" ]; then
  echo "install-deps: building Toxiproxy $toxiproxy_version into $toxiproxy_dir" >&2
  mkdir -p "$toxiproxy_dir"
  GOPATH="$toxiproxy_dir/go" GOBIN="$toxiproxy_dir/bin" GOFLAGS=-modcacherw \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@$toxiproxy_version"
fi
