/**
 * The tick values of a Kafka batch as they cross from the decode thread: texts that repeat (symbols,
 * exchanges, prices, volumes) once each with an index per row, times as a typed array. Cloned as a
 * string per row and column, they were most of what outlived the main thread's young generation
 * (a batch's rows live until their flush commits), and so most of its collection work. Unpacked into
 * TickColumns (the same string object for the same text) once per flush.
 */
import type { TickColumns } from './records.js';

/** A column of texts: each distinct text once, and per row the index of its text. */
export interface RepeatedTexts {
  texts: string[];
  at: Int32Array;
}

export interface PackedTicks {
  symbols: RepeatedTexts;
  exchanges: RepeatedTexts;
  prices: RepeatedTexts;
  volumes: RepeatedTexts;
  timesUs: Float64Array;
  tradeIds: (string | null)[];
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

/** Packs a batch's ticks row by row. */
export class PackedTicksBuilder {
  private readonly symbols = new TextColumn();
  private readonly exchanges = new TextColumn();
  private readonly prices = new TextColumn();
  private readonly volumes = new TextColumn();
  private readonly timesUs: number[] = [];
  private readonly tradeIds: (string | null)[] = [];

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
    this.timesUs.push(timeUs);
    this.tradeIds.push(tradeId);
  }

  build(): PackedTicks {
    return {
      symbols: this.symbols.build(),
      exchanges: this.exchanges.build(),
      prices: this.prices.build(),
      volumes: this.volumes.build(),
      timesUs: Float64Array.from(this.timesUs),
      tradeIds: this.tradeIds,
    };
  }
}

/** The typed arrays of packed ticks, to move them to another thread instead of copying them. */
export function transferables(p: PackedTicks): ArrayBuffer[] {
  return [p.symbols.at, p.exchanges.at, p.prices.at, p.volumes.at, p.timesUs].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

/** The ticks of several batches, in order, as columns of values. */
export function unpackTicks(parts: readonly PackedTicks[]): TickColumns {
  let n = 0;
  for (const p of parts) n += p.timesUs.length;
  const symbols = new Array<string>(n);
  const exchanges = new Array<string>(n);
  const prices = new Array<string>(n);
  const volumes = new Array<string>(n);
  const timesUs = new Array<number>(n);
  const tradeIds = new Array<string | null>(n);
  let row = 0;
  for (const p of parts) {
    for (let i = 0; i < p.timesUs.length; i++, row++) {
      symbols[row] = p.symbols.texts[p.symbols.at[i] as number] as string;
      exchanges[row] = p.exchanges.texts[p.exchanges.at[i] as number] as string;
      prices[row] = p.prices.texts[p.prices.at[i] as number] as string;
      volumes[row] = p.volumes.texts[p.volumes.at[i] as number] as string;
      timesUs[row] = p.timesUs[i] as number;
      tradeIds[row] = p.tradeIds[i] as string | null;
    }
  }
  return { symbols, exchanges, prices, volumes, timesUs, tradeIds };
}
