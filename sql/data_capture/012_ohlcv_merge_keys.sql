-- Where each bar's open and close ticks sit, as (tick_time, market_ticks.id): the order the bars
-- are defined by. With them a batch's ticks merge into a bar exactly, without re-reading the
-- bar's older ticks (open = the earlier of the two opens by this key, close = the later close).
-- Existing bars get them from their ticks; a bar whose ticks retention already dropped keeps
-- nulls, and a merge then keeps its open and close.
alter table data_capture.ohlcv_bars
  add column if not exists open_time timestamptz,
  add column if not exists open_tick_id bigint,
  add column if not exists close_time timestamptz,
  add column if not exists close_tick_id bigint;

comment on column data_capture.ohlcv_bars.open_time is 'tick_time of the open tick; ties on tick_time go to the lowest market_ticks.id (open_tick_id)';
comment on column data_capture.ohlcv_bars.close_time is 'tick_time of the close tick; ties on tick_time go to the highest market_ticks.id (close_tick_id)';

-- Buckets are São Paulo's (the exchange zone the worker defaults to; a 4h or 1d bucket lasts
-- 3 to 25 hours across a clock change, hence the slack around the predicate).
update data_capture.ohlcv_bars b
   set open_time = t.open_time, open_tick_id = t.open_tick_id,
       close_time = t.close_time, close_tick_id = t.close_tick_id
  from (
    select x.symbol, x.timeframe, x.bar_time, o.tick_time as open_time, o.id as open_tick_id,
           c.tick_time as close_time, c.id as close_tick_id
      from (select y.*, case y.timeframe when '1m' then interval '1 minute' when '5m' then interval '5 minutes'
                          when '15m' then interval '15 minutes' when '1h' then interval '1 hour'
                          when '4h' then interval '4 hours' else interval '1 day' end as width
              from data_capture.ohlcv_bars y where y.open_time is null) x
     cross join lateral (
           select m.tick_time, m.id from data_capture.market_ticks m
            where m.symbol = x.symbol
              and m.tick_time >= x.bar_time and m.tick_time < x.bar_time + x.width + interval '1 hour'
              and time_bucket(x.width, m.tick_time, 'America/Sao_Paulo') = x.bar_time
            order by m.tick_time, m.id limit 1) o
     cross join lateral (
           select m.tick_time, m.id from data_capture.market_ticks m
            where m.symbol = x.symbol
              and m.tick_time >= x.bar_time and m.tick_time < x.bar_time + x.width + interval '1 hour'
              and time_bucket(x.width, m.tick_time, 'America/Sao_Paulo') = x.bar_time
            order by m.tick_time desc, m.id desc limit 1) c
  ) t
 where b.symbol = t.symbol and b.timeframe = t.timeframe and b.bar_time = t.bar_time;
