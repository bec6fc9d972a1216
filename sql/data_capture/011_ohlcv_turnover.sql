-- Turnover (sum of price × volume) of each bar, kept exactly (unbounded numeric), so coarser bars
-- built from 1m bars get vwap = sum(turnover) / sum(volume) exactly instead of combining 1m vwaps
-- already rounded to 8 decimals. Nullable, no default: cheap to add, also on compressed hypertables.
alter table data_capture.ohlcv_bars add column if not exists turnover numeric;
comment on column data_capture.ohlcv_bars.turnover is 'sum(price * volume) of the bar''s ticks; vwap = turnover / volume';
