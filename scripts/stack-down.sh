#!/usr/bin/env bash
# Stop the local stack started by stack-up.sh, by the process ids it recorded.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=$ROOT/.stack${STACK_NAME:+-$STACK_NAME}
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf '[stack:down] %s\n' "$*" >&2; }

stop_pid() {
  local name=$1 pid=$2 seconds=${3:-30}
  kill -0 "$pid" 2>/dev/null || { log "$name (pid $pid) is not running"; return; }
  kill -TERM "$pid"
  for _ in $(seq $((seconds * 2))); do kill -0 "$pid" 2>/dev/null || { log "$name stopped"; return; }; sleep 0.5; done
  log "$name did not stop within ${seconds}s: killing it"
  kill -KILL "$pid" 2>/dev/null
}

if [ -f "$STACK_DIR/kafka.pid" ]; then
  stop_pid Kafka "$(cat "$STACK_DIR/kafka.pid")" 30
  rm -f "$STACK_DIR/kafka.pid"
fi
if [ -f "$STACK_DIR/pgdata" ]; then
  pgdata=$(cat "$STACK_DIR/pgdata")
  if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); else as=(); fi
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 && log "PostgreSQL stopped" ||
    { [ -f "$STACK_DIR/postgres.pid" ] && stop_pid PostgreSQL "$(cat "$STACK_DIR/postgres.pid")" 30; }
  rm -f "$STACK_DIR/postgres.pid"
fi
rm -f "$STACK_DIR/env"
