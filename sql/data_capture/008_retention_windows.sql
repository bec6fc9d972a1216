-- How long each hypertable keeps its rows: the one place these windows are written.
-- Read by the retention policies (community edition, 009) and by `tick-ingest retention`
-- (drop_chunks, any edition).
create or replace function data_capture.retention_windows()
returns table (hypertable regclass, drop_after interval)
language sql stable as $$
  values
    ('data_capture.market_ticks'::regclass, interval '30 days'),
    ('data_capture.order_book_snapshots'::regclass, interval '7 days'),
    ('data_capture.profitdll_callbacks'::regclass, interval '3 days'),
    ('data_capture.ohlcv_bars'::regclass, interval '2 years')
$$;
