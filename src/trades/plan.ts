/**
 * The trade-number maths of a flush, pure: which ticks are trades already stored, and how the holes
 * of each symbol's trading day change. The stored trade numbers of a symbol and day are exactly
 * `first..last` minus its open holes, so that is all the state there is (step.ts reads and writes
 * it in the flush transaction).
 */
import type { TickColumns } from '../records.js';
import { tradingDay } from './trading-day.js';

/** A batch's numbered ticks of one symbol and trading day. */
export interface TradeGroup {
  symbol: string;
  day: string;
  /** Row indexes into the batch's TickColumns, in batch order. */
  rows: number[];
  /** Their trade numbers, parallel to `rows`. */
  numbers: bigint[];
  min: bigint;
  max: bigint;
}

export interface Hole {
  id: string;
  first: bigint;
  last: bigint;
  detectedAt: string;
}

/** What is stored for a symbol and day: first..last minus the holes (only those meeting the batch's range). */
export interface StoredTrades {
  first: bigint;
  last: bigint;
  /** Open holes, sorted by `first`, non-overlapping. */
  holes: Hole[];
}

export interface NewHole {
  symbol: string;
  day: string;
  first: bigint;
  last: bigint;
  /** Null: detected now. A remainder keeps the detection time of the hole it remains of. */
  detectedAt: string | null;
  splitFrom: string | null;
}

export interface TradePlan {
  /** Per tick row of the batch: store it (false: a trade already stored, or earlier in the batch). */
  keep: boolean[];
  duplicates: number;
  /** New first..last of the symbol-days this batch changes. */
  sequences: { symbol: string; day: string; first: bigint; last: bigint }[];
  /** Ids of open holes that numbers of this batch fall in: they get filled_at. */
  closed: string[];
  /** Holes to insert: jumps in the numbers, and what remains of partly filled holes. */
  opened: NewHole[];
  /** Holes found by this batch (jumps), fully filled, and partly filled (split). */
  gapsOpened: number;
  gapsFilled: number;
  gapsSplit: number;
}

export const groupKey = (symbol: string, day: string) => `${symbol}\u0000${day}`;

/** The batch's numbered ticks by symbol and trading day (ticks without a trade number take no part). */
export function groupTrades(ticks: TickColumns, timeZone: string): TradeGroup[] {
  const out: TradeGroup[] = [];
  // By symbol, then day: a batch rarely spans two days, and no key string is built per row.
  const bySymbol = new Map<string, TradeGroup[]>();
  let lastSec = Number.NaN;
  let day = '';
  for (let i = 0; i < ticks.tradeIds.length; i++) {
    const id = ticks.tradeIds[i];
    if (id === null || id === undefined) continue;
    const us = ticks.timesUs[i] as number;
    // Ticks come in time order: most share the previous tick's second, hence its day.
    const sec = Math.floor(us / 1e6);
    if (sec !== lastSec) {
      day = tradingDay(us, timeZone);
      lastSec = sec;
    }
    const symbol = ticks.symbols[i] as string;
    const n = BigInt(id);
    let days = bySymbol.get(symbol);
    if (!days) {
      days = [];
      bySymbol.set(symbol, days);
    }
    const g = days.find((x) => x.day === day);
    if (!g) {
      const created = { symbol, day, rows: [i], numbers: [n], min: n, max: n };
      days.push(created);
      out.push(created);
    } else {
      g.rows.push(i);
      g.numbers.push(n);
      if (n < g.min) g.min = n;
      if (n > g.max) g.max = n;
    }
  }
  return out;
}

const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** The runs of numbers in from..to that are not in `sorted` (ascending, unique, within from..to). */
export function missingRuns(sorted: readonly bigint[], from: bigint, to: bigint): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let next = from;
  for (const n of sorted) {
    if (n > next) out.push([next, n - 1n]);
    next = n + 1n;
  }
  if (next <= to) out.push([next, to]);
  return out;
}

/** Index of the hole containing n, or -1 (holes sorted by first, non-overlapping). */
function holeOf(holes: readonly Hole[], n: bigint): number {
  let lo = 0;
  let hi = holes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const h = holes[mid] as Hole;
    if (n < h.first) hi = mid - 1;
    else if (n > h.last) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * Decide, per symbol and day, which numbered ticks to store and how the holes change. A number is
 * a duplicate when it lies in first..last outside every open hole, or appeared earlier in the batch.
 * New numbers above `last` (below `first`) leave the numbers they jump over as new holes; new
 * numbers inside a hole close it, and what is still missing of it becomes new holes. Ticks without
 * a trade number (not in any group) are kept.
 */
export function planTrades(
  rowCount: number,
  groups: readonly TradeGroup[],
  stored: ReadonlyMap<string, StoredTrades>,
): TradePlan {
  const plan: TradePlan = {
    keep: new Array<boolean>(rowCount).fill(true),
    duplicates: 0,
    sequences: [],
    closed: [],
    opened: [],
    gapsOpened: 0,
    gapsFilled: 0,
    gapsSplit: 0,
  };
  for (const g of groups) {
    const s = stored.get(groupKey(g.symbol, g.day));
    const seen = new Set<bigint>();
    const below: bigint[] = [];
    const above: bigint[] = [];
    const inHoles = new Map<number, bigint[]>();
    for (let k = 0; k < g.rows.length; k++) {
      const n = g.numbers[k] as bigint;
      let duplicate = seen.has(n);
      if (!duplicate && s) {
        if (n < s.first) below.push(n);
        else if (n > s.last) above.push(n);
        else {
          const h = holeOf(s.holes, n);
          if (h < 0) duplicate = true;
          else {
            const list = inHoles.get(h);
            if (list) list.push(n);
            else inHoles.set(h, [n]);
          }
        }
      } else if (!duplicate) above.push(n);
      if (duplicate) {
        plan.keep[g.rows[k] as number] = false;
        plan.duplicates++;
      } else seen.add(n);
    }
    below.sort(compare);
    above.sort(compare);
    const jumps = s
      ? [
          ...(below.length ? missingRuns(below, below[0] as bigint, s.first - 1n) : []),
          ...(above.length ? missingRuns(above, s.last + 1n, above[above.length - 1] as bigint) : []),
        ]
      : missingRuns(above, above[0] as bigint, above[above.length - 1] as bigint);
    for (const [first, last] of jumps)
      plan.opened.push({ symbol: g.symbol, day: g.day, first, last, detectedAt: null, splitFrom: null });
    plan.gapsOpened += jumps.length;
    for (const [index, numbers] of inHoles) {
      const hole = s?.holes[index] as Hole;
      const rest = missingRuns(numbers.sort(compare), hole.first, hole.last);
      plan.closed.push(hole.id);
      for (const [first, last] of rest)
        plan.opened.push({
          symbol: g.symbol,
          day: g.day,
          first,
          last,
          detectedAt: hole.detectedAt,
          splitFrom: hole.id,
        });
      if (rest.length === 0) plan.gapsFilled++;
      else plan.gapsSplit++;
    }
    const first = s ? (below[0] ?? s.first) : (above[0] as bigint);
    const last = s ? (above[above.length - 1] ?? s.last) : (above[above.length - 1] as bigint);
    if (!s || first !== s.first || last !== s.last)
      plan.sequences.push({ symbol: g.symbol, day: g.day, first, last });
  }
  return plan;
}
