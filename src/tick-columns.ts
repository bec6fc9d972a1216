/**
 * Tick columns (`TickColumns`): built row by row by the decoders, moved to the main thread (their
 * typed arrays transferred, each distinct text cloned once), joined per flush and read by the trade
 * numbers and the bars. Cloned as a string per row and column, they were most of what outlived the
 * main thread's young generation, and so most of its collection work.
 */
import type { RepeatedTexts, TickColumns } from './records.js';

/** The text of row i. */
export const textAt = (column: RepeatedTexts, i: number): string =>
  column.texts[column.at[i] as number] as string;

/** Ticks in the columns. */
export const tickCount = (t: TickColumns): number => t.timesUs.length;

/** Row i's trade number: a Number when it is a safe integer, else a BigInt; null when it has none. */
export function tradeNumberAt(t: TickColumns, i: number): number | bigint | null {
  const n = t.tradeNumbers[i] as number;
  if (!Number.isNaN(n)) return n;
  const text = t.largeTradeIds.get(i);
  return text === undefined ? null : BigInt(text);
}

/** Row i's trade number as canonical text (market_ticks.trade_id), or null. */
export function tradeIdAt(t: TickColumns, i: number): string | null {
  const n = tradeNumberAt(t, i);
  return n === null ? null : n.toString();
}

/** Canonical integer text as a Number when it is a safe integer, else NaN (a larger one). */
function safeNumber(text: string): number {
  const n = text.length;
  let k = text.charCodeAt(0) === 45 ? 1 : 0;
  const negative = k === 1;
  // Up to 15 digits are exact in a double: parsed in place, about twice as fast as Number(text).
  if (n - k > 15) {
    const v = Number(text);
    return Number.isSafeInteger(v) ? v : Number.NaN;
  }
  let v = 0;
  for (; k < n; k++) v = v * 10 + (text.charCodeAt(k) - 48);
  return negative ? 0 - v : v;
}

/** Collects one column's texts; a row usually repeats the row before (a feed runs symbol by symbol). */
class TextColumn {
  private readonly texts: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly at: number[] = [];
  private last = '';
  private lastIndex = -1;

  add(text: string): void {
    let k = this.lastIndex;
    if (k < 0 || text !== this.last) {
      k = this.index.get(text) ?? -1;
      if (k < 0) {
        k = this.texts.length;
        this.texts.push(text);
        this.index.set(text, k);
      }
      this.last = text;
      this.lastIndex = k;
    }
    this.at.push(k);
  }

  build(): RepeatedTexts {
    return { texts: this.texts, at: Int32Array.from(this.at) };
  }
}

/** Builds a batch's tick columns row by row. */
export class TickColumnsBuilder {
  private readonly symbols = new TextColumn();
  private readonly exchanges = new TextColumn();
  private readonly prices = new TextColumn();
  private readonly volumes = new TextColumn();
  private readonly timesUs: number[] = [];
  private readonly tradeNumbers: number[] = [];
  private readonly largeTradeIds = new Map<number, string>();

  /** `tradeId`: canonical integer text, or null. */
  add(
    symbol: string,
    exchange: string,
    price: string,
    volume: string,
    timeUs: number,
    tradeId: string | null,
  ): void {
    this.symbols.add(symbol);
    this.exchanges.add(exchange);
    this.prices.add(price);
    this.volumes.add(volume);
    const n = tradeId === null ? Number.NaN : safeNumber(tradeId);
    if (tradeId !== null && Number.isNaN(n)) this.largeTradeIds.set(this.timesUs.length, tradeId);
    this.timesUs.push(timeUs);
    this.tradeNumbers.push(n);
  }

  build(): TickColumns {
    return {
      symbols: this.symbols.build(),
      exchanges: this.exchanges.build(),
      prices: this.prices.build(),
      volumes: this.volumes.build(),
      timesUs: Float64Array.from(this.timesUs),
      tradeNumbers: Float64Array.from(this.tradeNumbers),
      largeTradeIds: this.largeTradeIds,
    };
  }
}

/** The typed arrays of tick columns, to move them to another thread instead of copying them. */
export function transferables(t: TickColumns): ArrayBuffer[] {
  return [t.symbols.at, t.exchanges.at, t.prices.at, t.volumes.at, t.timesUs, t.tradeNumbers].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

/** The ticks of several batches, in order, as one set of columns (one batch: its own). */
export function joinTicks(parts: readonly TickColumns[]): TickColumns {
  if (parts.length === 1) return parts[0] as TickColumns;
  let n = 0;
  for (const p of parts) n += tickCount(p);
  const join = (column: (p: TickColumns) => RepeatedTexts): RepeatedTexts => {
    const texts: string[] = [];
    const at = new Int32Array(n);
    let row = 0;
    for (const p of parts) {
      const c = column(p);
      const base = texts.length;
      for (const text of c.texts) texts.push(text);
      for (let i = 0; i < c.at.length; i++) at[row++] = base + (c.at[i] as number);
    }
    return { texts, at };
  };
  const timesUs = new Float64Array(n);
  const tradeNumbers = new Float64Array(n);
  const largeTradeIds = new Map<number, string>();
  let row = 0;
  for (const p of parts) {
    timesUs.set(p.timesUs, row);
    tradeNumbers.set(p.tradeNumbers, row);
    for (const [i, text] of p.largeTradeIds) largeTradeIds.set(row + i, text);
    row += tickCount(p);
  }
  return {
    symbols: join((p) => p.symbols),
    exchanges: join((p) => p.exchanges),
    prices: join((p) => p.prices),
    volumes: join((p) => p.volumes),
    timesUs,
    tradeNumbers,
    largeTradeIds,
  };
}

/** Rows `keep` of the columns, in that order. */
export function pickTicks(t: TickColumns, keep: readonly number[]): TickColumns {
  const pick = (c: RepeatedTexts): RepeatedTexts => ({
    texts: c.texts,
    at: Int32Array.from(keep, (i) => c.at[i] as number),
  });
  const largeTradeIds = new Map<number, string>();
  if (t.largeTradeIds.size > 0)
    keep.forEach((i, k) => {
      const text = t.largeTradeIds.get(i);
      if (text !== undefined) largeTradeIds.set(k, text);
    });
  return {
    symbols: pick(t.symbols),
    exchanges: pick(t.exchanges),
    prices: pick(t.prices),
    volumes: pick(t.volumes),
    timesUs: Float64Array.from(keep, (i) => t.timesUs[i] as number),
    tradeNumbers: Float64Array.from(keep, (i) => t.tradeNumbers[i] as number),
    largeTradeIds,
  };
}
