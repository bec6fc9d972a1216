/**
 * The trade-number maths of a flush, pure: which ticks are trades already stored, and how the holes
 * of each symbol's trading day change. The stored trade numbers of a symbol and day are exactly
 * `first..last` minus its open holes, so that is all the state there is (step.ts reads and writes
 * it in the flush transaction).
 */
import type { TickColumns } from '../records.js';
import { textAt, tickCount, tradeNumberAt } from '../tick-columns.js';
import { tradingDay } from './trading-day.js';

/**
 * A trade number as a Number when it is a safe integer (nearly always), else a bigint: one form
 * per value, so === and Set tell numbers apart as values, and < > compare exactly across the
 * forms. Per tick this makes no BigInt and no garbage.
 */
export type TradeNumber = number | bigint;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function fromBigInt(n: bigint): TradeNumber {
  return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n;
}

const next = (n: TradeNumber): TradeNumber =>
  typeof n === 'number' && n < Number.MAX_SAFE_INTEGER ? n + 1 : fromBigInt(BigInt(n) + 1n);
const previous = (n: TradeNumber): TradeNumber =>
  typeof n === 'number' && n > -Number.MAX_SAFE_INTEGER ? n - 1 : fromBigInt(BigInt(n) - 1n);

/** A batch's numbered ticks of one symbol and trading day. */
export interface TradeGroup {
  symbol: string;
  day: string;
  /** Row indexes into the batch's TickColumns, in batch order. */
  rows: number[];
  /** Their trade numbers, parallel to `rows`. */
  numbers: TradeNumber[];
  min: TradeNumber;
  max: TradeNumber;
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
  let g: TradeGroup | undefined;
  for (let i = 0; i < tickCount(ticks); i++) {
    const n = tradeNumberAt(ticks, i);
    if (n === null) continue;
    const us = ticks.timesUs[i] as number;
    // Ticks come in time order: most share the previous tick's second, hence its day.
    const sec = Math.floor(us / 1e6);
    if (sec !== lastSec) {
      day = tradingDay(us, timeZone);
      lastSec = sec;
    }
    const symbol = textAt(ticks.symbols, i);
    // A feed runs symbol by symbol: the previous numbered tick's group is the usual one.
    if (!g || g.symbol !== symbol || g.day !== day) {
      let days = bySymbol.get(symbol);
      if (!days) {
        days = [];
        bySymbol.set(symbol, days);
      }
      g = undefined;
      for (const x of days) if (x.day === day) g = x;
      if (!g) {
        g = { symbol, day, rows: [], numbers: [], min: n, max: n };
        days.push(g);
        out.push(g);
      }
    }
    g.rows.push(i);
    g.numbers.push(n);
    if (n < g.min) g.min = n;
    if (n > g.max) g.max = n;
  }
  return out;
}

const compare = (a: TradeNumber, b: TradeNumber) => (a < b ? -1 : a > b ? 1 : 0);

/** The runs of numbers in from..to that are not in `sorted` (ascending, unique, within from..to). */
export function missingRuns(
  sorted: readonly TradeNumber[],
  from: TradeNumber,
  to: TradeNumber,
): [TradeNumber, TradeNumber][] {
  const out: [TradeNumber, TradeNumber][] = [];
  let expected = from;
  for (const n of sorted) {
    if (n > expected) out.push([expected, previous(n)]);
    expected = next(n);
  }
  if (expected <= to) out.push([expected, to]);
  return out;
}

/** Index of the hole containing n, or -1 (holes sorted by first, non-overlapping; bounds parallel). */
function holeOf(firsts: readonly TradeNumber[], lasts: readonly TradeNumber[], n: TradeNumber): number {
  let lo = 0;
  let hi = firsts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (n < (firsts[mid] as TradeNumber)) hi = mid - 1;
    else if (n > (lasts[mid] as TradeNumber)) lo = mid + 1;
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
    const { rows, numbers } = g;
    const s = stored.get(groupKey(g.symbol, g.day));
    // The stored bounds in the numbers' form, so that === and < work on them as on the numbers.
    const storedFirst = s ? fromBigInt(s.first) : 0;
    const storedLast = s ? fromBigInt(s.last) : 0;
    const holeFirsts = s ? s.holes.map((h) => fromBigInt(h.first)) : [];
    const holeLasts = s ? s.holes.map((h) => fromBigInt(h.last)) : [];
    // Numbers usually rise through a batch: one above all before it cannot be a repeat, so the
    // set of earlier numbers is only built at the first that is not.
    let seen: Set<TradeNumber> | undefined;
    let top: TradeNumber = 0;
    const below: TradeNumber[] = [];
    const above: TradeNumber[] = [];
    const inHoles = new Map<number, TradeNumber[]>();
    for (let k = 0; k < rows.length; k++) {
      const n = numbers[k] as TradeNumber;
      if (k === 0 || n > top) top = n;
      else seen ??= new Set(numbers.slice(0, k));
      // A repeat of a stored number is a duplicate again, so seen may hold duplicates too.
      let duplicate = seen?.has(n) === true;
      seen?.add(n);
      if (!duplicate && s) {
        if (n < storedFirst) below.push(n);
        else if (n > storedLast) above.push(n);
        else {
          const h = holeOf(holeFirsts, holeLasts, n);
          if (h < 0) duplicate = true;
          else {
            const list = inHoles.get(h);
            if (list) list.push(n);
            else inHoles.set(h, [n]);
          }
        }
      } else if (!duplicate) above.push(n);
      if (duplicate) {
        plan.keep[rows[k] as number] = false;
        plan.duplicates++;
      }
    }
    below.sort(compare);
    above.sort(compare);
    const lowest = below[0] as TradeNumber;
    const highest = above[above.length - 1] as TradeNumber;
    const jumps = s
      ? [
          ...(below.length ? missingRuns(below, lowest, previous(storedFirst)) : []),
          ...(above.length ? missingRuns(above, next(storedLast), highest) : []),
        ]
      : missingRuns(above, above[0] as TradeNumber, highest);
    for (const [first, last] of jumps)
      plan.opened.push({
        symbol: g.symbol,
        day: g.day,
        first: BigInt(first),
        last: BigInt(last),
        detectedAt: null,
        splitFrom: null,
      });
    plan.gapsOpened += jumps.length;
    for (const [index, inHole] of inHoles) {
      const hole = s?.holes[index] as Hole;
      const rest = missingRuns(
        inHole.sort(compare),
        holeFirsts[index] as TradeNumber,
        holeLasts[index] as TradeNumber,
      );
      plan.closed.push(hole.id);
      for (const [first, last] of rest)
        plan.opened.push({
          symbol: g.symbol,
          day: g.day,
          first: BigInt(first),
          last: BigInt(last),
          detectedAt: hole.detectedAt,
          splitFrom: hole.id,
        });
      if (rest.length === 0) plan.gapsFilled++;
      else plan.gapsSplit++;
    }
    const first = s ? (below.length ? lowest : storedFirst) : (above[0] as TradeNumber);
    const last = s ? (above.length ? highest : storedLast) : highest;
    if (!s || first !== storedFirst || last !== storedLast)
      plan.sequences.push({ symbol: g.symbol, day: g.day, first: BigInt(first), last: BigInt(last) });
  }
  return plan;
}
