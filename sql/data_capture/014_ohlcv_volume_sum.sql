-- The exact volume of each bar (sum of its ticks' numeric(18,8) volumes, unrounded): volume stays
-- numeric(18,2) (the seed's type) and is this sum rounded once, and vwap = turnover / volume_sum.
-- Merges add volume_sum, never the rounded volume, so fractional volumes (crypto-like 0.00xxxxxx
-- lots) do not drift. Nullable without a default: cheap to add, also on compressed hypertables.
alter table data_capture.ohlcv_bars add column if not exists volume_sum numeric;
comment on column data_capture.ohlcv_bars.volume_sum is 'exact sum(volume) of the bar''s ticks; volume = round(volume_sum, 2), vwap = turnover / volume_sum';

-- Existing bars: from their ticks where all of them remain (as many ticks as the bar counts, and
-- the same rounded volume), bucketed in São Paulo time like 012 (the worker's default zone; with
-- another EXCHANGE_TIME_ZONE run `tick-ingest bars` afterwards); else from the rounded volume, the
-- best that is left once retention dropped ticks. One pass over the ticks: 1m sums, rolled up.
with m1 as (
  select symbol, time_bucket(interval '1 minute', tick_time, 'America/Sao_Paulo') as minute,
         sum(volume) as volume_sum, count(*) as n
    from data_capture.market_ticks
   where exists (select from data_capture.ohlcv_bars where volume_sum is null)
   group by 1, 2
), sums as (
  select tf.name as timeframe, m1.symbol, time_bucket(tf.width, m1.minute, 'America/Sao_Paulo') as bar_time,
         sum(m1.volume_sum) as volume_sum, sum(m1.n) as n
    from m1
   cross join (values ('1m', interval '1 minute'), ('5m', interval '5 minutes'), ('15m', interval '15 minutes'),
                      ('1h', interval '1 hour'), ('4h', interval '4 hours'), ('1d', interval '1 day')) as tf(name, width)
   group by 1, 2, 3
)
update data_capture.ohlcv_bars b
   set volume_sum = s.volume_sum
  from sums s
 where b.volume_sum is null and b.timeframe = s.timeframe and b.symbol = s.symbol and b.bar_time = s.bar_time
   and s.n = b.trade_count and round(s.volume_sum, 2) = b.volume;

update data_capture.ohlcv_bars set volume_sum = volume where volume_sum is null;
