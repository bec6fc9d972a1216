-- The exchange's trade number (B3 numbers each instrument's trades within a session), from
-- ProfitDLL's tradeId; null for sources that have none. Nullable without a default: cheap to
-- add, also on a hypertable with compressed chunks.
alter table data_capture.market_ticks add column if not exists trade_id bigint;
comment on column data_capture.market_ticks.trade_id is 'exchange trade number (per symbol and trading day), null when the source has none';
