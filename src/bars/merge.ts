import type pg from 'pg';
import type { TouchedSpan } from '../records.js';
import { SPANS_CTE, type UpsertCounts, usToIso, writeBars } from './recompute.js';
import { TIMEFRAMES, type Timeframe } from './timeframes.js';

const COARSE = TIMEFRAMES.filter((t) => t.name !== '1m');

/**
 * The bars of the ticks this transaction wrote, merged into ohlcv_bars in the same statement.
 *
 * Only this transaction's rows are read (xmin = our xid), found through the (symbol, tick_time)
 * index within the batch's spans, so a flush costs what its own ticks cost, however full the
 * bucket already is. Bars are a monoid under (open, close ordered by (tick_time, id); high, low;
 * volume, trade_count, turnover summed), so a batch's partial bar merges exactly into the stored
 * one: open is whichever open comes first by (open_time, open_tick_id), close the later close.
 * Coarse deltas are built from the 1m deltas, as the recompute builds coarse bars from 1m bars.
 */
const MERGE_SQL = `
with ${SPANS_CTE}, ticks as (
  select m.symbol, m.exchange, m.price, m.volume, m.tick_time
    from spans x
   cross join lateral (
         select * from data_capture.market_ticks m
          where m.symbol = x.symbol and m.tick_time >= x.from_t and m.tick_time <= x.to_t
            and m.tick_time >= $4::timestamptz and m.tick_time <= $5::timestamptz
            and m.xmin = pg_current_xact_id()::xid) m
), m1 as (
  select symbol, time_bucket('1 minute', tick_time, $6) as bar_time, min(exchange) as exchange,
         max(price) as high, min(price) as low, sum(volume) as volume, count(*) as trade_count,
         sum(price * volume) as turnover, min(tick_time) as open_time, max(tick_time) as close_time
    from ticks
   group by 1, 2
), d1 as (
  select m1.*, o.id as open_tick_id, o.price as open, c.id as close_tick_id, c.price as close
    from m1
   cross join lateral (
         select t.id, t.price from data_capture.market_ticks t
          where t.symbol = m1.symbol and t.tick_time = m1.open_time and t.xmin = pg_current_xact_id()::xid
          order by t.id limit 1) o
   cross join lateral (
         select t.id, t.price from data_capture.market_ticks t
          where t.symbol = m1.symbol and t.tick_time = m1.close_time and t.xmin = pg_current_xact_id()::xid
          order by t.id desc limit 1) c
), deltas as (
  select '1m' as timeframe, symbol, bar_time, exchange, open, high, low, close, volume, trade_count,
         turnover, open_time, open_tick_id, close_time, close_tick_id
    from d1
  union all
  select tf.name, d.symbol, time_bucket(tf.width, d.bar_time, $6), min(d.exchange),
         first(d.open, row(d.open_time, d.open_tick_id)), max(d.high), min(d.low),
         last(d.close, row(d.close_time, d.close_tick_id)), sum(d.volume), sum(d.trade_count),
         sum(d.turnover), min(d.open_time), first(d.open_tick_id, row(d.open_time, d.open_tick_id)),
         max(d.close_time), last(d.close_tick_id, row(d.close_time, d.close_tick_id))
    from d1 as d cross join unnest($7::text[], $8::interval[]) as tf(name, width)
   group by 1, 2, 3
), merged as (
  insert into data_capture.ohlcv_bars as b
         (bar_time, symbol, timeframe, exchange, open, high, low, close, volume, trade_count, vwap,
          turnover, open_time, open_tick_id, close_time, close_tick_id)
  select bar_time, symbol, timeframe, exchange, open, high, low, close, volume, trade_count,
         turnover / nullif(volume, 0), turnover, open_time, open_tick_id, close_time, close_tick_id
    from deltas
   order by bar_time, symbol, timeframe
      on conflict (bar_time, symbol, timeframe) do update
     set exchange = least(b.exchange, excluded.exchange),
         open = case when (excluded.open_time, excluded.open_tick_id) < (b.open_time, b.open_tick_id)
                     then excluded.open else b.open end,
         open_time = case when (excluded.open_time, excluded.open_tick_id) < (b.open_time, b.open_tick_id)
                          then excluded.open_time else b.open_time end,
         open_tick_id = case when (excluded.open_time, excluded.open_tick_id) < (b.open_time, b.open_tick_id)
                             then excluded.open_tick_id else b.open_tick_id end,
         close = case when (excluded.close_time, excluded.close_tick_id) > (b.close_time, b.close_tick_id)
                      then excluded.close else b.close end,
         close_time = case when (excluded.close_time, excluded.close_tick_id) > (b.close_time, b.close_tick_id)
                           then excluded.close_time else b.close_time end,
         close_tick_id = case when (excluded.close_time, excluded.close_tick_id) > (b.close_time, b.close_tick_id)
                              then excluded.close_tick_id else b.close_tick_id end,
         high = greatest(b.high, excluded.high),
         low = least(b.low, excluded.low),
         volume = b.volume + excluded.volume,
         trade_count = b.trade_count + excluded.trade_count,
         turnover = b.turnover + excluded.turnover,
         vwap = (b.turnover + excluded.turnover) / nullif(b.volume + excluded.volume, 0)
  returning b.timeframe
)
select timeframe, count(*)::int as n from merged group by 1`;

/**
 * Merge the bars of the ticks this transaction has written within `spans` (its own rows only),
 * under the same per-symbol locks as the recompute, so the two never overwrite each other.
 * Call it inside the flush's transaction after the COPY: the bars commit with the ticks and the
 * offsets, exactly once.
 */
export function mergeBars(
  client: pg.ClientBase,
  spans: readonly TouchedSpan[],
  timeZone: string,
): Promise<UpsertCounts> {
  return writeBars(client, spans, async ({ params, minFrom, maxTo }, counts) => {
    const { rows } = await client.query<{ timeframe: Timeframe; n: number }>(MERGE_SQL, [
      ...params,
      usToIso(minFrom - 1000),
      usToIso(maxTo + 1000),
      timeZone,
      COARSE.map((t) => t.name),
      COARSE.map((t) => t.interval),
    ]);
    for (const r of rows) counts[r.timeframe] = r.n;
  });
}
