/**
 * A flush's partial 1-minute bars, computed from its committed ticks in the worker, so the
 * database never reads the ticks back to build bars (docs/bars.md, "How a flush writes the bars").
 *
 * Exact like the SQL recompute: open/close are the first/last tick by (tick_time, trade_id nulls
 * last, id) (the exchange's order within a microsecond where trade numbers exist), high/low
 * compare exact decimals, volume and turnover (Σ price·volume) are summed as integers scaled by
 * 10^8 and 10^16 (BigInt, never a float), and come out as decimal text with the scale PostgreSQL
 * gives sum(volume) and sum(price * volume) on numeric(18,8) columns (8 and 16 decimals), so a
 * vwap divided from them rounds exactly as a recomputation's does.
 *
 * Rows are per (symbol, exchange, UTC minute). For a zone whose UTC offset is a whole number of
 * minutes (every zone since 1972) a UTC minute lies inside one exchange-zone minute, so a 1m
 * bucket in the exchange zone is a union of these rows: normally exactly one (the bucket is the
 * UTC minute itself), two in the hour a clock change repeats, where time_bucket maps both UTC
 * minutes of a repeated local minute to the same bucket. The merge's SQL therefore buckets each
 * row with time_bucket and combines rows that share a bucket, as it combines them into coarser
 * bars; likewise it takes min(exchange) under the database's collation (a symbol normally has
 * one exchange, so the exchange in the key costs nothing).
 */
import type { TickColumns } from '../records.js';
import { MAX_SCALE, toScaled } from '../transform/decimal.js';

const US_PER_MINUTE = 60_000_000;

/** The partial bars as columns, row r of each array one (symbol, exchange, minute): what the merge unnests. */
export interface PartialBars {
  symbols: string[];
  exchanges: string[];
  /** Start of the UTC minute, µs since the epoch. */
  minutesUs: number[];
  opens: string[];
  highs: string[];
  lows: string[];
  closes: string[];
  /** Exact Σ volume, 8 decimals. */
  volumes: string[];
  /** Exact Σ price·volume, 16 decimals. */
  turnovers: string[];
  tradeCounts: number[];
  openTimesUs: number[];
  openTickIds: string[];
  /** The open / close tick's trade number, null when it has none. */
  openTradeIds: (string | null)[];
  closeTimesUs: number[];
  closeTickIds: string[];
  closeTradeIds: (string | null)[];
}

interface Acc {
  symbol: string;
  exchange: string;
  minute: number;
  /** Row indices of the open, close, high and low ticks. */
  open: number;
  close: number;
  high: number;
  low: number;
  highScaled: bigint;
  lowScaled: bigint;
  count: number;
  volume: bigint;
  turnover: bigint;
  /** Another exchange's bar of the same symbol and minute (a symbol normally has one exchange). */
  next: Acc | undefined;
}

/**
 * Bigint decimal text without leading zeros (market_ticks ids, trade numbers, which may be
 * negative) compared as numbers: the sign first, then the longer magnitude is larger, else digits.
 */
export function compareIds(a: string, b: string): number {
  const negA = a.charCodeAt(0) === 45;
  if (negA !== (b.charCodeAt(0) === 45)) return negA ? -1 : 1;
  const magnitude = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  return negA && magnitude !== 0 ? -magnitude : magnitude;
}

/**
 * Row i before row j in the order the bars' open and close are defined by: (tick_time, trade_id
 * nulls last, id). Within a microsecond the exchange's trade numbers decide (the trading order),
 * and the row id (arrival) only between ticks without one, or after the numbered ones.
 */
function before(ticks: TickColumns, ids: readonly string[], i: number, j: number): boolean {
  const ti = ticks.timesUs[i] as number;
  const tj = ticks.timesUs[j] as number;
  if (ti !== tj) return ti < tj;
  const ai = ticks.tradeIds[i] ?? null;
  const aj = ticks.tradeIds[j] ?? null;
  if (ai !== aj) {
    if (ai === null) return false;
    if (aj === null) return true;
    const c = compareIds(ai, aj);
    if (c !== 0) return c < 0;
  }
  return compareIds(ids[i] as string, ids[j] as string) < 0;
}

/**
 * The partial 1-minute bars of `ticks` (committed rows only), `ids[i]` being market_ticks.id of
 * row i. Rows come out in the order their (symbol, exchange, minute) first occurs.
 */
export function partialBars(ticks: TickColumns, ids: readonly string[]): PartialBars {
  const n = ticks.symbols.length;
  if (ids.length !== n) throw new Error(`partialBars: ${n} ticks but ${ids.length} ids`);
  const accs: Acc[] = [];
  const bySymbol = new Map<string, Map<number, Acc>>();
  let last: Acc | undefined;
  for (let i = 0; i < n; i++) {
    const symbol = ticks.symbols[i] as string;
    const exchange = ticks.exchanges[i] as string;
    const minute = Math.floor((ticks.timesUs[i] as number) / US_PER_MINUTE) * US_PER_MINUTE;
    const price = scaled8(ticks.prices[i] as string);
    const volume = scaled8(ticks.volumes[i] as string);
    // A feed runs symbol by symbol within a minute: the previous tick's bar is the usual one.
    let acc = last;
    if (!acc || acc.minute !== minute || acc.symbol !== symbol || acc.exchange !== exchange) {
      let minutes = bySymbol.get(symbol);
      if (!minutes) {
        minutes = new Map();
        bySymbol.set(symbol, minutes);
      }
      const first = minutes.get(minute);
      acc = first;
      while (acc && acc.exchange !== exchange) acc = acc.next;
      if (!acc) {
        acc = {
          symbol,
          exchange,
          minute,
          open: i,
          close: i,
          high: i,
          low: i,
          highScaled: price,
          lowScaled: price,
          count: 0,
          volume: 0n,
          turnover: 0n,
          next: first,
        };
        minutes.set(minute, acc);
        accs.push(acc);
      }
      last = acc;
    }
    acc.count += 1;
    acc.volume += volume;
    acc.turnover += price * volume;
    if (price > acc.highScaled) {
      acc.highScaled = price;
      acc.high = i;
    }
    if (price < acc.lowScaled) {
      acc.lowScaled = price;
      acc.low = i;
    }
    if (before(ticks, ids, i, acc.open)) acc.open = i;
    if (before(ticks, ids, acc.close, i)) acc.close = i;
  }
  const out: PartialBars = {
    symbols: [],
    exchanges: [],
    minutesUs: [],
    opens: [],
    highs: [],
    lows: [],
    closes: [],
    volumes: [],
    turnovers: [],
    tradeCounts: [],
    openTimesUs: [],
    openTickIds: [],
    openTradeIds: [],
    closeTimesUs: [],
    closeTickIds: [],
    closeTradeIds: [],
  };
  for (const a of accs) {
    out.symbols.push(a.symbol);
    out.exchanges.push(a.exchange);
    out.minutesUs.push(a.minute);
    out.opens.push(ticks.prices[a.open] as string);
    out.highs.push(ticks.prices[a.high] as string);
    out.lows.push(ticks.prices[a.low] as string);
    out.closes.push(ticks.prices[a.close] as string);
    out.volumes.push(fixedScale(a.volume, MAX_SCALE));
    out.turnovers.push(fixedScale(a.turnover, 2 * MAX_SCALE));
    out.tradeCounts.push(a.count);
    out.openTimesUs.push(ticks.timesUs[a.open] as number);
    out.openTickIds.push(ids[a.open] as string);
    out.openTradeIds.push(ticks.tradeIds[a.open] ?? null);
    out.closeTimesUs.push(ticks.timesUs[a.close] as number);
    out.closeTickIds.push(ids[a.close] as string);
    out.closeTradeIds.push(ticks.tradeIds[a.close] ?? null);
  }
  return out;
}

const POW10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);

/**
 * Canonical decimal text (at most 8 decimals) as an integer scaled by 10^8. The usual short
 * values are parsed with doubles, exact below 2^53 (no string copies); longer ones by toScaled.
 */
export function scaled8(text: string): bigint {
  if (text.length > 15) return toScaled(text);
  let mantissa = 0;
  let decimals = -1;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 46) decimals = 0;
    else {
      mantissa = mantissa * 10 + (c - 48);
      if (decimals >= 0) decimals++;
    }
  }
  // ≤ 15 digits: the mantissa is exact, and so is the product when it stays below 2^53.
  const value = mantissa * (POW10[MAX_SCALE - Math.max(decimals, 0)] as number);
  return Number.isSafeInteger(value) ? BigInt(value) : toScaled(text);
}

/** An integer scaled by 10^scale as decimal text with exactly `scale` decimals ("-1.50", "0.0700"). */
export function fixedScale(scaled: bigint, scale: number): string {
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(scale + 1, '0');
  const cut = digits.length - scale;
  return `${negative ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}
