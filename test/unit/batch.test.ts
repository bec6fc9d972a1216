import { describe, expect, it } from 'vitest';
import { partitionKey, type SourceRef, type TickColumns } from '../../src/records.js';
import { Batch, BatchBuffer } from '../../src/writers/batch.js';

const src = (topic: string, partition: number, offset: number): SourceRef => ({
  topic,
  partition,
  offset: String(offset),
  key: null,
  value: Buffer.from(`m${offset}`),
  timestampMs: 1_000 + offset,
});

/** Tick values of the given symbols (price, volume and time from the index). */
const ticksOf = (...symbols: string[]): TickColumns => ({
  symbols,
  exchanges: symbols.map(() => 'B3'),
  prices: symbols.map((_, i) => `3${i}.5`),
  volumes: symbols.map((_, i) => String(100 + i)),
  timesUs: symbols.map((_, i) => 1_000_000 * i),
  tradeIds: symbols.map((_, i) => (i % 2 ? String(i) : null)),
});

function fakeClock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('BatchBuffer closes a batch on rows, bytes or age', () => {
  const cases = [
    { name: 'not due below every limit', rows: 2, lineLen: 10, ageMs: 50, due: false },
    { name: 'due on rows', rows: 5, lineLen: 10, ageMs: 0, due: true },
    { name: 'due on bytes', rows: 2, lineLen: 600, ageMs: 0, due: true },
    { name: 'due on age, counted from the first row', rows: 1, lineLen: 10, ageMs: 100, due: true },
  ];
  it.each(cases)('$name', ({ rows, lineLen, ageMs, due }) => {
    const clock = fakeClock(1_000);
    const buffer = new BatchBuffer({ maxRows: 5, maxBytes: 1_000, maxAgeMs: 100 }, clock.now);
    const staged = new Batch(0);
    for (let i = 0; i < rows; i++)
      staged.addRow('market_ticks', `${'x'.repeat(lineLen - 1)}\n`, src('t', 0, i));
    staged.advance('t', 0, String(rows - 1), '1');
    buffer.open().absorb(staged);
    clock.advance(ageMs);
    expect(buffer.isDue()).toBe(due);
  });

  it('an empty buffer is never due and take() hands back nothing', () => {
    const clock = fakeClock();
    const buffer = new BatchBuffer({ maxRows: 1, maxBytes: 1, maxAgeMs: 1 }, clock.now);
    clock.advance(10);
    expect(buffer.isDue()).toBe(false);
    expect(buffer.msUntilDue()).toBeUndefined();
    expect(buffer.take()).toBeUndefined();
  });

  it('msUntilDue counts down from the first message and take() starts afresh', () => {
    const clock = fakeClock(0);
    const buffer = new BatchBuffer({ maxRows: 100, maxBytes: 1 << 20, maxAgeMs: 200 }, clock.now);
    buffer.open().advance('t', 0, '0', '1');
    clock.advance(150);
    expect(buffer.msUntilDue()).toBe(50);
    const taken = buffer.take();
    expect(taken?.offsets.get(partitionKey('t', 0))?.nextOffset).toBe('1');
    expect(buffer.rows).toBe(0);
    expect(buffer.take()).toBeUndefined();
  });
});

describe('Batch', () => {
  it('records the next offset (last + 1) per partition with the claim epoch', () => {
    const b = new Batch(0);
    b.advance('ticks', 2, '41', '7');
    b.advance('ticks', 2, '99', '7');
    b.advance('book', 0, '9007199254740993', '1');
    expect([...b.offsets.values()]).toEqual([
      { topic: 'ticks', partition: 2, nextOffset: '100', epoch: '7' },
      { topic: 'book', partition: 0, nextOffset: '9007199254740994', epoch: '1' },
    ]);
  });

  it('absorb merges rows, offsets, tick values and timestamps', () => {
    const a = new Batch(0);
    a.addRow('market_ticks', 'a\n', src('t', 0, 0));
    a.addTicks(ticksOf('PETR4'));
    const b = new Batch(0);
    b.addRow('market_ticks', 'b\n', src('t', 1, 0));
    b.addRow('market_ticks', 'c\n', src('t', 1, 1));
    b.addRow('profitdll_callbacks', 'c\n', src('c', 0, 0));
    b.addTicks(ticksOf('VALE3', 'PETR4'));
    b.advance('t', 1, '1', '3');
    b.messageTimestamps.push(5, 6);
    a.absorb(b);
    expect(a.rows).toBe(4);
    expect(a.bytes).toBe(8);
    expect(a.tables.market_ticks.lines).toEqual(['a\n', 'b\n', 'c\n']);
    expect(a.tables.profitdll_callbacks.lines).toEqual(['c\n']);
    expect(a.ticks).toEqual({
      symbols: ['PETR4', 'VALE3', 'PETR4'],
      exchanges: ['B3', 'B3', 'B3'],
      prices: ['30.5', '30.5', '31.5'],
      volumes: ['100', '100', '101'],
      timesUs: [0, 0, 1_000_000],
      tradeIds: [null, null, '1'],
    });
    expect(a.messageTimestamps).toEqual([5, 6]);
    expect(a.offsets.size).toBe(1);
  });

  it('dropPartitions removes exactly the rows and offsets of the lost partitions', () => {
    const b = new Batch(0);
    b.addRow('market_ticks', 'p0\n', src('t', 0, 0));
    b.addRow('market_ticks', 'p1\n', src('t', 1, 0));
    b.addTicks(ticksOf('KEPT3', 'GONE3'));
    b.addRow('order_book_snapshots', 'b1\n', src('t', 1, 1));
    b.advance('t', 0, '0', '1');
    b.advance('t', 1, '1', '1');
    const dropped = b.dropPartitions(new Set([partitionKey('t', 1)]));
    expect(dropped).toBe(2);
    expect(b.rows).toBe(1);
    expect(b.bytes).toBe(3);
    expect(b.tables.market_ticks.lines).toEqual(['p0\n']);
    // The bars must not count a dropped tick: its values go with its line.
    expect(b.ticks).toEqual(ticksOf('KEPT3'));
    expect(b.tables.order_book_snapshots.lines).toEqual([]);
    expect([...b.offsets.keys()]).toEqual([partitionKey('t', 0)]);
  });
});
