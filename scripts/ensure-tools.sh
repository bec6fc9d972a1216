#!/usr/bin/env bash
# Install the command-line tools the tests use besides the stack (scripts/stack-up.sh installs
# PostgreSQL, TimescaleDB, Kafka and kcat): Debian's `prometheus` (the server, and promtool for the
# deployment checks) and `docker-compose` (validates docker-compose.yml without a container engine).
# Idempotent and quiet when everything is there; installing needs root (apt-get).
set -euo pipefail

log() { printf '[ensure-tools] %s\n' "$*" >&2; }

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
# `docker compose` (the plugin) does the same job where it exists.
if ! command -v docker-compose >/dev/null && ! docker compose version >/dev/null 2>&1; then
  missing+=(docker-compose)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
[ "$(id -u)" = 0 ] || { log "missing ${missing[*]}: install them with apt-get (needs root)"; exit 1; }

log "installing ${missing[*]} (apt-get, once per machine)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The package's service must not start on its own: the tests start their own servers.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
status=0
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends \
  "${missing[@]}"; } >"$out" 2>&1 || status=$?
[ "$own_policy" = 1 ] && rm -f "$policy"
if [ "$status" != 0 ]; then
  log "FAILED: apt-get install ${missing[*]} (exit $status); last output lines:"
  tail -n 25 "$out" >&2
  exit 1
fi
for tool in prometheus promtool; do
  command -v "$tool" >/dev/null || { log "$tool is still missing after installing"; exit 1; }
done
