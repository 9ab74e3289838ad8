# The two commands of the README, and a few helpers. Every target brings up what it needs
# (PostgreSQL, Tansu as the Kafka broker, build tools) through scripts/services.sh.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
SERVICES := scripts/services.sh
# A secret of this checkout's own for local runs, made on first use and kept in .run/.
SECRET_FILE := .run/jwt-secret
# The local admin's operator id, made on first use, so `make token` always speaks for the same
# operator (whom the README registers once).
ADMIN_ID_FILE := .run/admin-id

.PHONY: run test fuzz bench services stop token invite lint

## make run: services up, migrations applied, the service on http://127.0.0.1:8080/graphql
run: $(SECRET_FILE)
	eval "$$($(SERVICES) up)"; \
	export SWITCHBOARD_JWT_SECRET="$${SWITCHBOARD_JWT_SECRET:-$$(cat $(SECRET_FILE))}"; \
	cargo build --release --locked --bin switchboard; \
	./target/release/switchboard migrate; \
	SWITCHBOARD_DEMO="$${SWITCHBOARD_DEMO:-true}" exec ./target/release/switchboard serve

## make test: services up (and Chromium with Playwright's library for the browser tests of
## web/tests), then the whole suite against real PostgreSQL and Kafka, and every
## benchmark scenario in its seconds-long --quick form so the bench cannot rot (debug build:
## its figures mean nothing; BENCHMARKS.md's come from `make bench`), then the GraphQL fuzz of
## `make fuzz` on that debug build. The binaries are built with --all-targets so they share
## the tests' feature set and nothing is compiled twice (a second set of artifacts once filled
## a CI machine's disk).
test:
	eval "$$($(SERVICES) up)"; \
	npm ci --prefix tests/interop --no-audit --no-fund; \
	$(SERVICES) browser; \
	npm ci --prefix web/tests --no-audit --no-fund; \
	cargo test --workspace --locked; \
	cargo build --locked --workspace --all-targets; \
	./target/debug/bench --quick; \
	scripts/fuzz.sh ./target/debug/switchboard

## make fuzz: services up, then Schemathesis against the GraphQL endpoint of a debug build started
## on a database of its own, as anonymous, visitor and admin; fails on any 5xx, INTERNAL error or
## crash (scripts/fuzz.sh; FUZZ_EXAMPLES sets the cases per operation, e.g. make fuzz
## FUZZ_EXAMPLES=100)
fuzz:
	eval "$$($(SERVICES) up)"; \
	cargo build --locked --bin switchboard; \
	scripts/fuzz.sh ./target/debug/switchboard

## make bench: the benchmarks of BENCHMARKS.md (release build); BENCH_ARGS picks scenarios and
## sizes, e.g. make bench BENCH_ARGS="commands --repeats 5"
bench:
	eval "$$($(SERVICES) up)"; \
	cargo build --release --locked --bin switchboard --bin bench; \
	./target/release/bench $(BENCH_ARGS)

## make token: an admin operator token for the local service (see README)
token: $(SECRET_FILE) $(ADMIN_ID_FILE)
	@SWITCHBOARD_JWT_SECRET="$${SWITCHBOARD_JWT_SECRET:-$$(cat $(SECRET_FILE))}" \
	cargo run --quiet --release --locked --bin switchboard -- token operator --roles admin \
		--id "$$(cat $(ADMIN_ID_FILE))"

## make invite EMAIL=you@example.com NAME="Your Name": the one-time link where an operator
## (an admin unless ROLES says otherwise) sets a password and signs in to the console at /
invite: $(SECRET_FILE)
	@eval "$$($(SERVICES) env)"; \
	SWITCHBOARD_JWT_SECRET="$${SWITCHBOARD_JWT_SECRET:-$$(cat $(SECRET_FILE))}" \
	cargo run --quiet --release --locked --bin switchboard -- invite \
		--email "$(EMAIL)" --name "$(NAME)" --roles "$${ROLES:-admin}"

$(ADMIN_ID_FILE):
	@mkdir -p .run
	@cat /proc/sys/kernel/random/uuid > $@

services:
	$(SERVICES) up >/dev/null

stop:
	$(SERVICES) down

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

$(SECRET_FILE):
	@mkdir -p .run
	@head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > $(SECRET_FILE)
