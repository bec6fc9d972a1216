-- Deploys database "APPS-ORDER-MANAGER" with schema order_manager. Run as the user does:
--   psql -d postgres -v ON_ERROR_STOP=1 -f sql/order-manager.sql
-- Safe to run again: every object file is idempotent. The objects themselves live in
-- sql/order_manager/*.sql (plain SQL, no psql meta-commands).
\set ON_ERROR_STOP on

select 'create database "APPS-ORDER-MANAGER"'
 where not exists (select from pg_database where datname = 'APPS-ORDER-MANAGER')
\gexec

\connect "APPS-ORDER-MANAGER"
create extension if not exists timescaledb;

-- Each file in its own transaction, as `tick-ingest migrate` does.
begin;
\ir order_manager/001_schema.sql
commit;
begin;
\ir order_manager/002_strategies.sql
commit;
begin;
\ir order_manager/003_risk_limits.sql
commit;
begin;
\ir order_manager/004_orders.sql
commit;
begin;
\ir order_manager/005_order_audit_log.sql
commit;
begin;
\ir order_manager/006_trades.sql
commit;
begin;
\ir order_manager/007_positions.sql
commit;
begin;
\ir order_manager/008_position_history.sql
commit;
begin;
\ir order_manager/009_grants.sql
commit;
begin;
\ir order_manager/010_append_only.sql
commit;
