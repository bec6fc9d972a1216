import type pg from 'pg';
import { TIMEFRAMES } from './timeframes.js';
import { BAR_COLUMNS, tickOrder, type UpsertCounts, usToIso, writeBars } from './write-bars.js';

/** A symbol's ticks from `fromUs` to `toUs` (inclusive, µs since the epoch): every bucket they touch is recomputed. */
export interface BarSpan {
  symbol: string;
  fromUs: number;
  toUs: number;
}

/** The spans ($1 symbols, $2 from_us, $3 to_us, epoch µs) as timestamptz ranges. */
const SPANS_CTE = `spans as (
  select s.symbol,
         timestamptz 'epoch' + s.from_us * interval '1 microsecond' as from_t,
         timestamptz 'epoch' + s.to_us * interval '1 microsecond' as to_t
    from unnest($1::text[], $2::bigint[], $3::bigint[]) as s(symbol, from_us, to_us)
)`;

/**
 * One timeframe's bars for the buckets the spans touch, recomputed and upserted in one statement.
 * Bucket bounds come from time_bucket in the exchange zone (the one rule, also used to group);
 * range_agg merges the touched buckets per symbol so no source row is read twice. The constant
 * outer bounds ($5, $6) let TimescaleDB exclude chunks at plan time; the lateral join keeps the
 * reads on the (symbol, time) indexes. `computed` yields volume_sum (the exact Σ volume); volume
 * is that rounded once to the column's 2 decimals, vwap the exact turnover over it. An unchanged
 * bar is not rewritten, so replays write nothing.
 */
function upsertSql(computed: string): string {
  return `
with ${SPANS_CTE}, touched as (
  select symbol,
         unnest(range_agg(tstzrange(
           time_bucket($4::interval, from_t, $7),
           ((time_bucket($4::interval, to_t, $7) at time zone $7) + $4::interval) at time zone $7))) as r
    from spans
   group by symbol
), computed as (${computed})
insert into data_capture.ohlcv_bars as b (${BAR_COLUMNS})
select bar_time, symbol, $8, exchange, open, high, low, close, round(volume_sum, 2), volume_sum,
       trade_count, turnover / nullif(volume_sum, 0), turnover, open_time, open_tick_id, open_trade_id,
       close_time, close_tick_id, close_trade_id
  from computed
 order by bar_time, symbol
    on conflict (bar_time, symbol, timeframe) do update
   set exchange = excluded.exchange, open = excluded.open, high = excluded.high, low = excluded.low,
       close = excluded.close, volume = excluded.volume, volume_sum = excluded.volume_sum,
       trade_count = excluded.trade_count, vwap = excluded.vwap, turnover = excluded.turnover,
       open_time = excluded.open_time, open_tick_id = excluded.open_tick_id, open_trade_id = excluded.open_trade_id,
       close_time = excluded.close_time, close_tick_id = excluded.close_tick_id, close_trade_id = excluded.close_trade_id
 where (b.exchange, b.open, b.high, b.low, b.close, b.volume, b.volume_sum, b.trade_count, b.vwap, b.turnover,
        b.open_time, b.open_tick_id, b.open_trade_id, b.close_time, b.close_tick_id, b.close_trade_id)
       is distinct from
       (excluded.exchange, excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume,
        excluded.volume_sum, excluded.trade_count, excluded.vwap, excluded.turnover,
        excluded.open_time, excluded.open_tick_id, excluded.open_trade_id,
        excluded.close_time, excluded.close_tick_id, excluded.close_trade_id)`;
}

/**
 * 1m bars from the ticks, open and close by (tick_time, trade_id nulls last, id): within a
 * microsecond the exchange's trade numbers decide, the row id only where they are missing (k,
 * the null-free key of tickOrder).
 */
const FROM_TICKS = upsertSql(`
  select t.symbol,
         time_bucket($4::interval, t.tick_time, $7) as bar_time,
         min(t.exchange) as exchange,
         first(t.price, t.k) as open,
         max(t.price) as high,
         min(t.price) as low,
         last(t.price, t.k) as close,
         sum(t.volume) as volume_sum,
         count(*) as trade_count,
         sum(t.price * t.volume) as turnover,
         min(t.tick_time) as open_time,
         first(t.id, t.k) as open_tick_id,
         first(t.trade_id, t.k) as open_trade_id,
         max(t.tick_time) as close_time,
         last(t.id, t.k) as close_tick_id,
         last(t.trade_id, t.k) as close_trade_id
    from touched x
   cross join lateral (
         select m.*, ${tickOrder('m.tick_time', 'm.trade_id', 'm.id')} as k from data_capture.market_ticks m
          where m.symbol = x.symbol and m.tick_time >= lower(x.r) and m.tick_time < upper(x.r)
            and m.tick_time >= $5::timestamptz and m.tick_time < $6::timestamptz) t
   group by 1, 2`);

/**
 * Coarser bars from the 1m bars just written (same transaction, later statement, so they are
 * visible): 1m buckets nest in every coarser bucket of the same zone, so open = open of the
 * earliest 1m bar, close = close of the latest (with their ticks' ids and trade numbers), high/low/trade_count and the exact volume_sum and
 * turnover combine exactly, so volume and vwap equal the tick-level values (docs/bars.md). A 1m bar
 * older than migration 014 whose ticks are gone has no volume_sum: its rounded volume stands in.
 */
const FROM_1M_BARS = upsertSql(`
  select m.symbol,
         time_bucket($4::interval, m.bar_time, $7) as bar_time,
         min(m.exchange) as exchange,
         first(m.open, m.bar_time) as open,
         max(m.high) as high,
         min(m.low) as low,
         last(m.close, m.bar_time) as close,
         sum(coalesce(m.volume_sum, m.volume)) as volume_sum,
         sum(m.trade_count) as trade_count,
         sum(m.turnover) as turnover,
         min(m.open_time) as open_time,
         first(m.open_tick_id, m.bar_time) as open_tick_id,
         first(m.open_trade_id, m.bar_time) as open_trade_id,
         max(m.close_time) as close_time,
         last(m.close_tick_id, m.bar_time) as close_tick_id,
         last(m.close_trade_id, m.bar_time) as close_trade_id
    from touched x
   cross join lateral (
         select * from data_capture.ohlcv_bars o
          where o.symbol = x.symbol and o.timeframe = '1m'
            and o.bar_time >= lower(x.r) and o.bar_time < upper(x.r)
            and o.bar_time >= $5::timestamptz and o.bar_time < $6::timestamptz) m
   group by 1, 2`);

/** Slack of the outer bounds for buckets that a DST change can stretch (a local day lasts 23-25 hours). */
const slackUs = (widthUs: number) => (widthUs >= 14_400_000_000 ? 3_600_000_000 : 0);

/**
 * Recompute every timeframe's bars touched by `spans` from market_ticks, in one transaction on
 * `client` (what `tick-ingest bars` runs).
 *
 * Concurrency: the transaction first takes a transaction-scoped advisory lock per symbol (in key
 * order, so two writers cannot deadlock), and only then runs the upserts. Under READ COMMITTED each
 * upsert reads a snapshot taken after the lock was granted, i.e. after every earlier writer of
 * the same symbol's bars committed: whoever writes a symbol's bars last has seen every committed tick.
 */
export async function recomputeBars(
  client: pg.ClientBase,
  spans: readonly BarSpan[],
  timeZone: string,
): Promise<UpsertCounts> {
  await client.query('begin isolation level read committed');
  try {
    const counts = await writeBars(
      client,
      spans.map((s) => s.symbol),
      async (counts) => {
        const params = [spans.map((s) => s.symbol), spans.map((s) => s.fromUs), spans.map((s) => s.toUs)];
        const minFrom = spans.reduce((m, s) => Math.min(m, s.fromUs), Number.POSITIVE_INFINITY);
        const maxTo = spans.reduce((m, s) => Math.max(m, s.toUs), Number.NEGATIVE_INFINITY);
        for (const tf of TIMEFRAMES) {
          const r = await client.query(tf.name === '1m' ? FROM_TICKS : FROM_1M_BARS, [
            ...params,
            tf.interval,
            usToIso(minFrom - tf.widthUs - slackUs(tf.widthUs)),
            usToIso(maxTo + tf.widthUs + slackUs(tf.widthUs) + 1000),
            timeZone,
            tf.name,
          ]);
          counts[tf.name] = r.rowCount ?? 0;
        }
      },
    );
    await client.query('commit');
    return counts;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}
