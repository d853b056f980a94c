#!/usr/bin/env bash
# Prepares the container engine on a Debian 12 machine so that `docker-compose up` runs
# compose.yaml, with no image registry reachable (docs/containers.md). Idempotent: a step that
# is already done is skipped, so a second run takes a second or two.
#
#   scripts/containers.sh            prepare everything (as root: rootful podman)
#   scripts/containers.sh env        print `export DOCKER_HOST=...` for docker-compose
#   scripts/containers.sh stop       stop the API service and the health-check driver
#
# What "prepare" does, each step only when needed:
#   1. apt packages: podman, runc, the CNI dnsname plugin, docker-compose (v1, Debian's),
#      debootstrap
#   2. /etc/containers/containers.conf: runc, cgroupfs, raised default rlimits
#   3. `podman system service` on $socket, for docker-compose (DOCKER_HOST)
#   4. a health-check driver: podman runs health checks from systemd timers, and this machine
#      has no systemd, so without it no container ever turns healthy and compose's
#      `depends_on: condition: service_healthy` waits forever
#   5. debian:12 and debian:12-slim: debootstrap --variant=minbase from this machine's apt
#      mirror, imported (what the Dockerfiles start FROM)
#   6. postgres:15 and apache/kafka:<pom version>: local stand-ins (scripts/containers/), the
#      Kafka one from the jars scripts/install-deps.sh fetched from Maven Central
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${RECONCILER_CACHE_DIR:-$root/.cache}"
state=/run/reconciler-containers
socket="$state/podman.sock"

log() { printf 'containers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# "ii": installed and configured (as in install-deps.sh).
installed() { [[ "$(dpkg-query -W -f="\${db:Status-Abbrev}" "$1" 2>/dev/null)" == ii* ]]; }
install_packages() {
  local package missing=()
  # dnsname: the CNI plugin that lets containers resolve each other by service name (init
  # reaches `kafka:9092`); podman only recommends it, and --no-install-recommends skips it.
  for package in podman runc golang-github-containernetworking-plugin-dnsname docker-compose debootstrap curl; do
    installed "$package" || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  log "apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# crun (podman's default) fails on this kernel's cgroup layout; without systemd only cgroupfs
# works; and the default rlimits (1048576 open files) cannot be raised in this sandbox.
write_config() {
  local wanted
  wanted=$(
    cat <<'CONF'
# Written by instance-reconciler's scripts/containers.sh (docs/containers.md).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
# journald is not running without systemd.
events_logger = "file"
CONF
  )
  if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" = "$wanted" ]; then return 0; fi
  if [ -s /etc/containers/containers.conf ]; then
    cp /etc/containers/containers.conf /etc/containers/containers.conf.before-reconciler
    log "kept the previous /etc/containers/containers.conf as containers.conf.before-reconciler"
  fi
  printf '%s\n' "$wanted" >/etc/containers/containers.conf
  log "wrote /etc/containers/containers.conf"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_service() {
  if running "$state/service.pid" && curl -fsS --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
    return 0
  fi
  # --time=0: no idle timeout. Its own session and no terminal, so that it outlives this
  # script and holds none of the caller's pipes open.
  setsid podman system service --time=0 "unix://$socket" \
    </dev/null >>"$state/service.log" 2>&1 &
  echo $! >"$state/service.pid"
  for _ in $(seq 1 100); do
    curl -fsS --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && { log "podman API on $socket"; return 0; }
    sleep 0.1
  done
  tail -n 20 "$state/service.log" >&2
  die "podman system service did not answer on $socket"
}

# Runs each running container's health check at its interval, the way podman's systemd timer
# would (`podman healthcheck run` applies the retries and the start period itself).
health_driver() {
  declare -A due
  local now id interval seconds
  while true; do
    now=$(date +%s)
    while read -r id interval; do
      [ -n "$interval" ] || continue # no health check defined
      ((now >= ${due[$id]:-0})) || continue
      # </dev/null: podman would otherwise read the rest of the container list.
      podman healthcheck run "$id" </dev/null >/dev/null 2>&1 || true
      seconds=$(duration_seconds "$interval")
      due[$id]=$((now + seconds))
    done < <(podman ps -q | xargs -r podman inspect \
      --format '{{.Id}} {{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval}}{{end}}' 2>/dev/null)
    sleep 2
  done
}

# Go's time.Duration text ("5s", "1m30s", "500ms") to whole seconds, at least 1.
duration_seconds() {
  local text=$1 total=0 number
  while [[ "$text" =~ ^([0-9.]+)(h|ms|m|s)(.*)$ ]]; do
    number=${BASH_REMATCH[1]%.*}
    case "${BASH_REMATCH[2]}" in
    h) total=$((total + number * 3600)) ;;
    m) total=$((total + number * 60)) ;;
    s) total=$((total + number)) ;;
    ms) ;;
    esac
    text=${BASH_REMATCH[3]}
  done
  echo $((total > 0 ? total : 1))
}

start_health_driver() {
  running "$state/health.pid" && return 0
  setsid "$here/containers.sh" health-driver </dev/null >>"$state/health.log" 2>&1 &
  echo $! >"$state/health.pid"
  log "health-check driver running (pid $(cat "$state/health.pid"))"
}

stop_all() {
  local name pid
  for name in health service; do
    if running "$state/$name.pid"; then
      pid=$(cat "$state/$name.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      log "stopped $name (pid $pid)"
    fi
    rm -f "$state/$name.pid"
  done
}

# The first deb822 URIs (or one-line `deb` URI) of /etc/apt that serves SUITE, else FALLBACK.
apt_mirror() { # suite fallback
  local suite=$1 file uris="" suites="" line
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    while read -r line; do
      if [[ "$line" =~ ^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+) ]] &&
        [ "${BASH_REMATCH[3]}" = "$suite" ]; then
        echo "${BASH_REMATCH[2]%/}"
        return 0
      fi
    done <"$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    # Stanzas are separated by blank lines; a stanza that serves the suite gives its URIs.
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in
      URIs:*) uris=${line#URIs:} ;;
      Suites:*) suites=" ${line#Suites:} " ;;
      "")
        if [[ "$suites" == *" $suite "* ]] && [ -n "$uris" ]; then
          read -r line <<<"$uris"
          echo "${line%/}"
          return 0
        fi
        uris="" suites=""
        ;;
      esac
    done < <(cat "$file"; echo)
  done
  echo "$2"
}

# Our images are found under their docker.io names too, which is what docker-compose asks for.
image_exists() { podman image exists "$1"; }

make_base_images() {
  if image_exists docker.io/library/debian:12 && image_exists docker.io/library/debian:12-slim; then
    return 0
  fi
  local mirror security rootfs started=$SECONDS
  mirror=$(apt_mirror bookworm http://deb.debian.org/debian)
  security=$(apt_mirror bookworm-security http://deb.debian.org/debian-security)
  rootfs=$(mktemp -d /var/tmp/reconciler-debootstrap.XXXXXX)
  log "debootstrap --variant=minbase bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 ||
    { tail -n 20 "$state/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
  # Like the official image: the same suites as this machine, no package lists or caches.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "$mirror" "$mirror" "$security" >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* "$rootfs"/tmp/*
  tar -C "$rootfs" --numeric-owner -c . |
    podman import -q --change 'CMD ["bash"]' - docker.io/library/debian:12 >/dev/null
  rm -rf "$rootfs"
  podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim
  log "debian:12 and debian:12-slim imported ($((SECONDS - started)) s)"
}

# Builds a stand-in when it is missing or its inputs changed (a digest of them is a label).
build_stand_in() { # image context_dir
  local image=$1 context=$2 digest current started=$SECONDS
  digest=$(cd "$context" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
  current=$(podman image inspect --format '{{index .Labels "reconciler.stand-in.digest"}}' "$image" 2>/dev/null || true)
  [ "$current" = "$digest" ] && return 0
  log "building $image (stand-in, scripts/containers/)"
  podman build -q --label "reconciler.stand-in.digest=$digest" -t "$image" "$context" >"$state/build.log" 2>&1 ||
    { tail -n 30 "$state/build.log" >&2; die "building $image failed"; }
  log "$image built ($((SECONDS - started)) s)"
}

make_stand_ins() {
  build_stand_in docker.io/library/postgres:15 "$here/containers/postgres"
  local version context
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/scripts/kafka/pom.xml")
  [ -n "$version" ] || die "no <kafka.version> in scripts/kafka/pom.xml"
  if [ ! -f "$cache/kafka/lib/.complete" ]; then
    "$root/scripts/install-deps.sh"
  fi
  # The build context: the Dockerfile, the entrypoint and the jars (hard links: no copy).
  context=$(mktemp -d /tmp/reconciler-kafka-image.XXXXXX)
  cp "$here/containers/kafka/Dockerfile" "$here/containers/kafka/run.sh" "$context/"
  mkdir "$context/libs"
  cp -l "$cache"/kafka/lib/*.jar "$context/libs/" 2>/dev/null || cp "$cache"/kafka/lib/*.jar "$context/libs/"
  build_stand_in "docker.io/apache/kafka:$version" "$context"
  rm -rf "$context"
}

prepare() {
  local started=$SECONDS
  # Rootful podman: the API socket, the storage and the images are root's, one set for the
  # machine (the rootless kind, per user, is not what this sets up).
  [ "$(id -u)" = 0 ] || die "run as root (sudo scripts/containers.sh)"
  install_packages
  mkdir -p "$state"
  write_config
  start_service
  start_health_driver
  make_base_images
  make_stand_ins
  log "ready in $((SECONDS - started)) s; for docker-compose: export DOCKER_HOST=unix://$socket"
}

case "${1:-prepare}" in
prepare) prepare ;;
env) echo "export DOCKER_HOST=unix://$socket" ;;
stop) stop_all ;;
health-driver) health_driver ;;
-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown command '$1' (prepare | env | stop)" ;;
esac
