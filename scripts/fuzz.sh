#!/usr/bin/env bash
# Fuzzes the GraphQL endpoint with Schemathesis, bounded, for `make test` and `make fuzz`:
#   - installs Schemathesis (pinned) into a private virtualenv, .run/fuzz-venv, once;
#   - gives the service a database, a Kafka topic and consumer groups of its own (the database
#     is dropped at the end), migrates it and starts `switchboard serve` on a free local port;
#   - seeds an admin operator, an inbox and a visitor's conversation, then runs Schemathesis
#     against POST /graphql three times: anonymously, with the visitor's session token and with
#     the admin's operator token;
#   - fails on any 5xx answer, on any GraphQL error the service itself labels `INTERNAL` (its
#     500: a resolver that failed rather than refused), on a panic in the log, and when the
#     server is no longer running at the end.
# Needs the services' variables (DATABASE_URL, SWITCHBOARD_KAFKA_BROKERS), as printed by
# `scripts/services.sh up`, plus python3 (with venv) and curl.
# Usage: eval "$(scripts/services.sh up)"; scripts/fuzz.sh [path/to/switchboard]
#   (default ./target/debug/switchboard)
# Knobs (environment): FUZZ_EXAMPLES, the most test cases per GraphQL operation and identity
# (default 50: about 1.5 minutes on two cores, debug build; 100 about 3); FUZZ_SEED, to replay a
# run (Schemathesis prints its seed); FUZZ_WORKERS (default 2). Logs, the schema and the hooks
# stay in .run/fuzz/ until the next run.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$here/.run"
SCHEMATHESIS_VERSION=4.32.5
venv="$run_dir/fuzz-venv"
work="$run_dir/fuzz"
EXAMPLES=${FUZZ_EXAMPLES:-50}
WORKERS=${FUZZ_WORKERS:-2}

log() { printf '[fuzz] %s\n' "$*" >&2; }

bin=${1:-$here/target/debug/switchboard}
if [ ! -x "$bin" ]; then
  log "no switchboard binary at $bin (cargo build --locked --bin switchboard)"; exit 2
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
: "${DATABASE_URL:?is not set: eval \"\$(scripts/services.sh up)\" first}"
: "${SWITCHBOARD_KAFKA_BROKERS:?is not set: eval \"\$(scripts/services.sh up)\" first}"

# --- Schemathesis, in its own virtualenv, at the pinned version ---------------------------------
if [ "$("$venv/bin/st" --version 2>/dev/null || true)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  log "installing Schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  # Debian's own python3 keeps venv (ensurepip) in a package of its own.
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null && command -v apt-get >/dev/null; then
    log "installing python3-venv"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi

rm -rf "$work"
mkdir -p "$work"
started=$SECONDS

# --- A database, a topic and consumer groups of this run's own ----------------------------------
run_id=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
db="switchboard_fuzz_$run_id"
query=""
[[ "$DATABASE_URL" == *\?* ]] && query="?${DATABASE_URL#*\?}"
base_url=${DATABASE_URL%%\?*}
fuzz_db_url="${base_url%/*}/$db$query"

server_pid=""
server_alive() {
  # A zombie (exited, not yet reaped) counts as dead.
  [ -n "$server_pid" ] && [ -r "/proc/$server_pid/stat" ] &&
    [ "$(sed -E 's/^.*\) (.).*/\1/' "/proc/$server_pid/stat")" != Z ]
}
stop_server() {
  if server_alive; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do server_alive || break; sleep 0.2; done
    server_alive && kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
cleanup() {
  stop_server
  psql "$DATABASE_URL" -qtAc "drop database if exists $db with (force)" >/dev/null 2>&1 ||
    log "could not drop database $db"
}
trap cleanup EXIT

log "database $db"
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qtAc "create database $db" >/dev/null

secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SWITCHBOARD_DATABASE_URL="$fuzz_db_url"
export SWITCHBOARD_JWT_SECRET="$secret"
export SWITCHBOARD_LISTEN="127.0.0.1:$port"
export SWITCHBOARD_KAFKA_TOPIC="switchboard.fuzz.$run_id"
export SWITCHBOARD_KAFKA_GROUP_PREFIX="switchboard-fuzz-$run_id"
export SWITCHBOARD_ATTACHMENTS_DIR="$work/attachments"
# The fuzz sends thousands of requests from one address: rate limits would answer most of
# them RATE_LIMITED (tests/tests/abuse.rs tests the limits) and leave the resolvers unexplored.
export SWITCHBOARD_RATE_LIMIT_PER_IP=0
export SWITCHBOARD_RATE_LIMIT_PER_WIDGET=0

"$bin" migrate 2>"$work/migrate.log" || { cat "$work/migrate.log" >&2; exit 1; }

# --- The server ---------------------------------------------------------------------------------
base="http://127.0.0.1:$port"
log "starting $bin serve on $base (log: $work/server.log)"
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
ready=""
for _ in $(seq 240); do
  if ! server_alive; then break; fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ]; then
    ready=1; break
  fi
  sleep 0.25
done
if [ -z "$ready" ]; then
  log "the server did not become ready; its log:"
  tail -n 50 "$work/server.log" >&2
  exit 1
fi
log "ready after $((SECONDS - started)) s"

# --- Something to fuzz against -----------------------------------------------------------------
# gql TOKEN QUERY: POSTs a query ("" for no token) and prints the answer.
gql() {
  local auth=()
  [ -z "$1" ] || auth=(-H "authorization: Bearer $1")
  curl -s "$base/graphql" -H 'content-type: application/json' "${auth[@]}" --data-binary \
    "$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}))' "$2")"
}
# field ANSWER PATH: the value at a dotted path of a JSON answer, empty when there is none.
field() {
  python3 -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value if isinstance(value, str) else "")' "$1" "$2"
}
# The admin (a token, registered as an operator and online, so conversations are assigned to it),
# an inbox and a visitor's conversation in it. Their ids are among the UUIDs Schemathesis sends
# (random ones alone find nothing past "not found"), and the visitor's session token is the
# third identity fuzzed. Anything that fails here only makes the fuzz shallower.
admin_id=$(cat /proc/sys/kernel/random/uuid)
token=$("$bin" token operator --roles admin --id "$admin_id")
ids="$admin_id"
answer=$(gql "$token" "mutation {
  registerOperator(input: {operatorId: \"$admin_id\", profile: {name: \"Fuzz\", roles: [ADMIN]}}) {
    operatorId }
  setOperatorStatus(status: ONLINE) { changed } }")
[ -n "$(field "$answer" data.registerOperator.operatorId)" ] ||
  log "registering the admin failed: $answer"
answer=$(gql "$token" 'mutation {
  createInbox(input: {settings: {title: "Fuzz"}}) { inboxId widgetToken } }')
inbox_id=$(field "$answer" data.createInbox.inboxId)
widget=$(field "$answer" data.createInbox.widgetToken)
[ -n "$widget" ] || log "creating an inbox failed: $answer"
session=""
if [ -n "$widget" ]; then
  ids="$ids $inbox_id"
  # The inbox reaches the read side through Kafka: INVALID_WIDGET_TOKEN until it has.
  for _ in $(seq 60); do
    answer=$(gql "" "mutation { startConversation(input: {widgetToken: \"$widget\", name: \"Fuzz\",
      message: \"Hello\"}) { conversationId sessionToken message { id } } }")
    session=$(field "$answer" data.startConversation.sessionToken)
    [ -z "$session" ] || break
    sleep 0.25
  done
  if [ -n "$session" ]; then
    ids="$ids $(field "$answer" data.startConversation.conversationId)"
    ids="$ids $(field "$answer" data.startConversation.message.id)"
  else
    log "starting a conversation failed: $answer"
  fi
fi

# --- The schema ---------------------------------------------------------------------------------
# Schemathesis would introspect /graphql itself, but with the standard introspection query, whose
# type references nest deeper than the service's depth limit (12) allows: the server refuses it
# ("Query is nested too deep"). So this asks with type references six levels deep (plenty for
# `[[T!]!]!`) and hands Schemathesis the schema as SDL, with the endpoint as its URL.
cat >"$work/schema.py" <<'EOF'
"""Prints the schema of the GraphQL endpoint given (argv[1]) as SDL."""
import json
import sys
import urllib.request

from graphql import build_client_schema, print_schema

TYPE_REF = "kind name" + " ofType { kind name" * 6 + " }" * 6
QUERY = """
query {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      kind name description
      fields(includeDeprecated: true) {
        name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    directives { name description locations args { ...InputValue } }
  }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { %s }
""" % TYPE_REF

request = urllib.request.Request(
    sys.argv[1],
    data=json.dumps({"query": QUERY}).encode(),
    headers={"content-type": "application/json"},
)
with urllib.request.urlopen(request, timeout=30) as response:
    answer = json.load(response)
if answer.get("errors") or not answer.get("data"):
    sys.exit(f"introspection failed: {json.dumps(answer)[:2000]}")
print(print_schema(build_client_schema(answer["data"])))
EOF
"$venv/bin/python" "$work/schema.py" "$base/graphql" >"$work/schema.graphql"

# --- Schemathesis -------------------------------------------------------------------------------
# A check of our own rather than the stock `not_a_server_error`: for GraphQL that one also counts
# every error raised in a resolver as a server error, and most of what this service answers to
# random input is exactly that: a refusal with a code (UNAUTHENTICATED, INVALID_ARGUMENT, …).
# It also tallies the answers (status and error codes) into a file, for the summary below.
# The hooks also give Schemathesis values for the service's own scalars (NaiveDate, and any new
# one): valid ones and arbitrary text.
cat >"$work/hooks.py" <<'EOF'
import os

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import get_extra_scalar_strategies

TALLY = os.environ["FUZZ_TALLY"]
IDS = os.environ.get("FUZZ_IDS", "").split()

if IDS:
    uuids = st.one_of(st.sampled_from(IDS), st.uuids().map(str))
    schemathesis.graphql.scalar("UUID", uuids.map(nodes.String))

VALID = {"NaiveDate": st.dates().map(str)}
with open(os.environ["FUZZ_SCHEMA"]) as sdl:
    schema = graphql.build_schema(sdl.read())
for name, named_type in schema.type_map.items():
    if (
        isinstance(named_type, graphql.GraphQLScalarType)
        and name not in graphql.specified_scalar_types
        and name not in get_extra_scalar_strategies()
    ):
        text = st.text(max_size=40)
        values = st.one_of(VALID[name], text) if name in VALID else text
        schemathesis.graphql.scalar(name, values.map(nodes.String))


@schemathesis.check
def switchboard_no_server_error(ctx, response, case):
    """No 5xx, and no GraphQL error that the service labels INTERNAL."""
    errors = []
    try:
        body = response.json()
    except Exception:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        errors = [e for e in body["errors"] if isinstance(e, dict)]
    codes = [str((e.get("extensions") or {}).get("code", "-")) for e in errors]
    with open(TALLY, "a") as tally:
        tally.write(f"{response.status_code} {','.join(codes) or 'ok'}\n")
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    internal = [e.get("message") for e, code in zip(errors, codes) if code == "INTERNAL"]
    if internal:
        raise AssertionError(f"GraphQL error INTERNAL: {internal}")
EOF

status=0
fuzz() {
  local name=$1; shift
  if ! server_alive; then log "schemathesis as $name: skipped, the server is down"; return; fi
  log "schemathesis as $name: up to $EXAMPLES examples per operation"
  local rc=0
  # The timeout only guards against a server that hangs: a normal run takes a fraction of it.
  (cd "$work" && FUZZ_TALLY="$work/$name.tally" FUZZ_SCHEMA="$work/schema.graphql" FUZZ_IDS="$ids" \
    SCHEMATHESIS_HOOKS="$work/hooks.py" timeout 900 \
    "$venv/bin/st" run "$work/schema.graphql" --url "$base/graphql" \
      --checks switchboard_no_server_error \
      --max-examples "$EXAMPLES" \
      ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
      --workers "$WORKERS" \
      --request-timeout 10 \
      --suppress-health-check all \
      --generation-database none \
      --no-color \
      "$@") 2>&1 | tee "$work/$name.out" || rc=$?
  if [ "$rc" != 0 ]; then
    log "schemathesis as $name: FAILED (exit $rc)"; status=1
  fi
  if [ -s "$work/$name.tally" ]; then
    log "answers as $name (HTTP status, GraphQL error codes: count):"
    sort "$work/$name.tally" | uniq -c | sort -rn | sed -n 1,25p >&2
    local limited
    limited=$(grep -c '^429 ' "$work/$name.tally" || true)
    [ "$limited" = 0 ] || log "note: $limited answers were 429 (rate limited): the fuzz was blunted"
  fi
}
fuzz anonymous
if [ -n "$session" ]; then fuzz visitor --header "Authorization: Bearer $session"; fi
fuzz admin --header "Authorization: Bearer $token"

# --- The server survived? -----------------------------------------------------------------------
if ! server_alive; then
  log "the server is no longer running: it crashed during the fuzz; its log:"
  tail -n 80 "$work/server.log" >&2
  status=1
fi
stop_server
if grep -q 'panicked at' "$work/server.log"; then
  log "the server panicked during the fuzz:"
  grep -n -A 5 'panicked at' "$work/server.log" | sed -n 1,60p >&2
  status=1
fi

if [ "$status" = 0 ]; then
  log "passed in $((SECONDS - started)) s: no 5xx, no INTERNAL error, no crash"
else
  log "FAILED after $((SECONDS - started)) s; outputs in $work"
fi
exit "$status"
