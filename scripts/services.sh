#!/usr/bin/env bash
# Brings up what Switchboard needs on a developer machine or in CI, installing what is missing:
#   - PostgreSQL (Debian's server package), started if it is down, with a `switchboard` role
#     and database;
#   - Tansu, a Kafka-protocol broker (cargo install, ~10 min the first time), on 127.0.0.1:9092.
# Also checks the build tools librdkafka needs, and node and npm for the interop tests'
# third-party clients (tests/interop), and installs them when missing. `browser` installs what
# the browser tests need beside node (Debian's Chromium; make test runs it, make run does not).
# Usage: scripts/services.sh up | browser | down | status | env
# Idempotent: run it as often as you like. Prints the variables the service and tests need.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$here/.run"
mkdir -p "$run_dir"

PG_USER=${SWITCHBOARD_PG_USER:-switchboard}
PG_PASSWORD=${SWITCHBOARD_PG_PASSWORD:-switchboard}
PG_DB=${SWITCHBOARD_PG_DB:-switchboard}
PG_PORT=${SWITCHBOARD_PG_PORT:-5432}
KAFKA_PORT=${SWITCHBOARD_KAFKA_PORT:-9092}
TANSU_VERSION=0.6.0

log() { printf '[services] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; exit 1; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2 tries=${3:-120}
  for _ in $(seq "$tries"); do port_open "$port" && return 0; sleep 0.5; done
  log "$what did not open port $port"; return 1
}

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sudo -u postgres sh -c "$*"; fi
}

# What building Switchboard needs beyond cargo: a C toolchain and make for the bundled
# librdkafka (rdkafka-sys builds it from source), pkg-config and zlib headers.
build_deps_up() {
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v c++ >/dev/null 2>&1 || missing+=(build-essential)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing build tools: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

# What tests/tests/interop.rs runs: the npm GraphQL clients of tests/interop under node. A
# machine without node gets the distribution's: on Debian 12 that is node 18, below the 20
# graphql-ws declares (npm ci warns); our CI machines come with node 20.
node_up() {
  local missing=()
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing node for the interop tests: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

# The browser tests (tests/tests/widget.rs): Debian's Chromium at /usr/bin/chromium, driven by
# Playwright's library (web/tests; npm ci installs it). Playwright's own browser download
# cannot work on our machines, and needs none of this.
browser_up() {
  node_up
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Chromium for the browser tests"
    apt_install chromium
  fi
}

postgres_up() {
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql
  fi
  if ! port_open "$PG_PORT"; then
    local cluster version
    cluster=$(pg_lsclusters -h | awk -v p="$PG_PORT" '$3 == p {print $1" "$2; exit}')
    if [ -z "$cluster" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      log "creating PostgreSQL $version cluster on port $PG_PORT"
      as_root pg_createcluster "$version" main -p "$PG_PORT" >&2
      cluster="$version main"
    fi
    log "starting PostgreSQL cluster $cluster"
    # shellcheck disable=SC2086
    as_root pg_ctlcluster --skip-systemctl-redirect $cluster start >&2 || true
    wait_port "$PG_PORT" PostgreSQL
  fi
  # The role owns its databases and may create the throwaway ones #[sqlx::test] makes.
  as_postgres "psql -p $PG_PORT -qtAc \"do \\\$\\\$ begin
      if not exists (select from pg_roles where rolname = '$PG_USER') then
        create role $PG_USER login superuser password '$PG_PASSWORD';
      end if; end \\\$\\\$;\"" >&2
  if [ "$(as_postgres "psql -p $PG_PORT -qtAc \"select 1 from pg_database where datname = '$PG_DB'\"")" != 1 ]; then
    as_postgres "createdb -p $PG_PORT -O $PG_USER $PG_DB" >&2
  fi
}

tansu_bin() {
  if command -v tansu >/dev/null 2>&1; then command -v tansu; return; fi
  local bin="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
  if [ ! -x "$bin" ]; then
    log "installing Tansu $TANSU_VERSION (cargo install; about 10 minutes the first time)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore >&2
  fi
  echo "$bin"
}

kafka_up() {
  if port_open "$KAFKA_PORT"; then return; fi
  local bin
  bin=$(tansu_bin)
  log "starting Tansu on 127.0.0.1:$KAFKA_PORT (in-memory; log in .run/tansu.log)"
  nohup "$bin" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine memory://tansu/ >"$run_dir/tansu.log" 2>&1 &
  echo $! >"$run_dir/tansu.pid"
  wait_port "$KAFKA_PORT" Tansu
}

kafka_down() {
  if [ -f "$run_dir/tansu.pid" ]; then
    kill "$(cat "$run_dir/tansu.pid")" 2>/dev/null || true
    rm -f "$run_dir/tansu.pid"
    log "stopped Tansu"
  fi
}

print_env() {
  cat <<EOV
export SWITCHBOARD_DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB
export DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB
export SWITCHBOARD_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
EOV
}

case "${1:-up}" in
  up) build_deps_up; node_up; postgres_up; kafka_up; print_env ;;
  browser) browser_up ;;
  down) kafka_down ;;
  status)
    port_open "$PG_PORT" && log "PostgreSQL: up on $PG_PORT" || log "PostgreSQL: down"
    port_open "$KAFKA_PORT" && log "Kafka: up on $KAFKA_PORT" || log "Kafka: down" ;;
  env) print_env ;;
  *) echo "usage: $0 up|browser|down|status|env" >&2; exit 2 ;;
esac
