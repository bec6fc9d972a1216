/**
 * What the bar tests share: ticks made up the way a feed delivers them, the columns a flush
 * hands the bar step, and the reference the bars are held against (a recomputation from
 * market_ticks written differently from the builder's SQL).
 */
import type { TickColumns, TickIds } from '../../src/records.js';
import { TickColumnsBuilder } from '../../src/tick-columns.js';
import { tickIdAt } from '../../src/tick-id-blocks.js';
import { formatUtcMicros } from '../../src/transform/civil.js';
import { tickLine } from '../../src/transform/copy-format.js';
import { fromScaled } from '../../src/transform/decimal.js';
import type { TickRow } from '../../src/transform/types.js';
import { drawIdBlocks } from '../../src/writers/tick-ids.js';

export const SP = 'America/Sao_Paulo';

/** The COPY a flush runs: ticks with the ids it reserved from the sequence. */
export const COPY_TICKS_SQL =
  'copy data_capture.market_ticks (id, symbol, exchange, price, volume, aggressor, tick_time, source, trade_id) from stdin';
/** The ids of `n` ticks, drawn in blocks as the sink draws them. */
export const drawIds = (n: number) => drawIdBlocks('data_capture.market_ticks_id_seq', n);

/** COPY text of `rows` with their ids, as the sink writes them. */
export const copyText = (rows: readonly TickRow[], ids: TickIds) =>
  rows.map((r, i) => `${tickIdAt(ids, i)}\t${tickLine(r)}`).join('');

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Series {
  symbol: string;
  startUs: number;
  stepUs: number;
  /** Ticks sharing each tick_time. */
  tiesOf?: number;
  /** Crypto-like: prices with 8 decimals and volumes below 0.1 (sub-cent lots); else B3-like. */
  fractional?: boolean;
  /**
   * Trade numbers, running opposite to arrival within each group of ties (the exchange's order
   * reversed, as a replay or a backfill can deliver it): on every tick ('reversed'), or on three
   * fifths of them, the others without one ('mixed'); a free number either side of each group's
   * numbers (for trades a test adds later). Else none.
   */
  trades?: 'reversed' | 'mixed';
}

/** Ticks g in [from, to) of the series: one tick_time every `stepUs`, `tiesOf` ticks each. */
export function seriesTicks(s: Series, from: number, to: number, rand: () => number): TickRow[] {
  const rows: TickRow[] = [];
  const ties = s.tiesOf ?? 1;
  for (let g = from; g < to; g++) {
    const group = Math.floor(g / ties);
    const us = s.startUs + group * s.stepUs + 17;
    const row = tick(s.symbol, scaledPrice(s, rand), scaledVolume(s, rand), us);
    if (s.trades && (s.trades === 'reversed' || (g * 7) % 5 >= 2))
      row.tradeId = String(1_001 + group * (ties + 2) + (ties - 1 - (g % ties)));
    rows.push(row);
  }
  return rows;
}

const scaledPrice = (s: Series, rand: () => number) =>
  s.fractional
    ? 3_000_000_000_000n + BigInt(Math.floor(rand() * 4_000_000_000_000))
    : 2_000_000_000n + BigInt(Math.floor(rand() * 500)) * 1_000_000n;
const scaledVolume = (s: Series, rand: () => number) =>
  s.fractional
    ? BigInt(1 + Math.floor(rand() * 9_999_999))
    : BigInt(1 + Math.floor(rand() * 500)) * 100_000_000n;

/** One tick; price and volume as integers scaled by 10^8. */
export function tick(symbol: string, price: bigint, volume: bigint, us: number, exchange = 'B3'): TickRow {
  return {
    symbol,
    exchange,
    price: fromScaled(price),
    volume: fromScaled(volume),
    aggressor: 'BUY',
    tickTime: formatUtcMicros(us),
    tickTimeUs: us,
    source: 'ProfitDLL',
    tradeId: null,
  };
}

/** The columns the sink hands the bar step for these (committed) rows. */
export function columnsOf(rows: readonly TickRow[]): TickColumns {
  const b = new TickColumnsBuilder();
  for (const r of rows) b.add(r.symbol, r.exchange, r.price, r.volume, r.tickTimeUs, r.tradeId);
  return b.build();
}

/**
 * The reference: a timeframe's bars recomputed straight from market_ticks (array_agg ordered by
 * tick_time, trade_id, id, i.e. trade numbers nulls last, and the exact reverse for the close;
 * plain sums), every column of ohlcv_bars but the surrogate id and created_at.
 * Rows: each mismatch with ohlcv_bars ($1 width, $2 timeframe, $3 zone), including buckets with
 * ticks but no bar and bars without ticks. Zero tolerance: volume is the exact sum rounded once.
 */
export const MISMATCHES_SQL = `
with ref as (
  select symbol, time_bucket($1::interval, tick_time, $3::text) as bar_time, min(exchange) as exchange,
         (array_agg(price order by tick_time, trade_id, id))[1] as open, max(price) as high, min(price) as low,
         (array_agg(price order by tick_time desc, trade_id desc, id desc))[1] as close,
         round(sum(volume), 2) as volume, sum(volume) as volume_sum, count(*)::int as trade_count,
         round(sum(price * volume) / nullif(sum(volume), 0), 8) as vwap, sum(price * volume) as turnover,
         min(tick_time) as open_time, (array_agg(id order by tick_time, trade_id, id))[1] as open_tick_id,
         (array_agg(trade_id order by tick_time, trade_id, id))[1] as open_trade_id,
         max(tick_time) as close_time, (array_agg(id order by tick_time desc, trade_id desc, id desc))[1] as close_tick_id,
         (array_agg(trade_id order by tick_time desc, trade_id desc, id desc))[1] as close_trade_id
    from data_capture.market_ticks group by 1, 2
), bars as (select * from data_capture.ohlcv_bars where timeframe = $2)
select coalesce(r.symbol, b.symbol) as symbol, coalesce(r.bar_time, b.bar_time)::text as bar_time,
       row(r.exchange, r.open, r.high, r.low, r.close, r.volume, r.volume_sum, r.trade_count, r.vwap, r.turnover,
           r.open_time, r.open_tick_id, r.open_trade_id, r.close_time, r.close_tick_id, r.close_trade_id)::text as expected,
       row(b.exchange, b.open, b.high, b.low, b.close, b.volume, b.volume_sum, b.trade_count, b.vwap, b.turnover,
           b.open_time, b.open_tick_id, b.open_trade_id, b.close_time, b.close_tick_id, b.close_trade_id)::text as actual
  from ref r full join bars b on b.symbol = r.symbol and b.bar_time = r.bar_time
 where r.symbol is null or b.symbol is null
    or (r.exchange, r.open, r.high, r.low, r.close, r.volume, r.volume_sum, r.trade_count, r.vwap, r.turnover,
        r.open_time, r.open_tick_id, r.open_trade_id, r.close_time, r.close_tick_id, r.close_trade_id)
       is distinct from
       (b.exchange, b.open, b.high, b.low, b.close, b.volume, b.volume_sum, b.trade_count, b.vwap, b.turnover,
        b.open_time, b.open_tick_id, b.open_trade_id, b.close_time, b.close_tick_id, b.close_trade_id)
 order by 1, 2
 limit 5`;

/**
 * Bars as they were before migration 017: no trade numbers, and open and close picked among the
 * ticks of their open_time / close_time by arrival (row id), as the merge did then. Set-based
 * (one join of the ticks to the bars' ends), as a lookup per bar probes every chunk.
 */
export const ARRIVAL_ORDER_SQL = `
with ends as (
  select x.timeframe, x.symbol, x.bar_time, e.is_open, e.at
    from data_capture.ohlcv_bars x
   cross join lateral (values (true, x.open_time), (false, x.close_time)) as e(is_open, at)
), arrival as (
  select e.timeframe, e.symbol, e.bar_time,
         first(m.price, m.id) filter (where e.is_open) as open, min(m.id) filter (where e.is_open) as open_tick_id,
         last(m.price, m.id) filter (where not e.is_open) as close, max(m.id) filter (where not e.is_open) as close_tick_id
    from ends e join data_capture.market_ticks m on m.symbol = e.symbol and m.tick_time = e.at
   group by 1, 2, 3
)
update data_capture.ohlcv_bars b
   set open = a.open, open_tick_id = a.open_tick_id, open_trade_id = null,
       close = a.close, close_tick_id = a.close_tick_id, close_trade_id = null
  from arrival a
 where b.timeframe = a.timeframe and b.symbol = a.symbol and b.bar_time = a.bar_time`;
