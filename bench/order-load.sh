#!/usr/bin/env bash
# The design's own checks, as a benchmark (not a timed test): 10,000 orders inserted one by one,
# each firing the audit and order_ref triggers, then the PETR4 last-day query under
# EXPLAIN (ANALYZE, BUFFERS) three times (the seed expects under 50 ms with 10K rows).
# Runs on a throwaway database of the server in PGHOST/PGPORT/PGUSER (default: .stack/env),
# built from sql/order_manager/*.sql, and drops it afterwards.
#   bash bench/order-load.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${PGHOST:-}" && -f "$root/.stack/env" ]]; then set -a; . "$root/.stack/env"; set +a; fi

db="bench_orders_$(date +%s)_$$"
psql -X -q -d postgres -c "create database \"$db\""
trap 'psql -X -q -d postgres -c "drop database if exists \"$db\" with (force)"' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'create extension if not exists timescaledb'
for f in "$root"/sql/order_manager/*.sql; do
  psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$db" -f "$f" >/dev/null
done

echo "== load: 10,000 orders ($(psql -X -At -d "$db" -c "select extversion from pg_extension where extname = 'timescaledb'"), license $(psql -X -At -d "$db" -c "show timescaledb.license"))"
psql -X -v ON_ERROR_STOP=1 -d "$db" -c '\timing on' -f "$root/sql/validation/05_order_load_test.sql"
psql -X -d "$db" -c 'vacuum analyze order_manager.orders' \
  -c "select (select count(*) from order_manager.orders) as orders,
             (select count(*) from order_manager.order_audit_log) as audit_rows,
             (select count(*) from order_manager.order_ref_registry) as refs"

for i in 1 2 3; do
  echo "== query, run $i"
  psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$root/sql/validation/06_order_query_plan.sql"
done
