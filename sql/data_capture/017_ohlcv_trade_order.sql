-- Bars in the exchange's order: a bar's open and close are its first and last tick by
--   (tick_time, trade_id nulls last, id)
-- so within one microsecond the exchange's trade numbers decide which trade came first, not the
-- row id (the order the ticks reached the worker, which a replay or a backfill can reverse).
-- The open and close ticks' trade numbers join their (tick_time, id) as merge keys. Nullable
-- without a default: cheap to add, also on compressed hypertables.
alter table data_capture.ohlcv_bars
  add column if not exists open_trade_id bigint,
  add column if not exists close_trade_id bigint;

comment on column data_capture.ohlcv_bars.open_trade_id is 'trade_id of the open tick (null when it has none): ties on tick_time go to the lowest trade_id, then ticks without one by lowest id';
comment on column data_capture.ohlcv_bars.close_trade_id is 'trade_id of the close tick (null when it has none): ties on tick_time go to ticks without one by highest id, then the highest trade_id';

-- Existing bars: the new order only reorders ticks that share a tick_time, so a bar's open_time and
-- close_time stay, and its new open (close) tick is the first (last) of the ticks at exactly its
-- open_time (close_time). Those all lie in the bar's bucket whatever the timeframe or zone, so every
-- timeframe gets them the same way, and a coarse bar the same tick as the 1m bar it opens (closes)
-- with: all timeframes stay consistent. One pass over the ticks, joined to the bars' open and
-- close instants (a lookup per bar would probe every 5-minute chunk's index per bar). Only bars that
-- differ are written (running it again writes nothing). An end whose ticks retention dropped (or
-- a bar without merge keys, older than 012) keeps its open or close.
with oldest as (select min(tick_time) as t from data_capture.market_ticks),
     ends as (
  select x.timeframe, x.symbol, x.bar_time, e.is_open, e.at
    from data_capture.ohlcv_bars x
   cross join lateral (values (true, x.open_time), (false, x.close_time)) as e(is_open, at)
   where x.bar_time >= (select t - interval '2 days' from oldest) and e.at >= (select t from oldest)
), picked as (
  -- tick_time is equal within an end, so the order is (trade_id nulls last, id): ASC puts nulls
  -- last, DESC first, the exact reverse.
  select e.timeframe, e.symbol, e.bar_time,
         bool_or(e.is_open) as has_open,
         (array_agg(m.price order by m.trade_id, m.id) filter (where e.is_open))[1] as open,
         (array_agg(m.id order by m.trade_id, m.id) filter (where e.is_open))[1] as open_tick_id,
         (array_agg(m.trade_id order by m.trade_id, m.id) filter (where e.is_open))[1] as open_trade_id,
         bool_or(not e.is_open) as has_close,
         (array_agg(m.price order by m.trade_id desc, m.id desc) filter (where not e.is_open))[1] as close,
         (array_agg(m.id order by m.trade_id desc, m.id desc) filter (where not e.is_open))[1] as close_tick_id,
         (array_agg(m.trade_id order by m.trade_id desc, m.id desc) filter (where not e.is_open))[1] as close_trade_id
    from ends e
    join data_capture.market_ticks m on m.symbol = e.symbol and m.tick_time = e.at
   group by 1, 2, 3
)
update data_capture.ohlcv_bars b
   set open = case when p.has_open then p.open else b.open end,
       open_tick_id = case when p.has_open then p.open_tick_id else b.open_tick_id end,
       open_trade_id = case when p.has_open then p.open_trade_id else b.open_trade_id end,
       close = case when p.has_close then p.close else b.close end,
       close_tick_id = case when p.has_close then p.close_tick_id else b.close_tick_id end,
       close_trade_id = case when p.has_close then p.close_trade_id else b.close_trade_id end
  from picked p
 where b.timeframe = p.timeframe and b.symbol = p.symbol and b.bar_time = p.bar_time
   and ((p.has_open and (b.open, b.open_tick_id, b.open_trade_id)
                        is distinct from (p.open, p.open_tick_id, p.open_trade_id))
     or (p.has_close and (b.close, b.close_tick_id, b.close_trade_id)
                         is distinct from (p.close, p.close_tick_id, p.close_trade_id)));
