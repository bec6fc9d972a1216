-- Deploys database "APPS-DATA-CAPTURE" with schema data_capture. Run as the user does:
--   psql -d postgres -v ON_ERROR_STOP=1 -f sql/data-capture.sql
-- Safe to run again: every object file is idempotent. The objects themselves live in
-- sql/data_capture/*.sql (plain SQL), which `tick-ingest migrate` applies too.
\set ON_ERROR_STOP on

select 'create database "APPS-DATA-CAPTURE"'
 where not exists (select from pg_database where datname = 'APPS-DATA-CAPTURE')
\gexec

\connect "APPS-DATA-CAPTURE"
create extension if not exists timescaledb;

-- Each file in its own transaction, as `tick-ingest migrate` does.
begin;
\ir data_capture/001_schema.sql
commit;
begin;
\ir data_capture/002_instruments.sql
commit;
begin;
\ir data_capture/003_market_ticks.sql
commit;
begin;
\ir data_capture/004_order_book_snapshots.sql
commit;
begin;
\ir data_capture/005_profitdll_callbacks.sql
commit;
begin;
\ir data_capture/006_ohlcv_bars.sql
commit;
begin;
\ir data_capture/007_ingest_offsets.sql
commit;
begin;
\ir data_capture/008_retention_windows.sql
commit;
begin;
\ir data_capture/009_edition_features.sql
commit;
begin;
\ir data_capture/010_grants.sql
commit;
begin;
\ir data_capture/011_ohlcv_turnover.sql
commit;
begin;
\ir data_capture/012_ohlcv_merge_keys.sql
commit;
begin;
\ir data_capture/013_market_ticks_trade_id.sql
commit;
begin;
\ir data_capture/014_ohlcv_volume_sum.sql
commit;
begin;
\ir data_capture/015_writer_role.sql
commit;
begin;
\ir data_capture/016_trade_numbers.sql
commit;
begin;
\ir data_capture/017_ohlcv_trade_order.sql
commit;
begin;
\ir data_capture/018_tick_id_blocks.sql
commit;
