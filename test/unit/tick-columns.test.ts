import { describe, expect, it } from 'vitest';
import type { TickColumns } from '../../src/records.js';
import { PackedTicksBuilder, transferables, unpackTicks } from '../../src/tick-columns.js';
import { packTicks } from '../support/tick-columns.js';

const columns = (rows: [string, string, string, string, number, string | null][]): TickColumns => ({
  symbols: rows.map((r) => r[0]),
  exchanges: rows.map((r) => r[1]),
  prices: rows.map((r) => r[2]),
  volumes: rows.map((r) => r[3]),
  timesUs: rows.map((r) => r[4]),
  tradeIds: rows.map((r) => r[5]),
});

describe('tick columns packed for the trip from the decode thread', () => {
  const cases: [string, TickColumns][] = [
    ['no ticks', columns([])],
    ['one symbol running', columns([0, 1, 2].map((k) => ['PETR4', 'B3', `30.1${k}`, '100', k, String(k)]))],
    [
      'symbols alternating, a text back after others, trade numbers missing',
      columns([
        ['PETR4', 'B3', '30.12', '100', 1, '7'],
        ['VALE3', 'B3', '61.5', '200', 2, null],
        ['PETR4', 'B3', '30.12', '100', 3, '8'],
        ['WINZ26', 'BMF', '128500', '1', 4, null],
        ['VALE3', 'B3', '61.5', '100', 5, '9'],
      ]),
    ],
    [
      'many rows, few distinct texts',
      columns(Array.from({ length: 100 }, (_, k) => [`S${k % 7}`, 'B3', String(k % 13), '1', k, String(k)])),
    ],
  ];

  it.each(cases)('%s: unpacked as packed', (_name, c) => {
    expect(unpackTicks([packTicks(c)])).toEqual(c);
  });

  it('several batches unpack in order; each distinct text crosses once', () => {
    const [, a] = cases[2] as [string, TickColumns];
    const [, b] = cases[1] as [string, TickColumns];
    const packed = packTicks(a);
    expect(packed.symbols.texts).toEqual(['PETR4', 'VALE3', 'WINZ26']);
    expect(packed.prices.texts).toEqual(['30.12', '61.5', '128500']);
    const both = unpackTicks([packed, packTicks(b)]);
    expect(both).toEqual({
      symbols: [...a.symbols, ...b.symbols],
      exchanges: [...a.exchanges, ...b.exchanges],
      prices: [...a.prices, ...b.prices],
      volumes: [...a.volumes, ...b.volumes],
      timesUs: [...a.timesUs, ...b.timesUs],
      tradeIds: [...a.tradeIds, ...b.tradeIds],
    });
  });

  it('hands its typed arrays over to be moved, not copied', () => {
    const b = new PackedTicksBuilder();
    b.add('PETR4', 'B3', '1', '1', 5, null);
    const p = b.build();
    const buffers = transferables(p);
    expect(buffers).toEqual(
      [p.symbols.at, p.exchanges.at, p.prices.at, p.volumes.at, p.timesUs].map((a) => a.buffer),
    );
    const { port1 } = new MessageChannel();
    port1.postMessage(p, buffers);
    port1.close();
    expect(p.timesUs.length).toBe(0); // detached: it went with the message
  });
});
