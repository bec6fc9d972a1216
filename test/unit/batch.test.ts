import { describe, expect, it } from 'vitest';
import { partitionKey, type SourceRef } from '../../src/records.js';
import { BatchBuffer, FlushBatch } from '../../src/writers/batch.js';

const src = (topic: string, partition: number, offset: number): SourceRef => ({
  topic,
  partition,
  offset: String(offset),
  key: null,
  value: Buffer.from(`m${offset}`),
  timestampMs: 1_000 + offset,
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
    const open = buffer.open();
    for (let i = 0; i < rows; i++)
      open.addRow('market_ticks', `${'x'.repeat(lineLen - 1)}\n`, src('t', 0, i));
    open.advance('t', 0, '0', String(rows - 1), '1');
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
    buffer.open().advance('t', 0, '0', '0', '1');
    clock.advance(150);
    expect(buffer.msUntilDue()).toBe(50);
    const taken = buffer.take();
    expect(taken?.offsets.get(partitionKey('t', 0))?.nextOffset).toBe('1');
    expect(buffer.rows).toBe(0);
    expect(buffer.take()).toBeUndefined();
  });
});

const tickOf = (symbol: string, timeUs: number) => ({
  symbols: [symbol],
  exchanges: ['B3'],
  prices: ['1'],
  volumes: ['1'],
  timesUs: [timeUs],
  tradeIds: [null],
});

describe('FlushBatch', () => {
  it('records per partition where the batch starts (first advance) and the next offset (last + 1), with the claim epoch', () => {
    const b = new FlushBatch(0);
    b.advance('ticks', 2, '30', '41', '7');
    b.advance('ticks', 2, '42', '99', '7');
    b.advance('book', 0, '9007199254740990', '9007199254740993', '1');
    expect([...b.offsets.values()]).toEqual([
      { topic: 'ticks', partition: 2, fromOffset: '30', nextOffset: '100', epoch: '7' },
      {
        topic: 'book',
        partition: 0,
        fromOffset: '9007199254740990',
        nextOffset: '9007199254740994',
        epoch: '1',
      },
    ]);
  });

  it('is empty until an offset moves, even with no rows (all dead-lettered)', () => {
    const b = new FlushBatch(0);
    expect(b.isEmpty).toBe(true);
    b.advance('t', 0, '0', '4', '1');
    expect(b.isEmpty).toBe(false);
    expect(b.rows).toBe(0);
  });

  it('dropPartitions removes exactly the rows, tick values and offsets of those partitions', () => {
    const b = new FlushBatch(0);
    b.addRow('market_ticks', 'p0\n', src('t', 0, 0));
    b.addTickValues(tickOf('PETR4', 10), 0);
    b.addRow('market_ticks', 'p1\n', src('t', 1, 0));
    b.addTickValues(tickOf('VALE3', 20), 0);
    b.addRow('order_book_snapshots', 'b1\n', src('t', 1, 1));
    b.advance('t', 0, '0', '0', '1');
    b.advance('t', 1, '0', '1', '1');
    const dropped = b.dropPartitions(new Set([partitionKey('t', 1)]));
    expect(dropped).toBe(2);
    expect(b.rows).toBe(1);
    expect(b.bytes).toBe(3);
    expect(b.tables.market_ticks.lines).toEqual(['p0\n']);
    expect(b.ticks).toEqual(tickOf('PETR4', 10));
    expect(b.tables.order_book_snapshots.lines).toEqual([]);
    expect([...b.offsets.keys()]).toEqual([partitionKey('t', 0)]);
  });
});
