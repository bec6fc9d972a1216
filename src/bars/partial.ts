/**
 * A flush's partial 1-minute bars, computed from its committed ticks in the worker, so the
 * database never reads the ticks back to build bars (docs/bars.md, "How a flush writes the bars").
 *
 * Exact like the SQL recompute: open/close are the first/last tick by (tick_time, trade_id nulls
 * last, id) (the exchange's order within a microsecond where trade numbers exist), high/low
 * compare exact decimals, volume and turnover (Σ price·volume) are summed as integers scaled by
 * 10^8 and 10^16 (never a float: limbs of exact Numbers, BigInt past 2^53), and come out as
 * decimal text with the scale PostgreSQL gives sum(volume) and sum(price * volume) on
 * numeric(18,8) columns (8 and 16 decimals), so a vwap divided from them rounds exactly as a
 * recomputation's does.
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
import type { TickColumns, TickIds } from '../records.js';
import { textAt, tickCount, tradeIdAt, tradeNumberAt } from '../tick-columns.js';
import { compareTickIds, tickIdAt, tickIdCount } from '../tick-id-blocks.js';
import { MAX_SCALE } from '../transform/decimal.js';

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
  /** Row indices of the open, close, high and low ticks, and the open and close tick_times. */
  open: number;
  close: number;
  high: number;
  low: number;
  openUs: number;
  closeUs: number;
  /** High and low as (whole, fraction·10^8), compared as pairs. */
  highWhole: number;
  highFrac: number;
  lowWhole: number;
  lowFrac: number;
  count: number;
  /**
   * Σ volume = volWhole·10^8 + volFrac (units of 10^-8) + volSpilled, and Σ price·volume =
   * turn2·10^16 + turn1·10^8 + turn0 (units of 10^-16) + turnSpilled: limbs of plain Numbers
   * summed without carries while they stay exact (below 2^53), moved into the BigInts when not.
   */
  volWhole: number;
  volFrac: number;
  turn2: number;
  turn1: number;
  turn0: number;
  volSpilled: bigint;
  turnSpilled: bigint;
  /** Another exchange's bar of the same symbol and minute (a symbol normally has one exchange). */
  next: Acc | undefined;
}

/**
 * A symbol's bars in this flush: its latest (the usual next one) and, once it has more than one,
 * the first of each minute (most symbols of a flush have one bar: no map for them).
 */
interface SymbolBars {
  last: Acc;
  byMinute: Map<number, Acc> | undefined;
}

/**
 * Row i before row j when both have the same tick_time, in the order the bars' open and close are
 * defined by: (tick_time, trade_id nulls last, id). Within a microsecond the exchange's trade
 * numbers decide (the trading order), and the row id (arrival) only between ticks without one,
 * or after the numbered ones.
 */
function tieBefore(ticks: TickColumns, ids: TickIds, i: number, j: number): boolean {
  const ai = tradeNumberAt(ticks, i);
  const aj = tradeNumberAt(ticks, j);
  if (ai !== aj) {
    if (ai === null) return false;
    if (aj === null) return true;
    // A Number and a BigInt compare exactly.
    if (ai < aj) return true;
    if (ai > aj) return false;
  }
  return compareTickIds(ids, i, j) < 0;
}

/**
 * The partial 1-minute bars of `ticks` (committed rows only), `ids` their market_ticks ids, row
 * by row. Rows come out in the order their (symbol, exchange, minute) first occurs.
 */
export function partialBars(ticks: TickColumns, ids: TickIds): PartialBars {
  const n = tickCount(ticks);
  if (tickIdCount(ids) !== n) throw new Error(`partialBars: ${n} ticks but ${tickIdCount(ids)} ids`);
  const { symbols, exchanges, prices, volumes, timesUs } = ticks;
  const accs: Acc[] = [];
  const bySymbol = new Map<string, SymbolBars>();
  let last: Acc | undefined;
  for (let i = 0; i < n; i++) {
    const symbol = textAt(symbols, i);
    const exchange = textAt(exchanges, i);
    const us = timesUs[i] as number;
    const minute = Math.floor(us / US_PER_MINUTE) * US_PER_MINUTE;
    // A feed runs symbol by symbol within a minute: the previous tick's bar is the usual one,
    // else the symbol's latest, so the minute map is only read when a symbol changes minute.
    let acc = last;
    if (!acc || acc.minute !== minute || acc.symbol !== symbol || acc.exchange !== exchange) {
      const bars = bySymbol.get(symbol);
      if (!bars) {
        acc = newAcc(symbol, exchange, minute, i, us, undefined);
        bySymbol.set(symbol, { last: acc, byMinute: undefined });
        accs.push(acc);
      } else if (bars.last.minute === minute && bars.last.exchange === exchange) acc = bars.last;
      else {
        const byMinute = bars.byMinute ?? new Map([[bars.last.minute, bars.last]]);
        bars.byMinute = byMinute;
        const first = byMinute.get(minute);
        acc = first;
        while (acc && acc.exchange !== exchange) acc = acc.next;
        if (!acc) {
          acc = newAcc(symbol, exchange, minute, i, us, first);
          byMinute.set(minute, acc);
          accs.push(acc);
        }
        bars.last = acc;
      }
      last = acc;
    }
    addRow(acc, textAt(prices, i), textAt(volumes, i), i);
    if (us < acc.openUs || (us === acc.openUs && tieBefore(ticks, ids, i, acc.open))) {
      acc.open = i;
      acc.openUs = us;
    }
    if (us > acc.closeUs || (us === acc.closeUs && tieBefore(ticks, ids, acc.close, i))) {
      acc.close = i;
      acc.closeUs = us;
    }
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
    out.opens.push(textAt(ticks.prices, a.open));
    out.highs.push(textAt(ticks.prices, a.high));
    out.lows.push(textAt(ticks.prices, a.low));
    out.closes.push(textAt(ticks.prices, a.close));
    out.volumes.push(volumeText(a));
    out.turnovers.push(turnoverText(a));
    out.tradeCounts.push(a.count);
    out.openTimesUs.push(a.openUs);
    out.openTickIds.push(String(tickIdAt(ids, a.open)));
    out.openTradeIds.push(tradeIdAt(ticks, a.open));
    out.closeTimesUs.push(a.closeUs);
    out.closeTickIds.push(String(tickIdAt(ids, a.close)));
    out.closeTradeIds.push(tradeIdAt(ticks, a.close));
  }
  return out;
}

function newAcc(
  symbol: string,
  exchange: string,
  minute: number,
  i: number,
  us: number,
  next: Acc | undefined,
): Acc {
  return {
    symbol,
    exchange,
    minute,
    open: i,
    close: i,
    high: i,
    low: i,
    openUs: us,
    closeUs: us,
    // Below and above any price: the first row sets both.
    highWhole: -1,
    highFrac: 0,
    lowWhole: Number.POSITIVE_INFINITY,
    lowFrac: 0,
    count: 0,
    volWhole: 0,
    volFrac: 0,
    turn2: 0,
    turn1: 0,
    turn0: 0,
    volSpilled: 0n,
    turnSpilled: 0n,
    next,
  };
}

const E8 = 10n ** 8n;
const E16 = 10n ** 16n;
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** Adds row i (its price and volume text) to the bar: count, high, low, Σ volume, Σ price·volume. */
function addRow(acc: Acc, price: string, volume: string, i: number): void {
  split8(price);
  const pw = whole;
  const pf = frac;
  split8(volume);
  const vw = whole;
  const vf = frac;
  acc.count += 1;
  if (pw > acc.highWhole || (pw === acc.highWhole && pf > acc.highFrac)) {
    acc.highWhole = pw;
    acc.highFrac = pf;
    acc.high = i;
  }
  if (pw < acc.lowWhole || (pw === acc.lowWhole && pf < acc.lowFrac)) {
    acc.lowWhole = pw;
    acc.lowFrac = pf;
    acc.low = i;
  }
  // (pw·10^8 + pf)·(vw·10^8 + vf) by limbs. Every term is a non-negative integer, so a result at
  // most MAX_EXACT is exact, and an inexact step (≥ 2^53) leaves its sum above MAX_EXACT too.
  const volWhole = acc.volWhole + vw;
  const volFrac = acc.volFrac + vf;
  const turn2 = acc.turn2 + pw * vw;
  const turn1 = acc.turn1 + (pw * vf + pf * vw);
  const turn0 = acc.turn0 + pf * vf;
  if (
    volWhole <= MAX_EXACT &&
    volFrac <= MAX_EXACT &&
    turn2 <= MAX_EXACT &&
    turn1 <= MAX_EXACT &&
    turn0 <= MAX_EXACT
  ) {
    acc.volWhole = volWhole;
    acc.volFrac = volFrac;
    acc.turn2 = turn2;
    acc.turn1 = turn1;
    acc.turn0 = turn0;
  } else spill(acc, pw, pf, vw, vf);
}

/** The limbs are full, or this row's product does not fit them: sums so far to BigInt, then the row. */
function spill(acc: Acc, pw: number, pf: number, vw: number, vf: number): void {
  acc.volSpilled += BigInt(acc.volWhole) * E8 + BigInt(acc.volFrac);
  acc.turnSpilled += BigInt(acc.turn2) * E16 + BigInt(acc.turn1) * E8 + BigInt(acc.turn0);
  acc.volWhole = vw;
  acc.volFrac = vf;
  const turn2 = pw * vw;
  const turn1 = pw * vf + pf * vw;
  const turn0 = pf * vf;
  if (turn2 <= MAX_EXACT && turn1 <= MAX_EXACT && turn0 <= MAX_EXACT) {
    acc.turn2 = turn2;
    acc.turn1 = turn1;
    acc.turn0 = turn0;
  } else {
    acc.turn2 = 0;
    acc.turn1 = 0;
    acc.turn0 = 0;
    acc.turnSpilled += (BigInt(pw) * E8 + BigInt(pf)) * (BigInt(vw) * E8 + BigInt(vf));
  }
}

const LIMB = 1e8;
const pad8 = (n: number) => String(n).padStart(MAX_SCALE, '0');

/** Σ volume with 8 decimals; carried in Numbers while exact (remainders are; so are exact quotients). */
function volumeText(a: Acc): string {
  const frac = a.volFrac % LIMB;
  const whole = a.volWhole + (a.volFrac - frac) / LIMB;
  if (a.volSpilled === 0n && whole <= MAX_EXACT) return `${whole}.${pad8(frac)}`;
  return fixedScale(a.volSpilled + BigInt(a.volWhole) * E8 + BigInt(a.volFrac), MAX_SCALE);
}

/** Σ price·volume with 16 decimals, likewise. */
function turnoverText(a: Acc): string {
  const t0 = a.turn0 % LIMB;
  const t1Carried = a.turn1 + (a.turn0 - t0) / LIMB;
  const t1 = t1Carried % LIMB;
  const t2 = a.turn2 + (t1Carried - t1) / LIMB;
  if (a.turnSpilled === 0n && t1Carried <= MAX_EXACT && t2 <= MAX_EXACT)
    return `${t2}.${pad8(t1)}${pad8(t0)}`;
  return fixedScale(
    a.turnSpilled + BigInt(a.turn2) * E16 + BigInt(a.turn1) * E8 + BigInt(a.turn0),
    2 * MAX_SCALE,
  );
}

const POW10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);
/** split8's result, in module variables so that no object is made per value. */
let whole = 0;
let frac = 0;

/**
 * Canonical decimal text ≥ 0 of at most 15 integer digits and 8 decimals (numeric(18,8) has 10)
 * into `whole` and `frac` (its decimals as an integer scaled by 10^8), both exact Numbers; parsed
 * in place, no string made. Anything else throws: no committed tick has such a price or volume.
 */
function split8(text: string): void {
  const n = text.length;
  let w = 0;
  let k = 0;
  for (; k < n; k++) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) break;
    w = w * 10 + d;
  }
  let ok = k > 0 && k <= 15;
  let f = 0;
  if (k < n) {
    const decimals = n - k - 1;
    ok &&= text.charCodeAt(k) === 46 && decimals >= 1 && decimals <= MAX_SCALE;
    for (let j = k + 1; ok && j < n; j++) {
      const d = text.charCodeAt(j) - 48;
      if (d < 0 || d > 9) ok = false;
      f = f * 10 + d;
    }
    f *= POW10[MAX_SCALE - decimals] as number;
  }
  if (!ok) throw new RangeError(`partialBars: ${JSON.stringify(text)} is not a decimal of numeric(18,8)`);
  whole = w;
  frac = f;
}

/** An integer scaled by 10^scale as decimal text with exactly `scale` decimals ("-1.50", "0.0700"). */
export function fixedScale(scaled: bigint, scale: number): string {
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(scale + 1, '0');
  const cut = digits.length - scale;
  return `${negative ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}
