-- Features of the TimescaleDB community edition (timescaledb.license = 'timescale'):
-- compression with its policies, retention policies, and the mv_tick_stats_1m continuous
-- aggregate with its refresh policy. The Apache edition rejects all of them ("not supported
-- under the apache license"), so there this file says what it left out and creates the
-- replacements: a plain view with the same columns, and `tick-ingest retention`.
-- The aggregate's query is written once, in data_capture.tick_stats_1m_query().

create or replace function data_capture.tick_stats_1m_query() returns text
language sql immutable as $$
  select $q$
    select time_bucket(interval '1 minute', tick_time) as bucket_time,
           symbol,
           count(*) as tick_count,
           first(price, tick_time) as open_price,
           max(price) as high_price,
           min(price) as low_price,
           last(price, tick_time) as close_price,
           sum(volume) as total_volume,
           sum(case when aggressor = 'BUY' then volume else 0 end) as buy_volume,
           sum(case when aggressor = 'SELL' then volume else 0 end) as sell_volume
      from data_capture.market_ticks
     group by bucket_time, symbol
  $q$
$$;

do $$
declare
  w record;
begin
  if current_setting('timescaledb.license', true) is distinct from 'timescale' then
    execute 'create or replace view data_capture.mv_tick_stats_1m as ' || data_capture.tick_stats_1m_query();
    raise notice 'timescaledb.license is %: left out compression and compression policies '
      '(market_ticks after 1 hour, order_book_snapshots after 2 hours, ohlcv_bars after 7 days), '
      'retention policies (market_ticks 30 days, order_book_snapshots 7 days, profitdll_callbacks 3 days, '
      'ohlcv_bars 2 years) and the continuous aggregate mv_tick_stats_1m with its refresh policy. '
      'Replacements: data_capture.mv_tick_stats_1m is a plain view (same columns, computed on read); '
      'run `tick-ingest retention` (drop_chunks with the same windows) on a schedule.',
      coalesce(current_setting('timescaledb.license', true), 'unset');
    return;
  end if;

  -- Compression settings cannot change once chunks are compressed: set them only once.
  if not exists (select from timescaledb_information.hypertables
                  where hypertable_schema = 'data_capture' and hypertable_name = 'market_ticks'
                    and compression_enabled) then
    alter table data_capture.market_ticks set (
      timescaledb.compress, timescaledb.compress_segmentby = 'symbol',
      timescaledb.compress_orderby = 'tick_time desc');
  end if;
  if not exists (select from timescaledb_information.hypertables
                  where hypertable_schema = 'data_capture' and hypertable_name = 'order_book_snapshots'
                    and compression_enabled) then
    alter table data_capture.order_book_snapshots set (
      timescaledb.compress, timescaledb.compress_segmentby = 'symbol',
      timescaledb.compress_orderby = 'snapshot_time desc');
  end if;
  if not exists (select from timescaledb_information.hypertables
                  where hypertable_schema = 'data_capture' and hypertable_name = 'ohlcv_bars'
                    and compression_enabled) then
    alter table data_capture.ohlcv_bars set (
      timescaledb.compress, timescaledb.compress_segmentby = 'symbol, timeframe',
      timescaledb.compress_orderby = 'bar_time desc');
  end if;
  perform add_compression_policy('data_capture.market_ticks', interval '1 hour', if_not_exists => true);
  perform add_compression_policy('data_capture.order_book_snapshots', interval '2 hours', if_not_exists => true);
  perform add_compression_policy('data_capture.ohlcv_bars', interval '7 days', if_not_exists => true);

  for w in select * from data_capture.retention_windows() loop
    perform add_retention_policy(w.hypertable, w.drop_after, if_not_exists => true);
  end loop;

  if to_regclass('data_capture.mv_tick_stats_1m') is null then
    execute 'create materialized view data_capture.mv_tick_stats_1m with (timescaledb.continuous) as '
      || data_capture.tick_stats_1m_query() || ' with no data';
  end if;
  perform add_continuous_aggregate_policy('data_capture.mv_tick_stats_1m',
    start_offset => interval '1 hour', end_offset => interval '10 seconds',
    schedule_interval => interval '30 seconds', if_not_exists => true);
end
$$;
