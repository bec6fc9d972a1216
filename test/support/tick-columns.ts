import type { TickColumns, TickIds } from '../../src/records.js';
import { TickColumnsBuilder, textAt, tickCount, tradeIdAt } from '../../src/tick-columns.js';
import { appendTickIds, noTickIds, tickIdAt, tickIdCount } from '../../src/tick-id-blocks.js';

/** Tick values as tests write them: plain arrays, row i of each being row i. */
export interface PlainTicks {
  symbols: string[];
  exchanges: string[];
  prices: string[];
  volumes: string[];
  timesUs: number[];
  tradeIds: (string | null)[];
}

export const emptyTicks = (): PlainTicks => ({
  symbols: [],
  exchanges: [],
  prices: [],
  volumes: [],
  timesUs: [],
  tradeIds: [],
});

/** The columns the decoders would build from these ticks. */
export function packTicks(c: PlainTicks): TickColumns {
  const b = new TickColumnsBuilder();
  c.symbols.forEach((symbol, i) => {
    b.add(
      symbol,
      c.exchanges[i] as string,
      c.prices[i] as string,
      c.volumes[i] as string,
      c.timesUs[i] as number,
      c.tradeIds[i] ?? null,
    );
  });
  return b.build();
}

/** The columns' values as plain arrays (to compare them). */
export function plainTicks(t: TickColumns): PlainTicks {
  const rows = Array.from({ length: tickCount(t) }, (_, i) => i);
  return {
    symbols: rows.map((i) => textAt(t.symbols, i)),
    exchanges: rows.map((i) => textAt(t.exchanges, i)),
    prices: rows.map((i) => textAt(t.prices, i)),
    volumes: rows.map((i) => textAt(t.volumes, i)),
    timesUs: rows.map((i) => t.timesUs[i] as number),
    tradeIds: rows.map((i) => tradeIdAt(t, i)),
  };
}

/** Tick ids as the sink hands them on, from a list (ids that follow one another share a block). */
export function tickIdsOf(list: readonly (string | bigint)[]): TickIds {
  const ids = noTickIds();
  for (const id of list) appendTickIds(ids, BigInt(id), 1);
  return ids;
}

/** Every id of the blocks, in row order, as text. */
export const tickIdList = (ids: TickIds): string[] =>
  Array.from({ length: tickIdCount(ids) }, (_, k) => String(tickIdAt(ids, k)));
