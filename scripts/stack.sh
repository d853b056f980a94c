#!/usr/bin/env bash
# The local stack for tests and the demo: a fresh PostgreSQL cluster (initdb in a temporary
# directory) and a single-node Apache Kafka broker in KRaft mode, both on loopback and on
# free ports, with the topics (docs/contracts.md §5) and the tables (migrations/) created.
#
#   scripts/stack.sh start DIR     start everything under DIR; writes DIR/env to `source`
#   scripts/stack.sh stop DIR      stop everything and remove DIR
#   scripts/stack.sh restart-kafka DIR | restart-postgres DIR   (for fault tests)
#
# RECONCILER_STACK_POSTGRES_OPTIONS adds server options (e.g. "-c
# shared_preload_libraries=pg_stat_statements" to profile a benchmark's statements).
#
# Not for production: no replication, trust-free but throwaway credentials.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${RECONCILER_CACHE_DIR:-$root/.cache}"
kafka_lib="$cache/kafka/lib"

log() { printf 'stack: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_bin() { # the newest installed major version's binaries
  local dirs=(/usr/lib/postgresql/*/bin) dir
  dir=$(printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1)
  [ -d "$dir" ] || die "PostgreSQL server binaries not found (run scripts/install-deps.sh)"
  echo "$dir"
}

# initdb and postgres refuse to run as root; run them as the 'postgres' system user then.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_for_port() { # host port seconds what
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

start_postgres() {
  local dir=$1 bin port password
  bin=$(pg_bin)
  port=$(free_port)
  password=$(openssl rand -hex 12)
  mkdir -p "$dir/postgres"
  printf '%s\n' "$password" >"$dir/postgres.password"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir/postgres" "$dir/postgres.password"; chmod 755 "$dir"; fi
  # Password authentication over TCP, as in production: the tests then prove the password
  # never leaks. Local socket connections (only this script uses them) are trusted.
  as_pg_user "$bin/initdb" -D "$dir/postgres/data" -U reconciler --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$dir/postgres.password" -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  as_pg_user "$bin/pg_ctl" -D "$dir/postgres/data" -l "$dir/postgres/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/postgres -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${RECONCILER_STACK_POSTGRES_OPTIONS:-}" \
    start >/dev/null || { cat "$dir/postgres/server.log" >&2; die "PostgreSQL did not start"; }
  as_pg_user "$bin/createdb" -h "$dir/postgres" -p "$port" -U reconciler reconciler
  echo "$port" >"$dir/postgres.port"
  DATABASE_URL="postgresql://reconciler:$password@127.0.0.1:$port/reconciler"
  log "PostgreSQL on 127.0.0.1:$port (data in $dir/postgres/data)"
}

kafka_java() {
  java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$kafka_lib/*" "$@"
}

start_kafka() {
  local dir=$1 port controller_port cluster_id proxied_port proxy_port
  [ -f "$kafka_lib/.complete" ] || die "Kafka jars missing in $kafka_lib (run scripts/install-deps.sh)"
  port=$(free_port)
  controller_port=$(free_port)
  # A second listener, PROXIED, advertised on another port where a fault-injecting proxy
  # (tests/integration/test_reliability_network.py) forwards to it: a client bootstrapped
  # there is told to come back through the proxy, so all its traffic crosses it. Nothing
  # listens on the advertised port unless a test starts that proxy.
  proxied_port=$(free_port)
  proxy_port=$(free_port)
  mkdir -p "$dir/kafka"
  cat >"$dir/kafka/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port,PROXIED://127.0.0.1:$proxied_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,PROXIED://127.0.0.1:$proxy_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/kafka/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start consumers and expect assignment at once, not after the 3 s default delay.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/kafka/server.properties" \
    >"$dir/kafka/format.log" 2>&1 || { cat "$dir/kafka/format.log" >&2; die "kafka storage format failed"; }
  echo "$port" >"$dir/kafka.port"
  echo "$proxied_port" >"$dir/kafka-proxied.port"
  echo "$proxy_port" >"$dir/kafka-proxy.port"
  launch_kafka "$dir"
  KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port"
  log "Kafka (KRaft) on 127.0.0.1:$port"
}

launch_kafka() {
  local dir=$1 port
  port=$(cat "$dir/kafka.port")
  # setsid: the broker gets its own process group, so stop can end it and its children.
  setsid java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$kafka_lib/*" kafka.Kafka "$dir/kafka/server.properties" \
    >>"$dir/kafka/server.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  wait_for_port 127.0.0.1 "$port" 90 || { tail -n 50 "$dir/kafka/server.log" >&2; die "Kafka did not open port $port"; }
}

create_topics() {
  local dir=$1
  KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS" KAFKA_JARS_DIR="$kafka_lib" "$here/create-topics.sh" >&2
}

write_env() {
  local dir=$1
  cat >"$dir/env" <<ENV
export RECONCILER_STACK_DIR='$dir'
export KAFKA_BOOTSTRAP_SERVERS='$KAFKA_BOOTSTRAP_SERVERS'
export DATABASE_URL='$DATABASE_URL'
export KAFKA_JARS_DIR='$kafka_lib'
ENV
}

cmd_start() {
  local dir=$1
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  start_postgres "$dir"
  start_kafka "$dir"
  create_topics "$dir"
  DATABASE_URL="$DATABASE_URL" "$here/migrate.sh" --fixtures >&2
  write_env "$dir"
  log "ready: source $dir/env"
}

stop_kafka() {
  local dir=$1 pid
  [ -f "$dir/kafka.pid" ] || return 0
  pid=$(cat "$dir/kafka.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/kafka.pid"
}

stop_postgres() {
  local dir=$1
  [ -d "$dir/postgres/data" ] || return 0
  as_pg_user "$(pg_bin)/pg_ctl" -D "$dir/postgres/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  stop_kafka "$dir"
  stop_postgres "$dir"
  rm -rf "$dir"
  log "stopped"
}

cmd_restart_kafka() {
  local dir=$1
  stop_kafka "$dir"
  launch_kafka "$dir"
  log "Kafka restarted"
}

cmd_restart_postgres() {
  local dir=$1 port
  port=$(cat "$dir/postgres.port")
  stop_postgres "$dir"
  as_pg_user "$(pg_bin)/pg_ctl" -D "$dir/postgres/data" -l "$dir/postgres/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/postgres -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${RECONCILER_STACK_POSTGRES_OPTIONS:-}" \
    start >/dev/null
  log "PostgreSQL restarted"
}

case "${1:-}" in
  start) cmd_start "${2:?usage: stack.sh start DIR}" ;;
  stop) cmd_stop "${2:?usage: stack.sh stop DIR}" ;;
  restart-kafka) cmd_restart_kafka "${2:?usage: stack.sh restart-kafka DIR}" ;;
  restart-postgres) cmd_restart_postgres "${2:?usage: stack.sh restart-postgres DIR}" ;;
  *) echo "usage: stack.sh start|stop|restart-kafka|restart-postgres DIR" >&2; exit 2 ;;
esac
