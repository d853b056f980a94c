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
  librdkafka-dev libpq-dev libcurl4-openssl-dev libavro-dev check libjansson-dev
  libmicrohttpd-dev uuid-dev
  postgresql postgresql-client
  python3 python3-venv
  default-jre-headless maven
  docker-compose prometheus jq curl openssl
  golang-go
)
# "ii": installed and configured (`dpkg -s` would also accept a package that was removed with
# its configuration files left behind).
installed() { [[ "$(dpkg-query -W -f="\${db:Status-Abbrev}" "$1" 2>/dev/null)" == ii* ]]; }
missing=()
for package in "${apt_packages[@]}"; do
  case "$package" in
  # A JDK or JRE (e.g. Temurin) or a Maven from elsewhere is fine: skip Debian's then.
  default-jre-headless) if command -v java >/dev/null 2>&1; then continue; fi ;;
  maven) if command -v mvn >/dev/null 2>&1; then continue; fi ;;
  # bench/peer needs Go 1.19 or newer: any go on the PATH will do.
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
if ! "$venv/bin/python" -c 'import fastavro, confluent_kafka, psycopg, pytest, yaml' 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/requirements.txt"
fi

# Kafka broker jars, cached: Maven resolves kafka_2.13 and its dependencies once.
kafka_lib="$cache/kafka/lib"
if [ ! -f "$kafka_lib/.complete" ]; then
  rm -rf "$kafka_lib"
  mkdir -p "$kafka_lib"
  echo "install-deps: fetching the Kafka broker from Maven Central into $kafka_lib" >&2
  mvn -q -B -f "$root/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$kafka_lib" -Dmdep.useRepositoryLayout=false
  touch "$kafka_lib/.complete"
fi
