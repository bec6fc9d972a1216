import { type Statement, statement } from '../db.js';
import type { PartialBars } from './partial.js';
import { TIMEFRAMES, type Timeframe } from './timeframes.js';
import { BAR_COLUMNS, lockBars, tickOrder, type UpsertCounts, zeroCounts } from './write-bars.js';

/** The open / close tick's place in the bars' order, of a partial row (p), the delta (excluded) or the bar (b). */
const openKey = (t: string) => tickOrder(`${t}.open_time`, `${t}.open_trade_id`, `${t}.open_tick_id`);
const closeKey = (t: string) => tickOrder(`${t}.close_time`, `${t}.close_trade_id`, `${t}.close_tick_id`);
/** The delta's open comes first / its close comes last: each comparison written once, used per column. */
const EARLIER_OPEN = `${openKey('excluded')} < ${openKey('b')}`;
const LATER_CLOSE = `${closeKey('excluded')} > ${closeKey('b')}`;
/** The merged exact volume (a bar older than migration 014 counts from its rounded volume). */
const VOLUME_SUM = 'coalesce(b.volume_sum, b.volume) + excluded.volume_sum';

/**
 * `col = the delta's col when cond, else the bar's` for each column. Spelled out per column, not as
 * one row-valued sub-select: that form cost about 10 % more of the merge's CPU (measured).
 */
const takeIf = (cond: string, columns: readonly string[]) =>
  columns.map((c) => `${c} = case when ${cond} then excluded.${c} else b.${c} end`).join(',\n         ');

/**
 * A flush's partial bars (src/bars/partial.ts, one row per symbol, exchange and UTC minute)
 * merged into ohlcv_bars, every timeframe, in one statement that reads no tick.
 *
 * Bars are a monoid: open is the open of whichever comes first by (open_time, open_trade_id nulls
 * last, open_tick_id), close the close of whichever comes last by the same key of its close
 * tick (the order of tickOrder, null-free so a comparison never yields null), high/low the
 * greatest/least, volume_sum, trade_count and turnover add up. So the rows are first combined
 * per bar of each timeframe, bucketed with time_bucket in the exchange zone (the database stays
 * the authority on bucket bounds), then each such delta is combined with the stored bar by
 * ON CONFLICT DO UPDATE. volume is the exact volume_sum rounded once to the column's 2 decimals
 * and vwap = turnover / volume_sum, so both equal a recomputation from the ticks.
 *
 * A stored bar without merge keys (older than migration 012, its ticks gone) keeps its open and
 * close, a comparison with null being never true; one without turnover (older than 011) keeps a
 * null turnover and vwap; one without volume_sum (older than 014) counts from its rounded volume.
 */
const MERGE_SQL = `
with partials as (
  select p.symbol, p.exchange, timestamptz 'epoch' + p.minute_us * interval '1 microsecond' as minute,
         p.open, p.high, p.low, p.close, p.volume_sum, p.trade_count, p.turnover,
         timestamptz 'epoch' + p.open_us * interval '1 microsecond' as open_time, p.open_tick_id, p.open_trade_id,
         timestamptz 'epoch' + p.close_us * interval '1 microsecond' as close_time, p.close_tick_id, p.close_trade_id
    from unnest($1::text[], $2::text[], $3::bigint[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[],
                $8::numeric[], $9::int[], $10::numeric[], $11::bigint[], $12::bigint[], $13::bigint[],
                $14::bigint[], $15::bigint[], $16::bigint[])
         as p(symbol, exchange, minute_us, open, high, low, close, volume_sum, trade_count, turnover,
              open_us, open_tick_id, open_trade_id, close_us, close_tick_id, close_trade_id)
), keyed as (
  select p.*, ${openKey('p')} as open_key, ${closeKey('p')} as close_key from partials p
), deltas as (
  select tf.name as timeframe, p.symbol, time_bucket(tf.width, p.minute, $17) as bar_time,
         min(p.exchange) as exchange,
         first(p.open, p.open_key) as open, max(p.high) as high, min(p.low) as low,
         last(p.close, p.close_key) as close,
         sum(p.volume_sum) as volume_sum, sum(p.trade_count) as trade_count, sum(p.turnover) as turnover,
         min(p.open_time) as open_time, first(p.open_tick_id, p.open_key) as open_tick_id,
         first(p.open_trade_id, p.open_key) as open_trade_id,
         max(p.close_time) as close_time, last(p.close_tick_id, p.close_key) as close_tick_id,
         last(p.close_trade_id, p.close_key) as close_trade_id
    from keyed p cross join unnest($18::text[], $19::interval[]) as tf(name, width)
   group by 1, 2, 3
), merged as (
  insert into data_capture.ohlcv_bars as b (${BAR_COLUMNS})
  select bar_time, symbol, timeframe, exchange, open, high, low, close, round(volume_sum, 2), volume_sum,
         trade_count, turnover / nullif(volume_sum, 0), turnover, open_time, open_tick_id, open_trade_id,
         close_time, close_tick_id, close_trade_id
    from deltas
   order by bar_time, symbol, timeframe
      on conflict (bar_time, symbol, timeframe) do update
     set exchange = least(b.exchange, excluded.exchange),
         ${takeIf(EARLIER_OPEN, ['open', 'open_time', 'open_tick_id', 'open_trade_id'])},
         ${takeIf(LATER_CLOSE, ['close', 'close_time', 'close_tick_id', 'close_trade_id'])},
         high = greatest(b.high, excluded.high),
         low = least(b.low, excluded.low),
         volume_sum = ${VOLUME_SUM},
         volume = round(${VOLUME_SUM}, 2),
         vwap = (b.turnover + excluded.turnover) / nullif(${VOLUME_SUM}, 0),
         trade_count = b.trade_count + excluded.trade_count,
         turnover = b.turnover + excluded.turnover
  returning b.timeframe
)
select timeframe, count(*)::int as n from merged group by 1`;

/** A flush's bars as statements: the lock every bar writer takes first, then the merge; sent in this order. */
export interface BarMerge {
  lock: Statement<void>;
  merge: Statement<UpsertCounts>;
}

/**
 * Merge `partial` into the bars of every timeframe, under the per-symbol locks every bar writer
 * takes (so a concurrent `tick-ingest bars` never overwrites it). Run inside the flush's
 * transaction after the COPY: the bars commit with the ticks and the offsets, exactly once.
 */
export function mergeBars(partial: PartialBars, timeZone: string): BarMerge {
  return {
    lock: lockBars(partial.symbols),
    merge: statement(
      MERGE_SQL,
      [
        partial.symbols,
        partial.exchanges,
        partial.minutesUs,
        partial.opens,
        partial.highs,
        partial.lows,
        partial.closes,
        partial.volumes,
        partial.tradeCounts,
        partial.turnovers,
        partial.openTimesUs,
        partial.openTickIds,
        partial.openTradeIds,
        partial.closeTimesUs,
        partial.closeTickIds,
        partial.closeTradeIds,
        timeZone,
        TIMEFRAMES.map((t) => t.name),
        TIMEFRAMES.map((t) => t.interval),
      ],
      ({ rows }) => {
        const counts = zeroCounts();
        for (const r of rows as { timeframe: Timeframe; n: number }[]) counts[r.timeframe] = r.n;
        return counts;
      },
    ),
  };
}
