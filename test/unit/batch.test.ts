import { describe, expect, it } from 'vitest';
import { type CopyRows, CopyRowsBuilder, ID_WIDTH } from '../../src/copy-rows.js';
import { partitionKey, type SourceBatch } from '../../src/records.js';
import { BatchBuffer, FlushBatch, TableRows } from '../../src/writers/batch.js';
import { emptyCopyRows } from '../support/copy-rows.js';
import { sourceBatch } from '../support/source-batch.js';
import { emptyTicks, type PlainTicks, packTicks, plainTicks, tickIdsOf } from '../support/tick-columns.js';

/** A Kafka batch of one partition, message k at offset first + k, one line per message. */
function origin(topic: string, partition: number, first: number, n: number): SourceBatch {
  const messages = Array.from({ length: n }, (_, k) => ({
    offset: String(first + k),
    timestamp: String(1_000 + first + k),
    key: null,
    value: Buffer.from(`m${first + k}`),
  }));
  return sourceBatch(topic, partition, messages);
}

const copyRows = (lines: readonly string[], withId = false): CopyRows => {
  const b = new CopyRowsBuilder(withId);
  lines.forEach((line, k) => {
    b.add(line, k);
  });
  return b.build();
};

/** Rows per table (ticks, books, callbacks). */
const tables = (ticks: string[], books: string[] = []) => [
  copyRows(ticks, true),
  copyRows(books),
  emptyCopyRows(),
];

const text = (pieces: readonly Buffer[]) => Buffer.concat(pieces).toString();

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
    const lines = Array.from({ length: rows }, () => `${'x'.repeat(lineLen - 1)}\n`);
    open.add(origin('t', 0, 0, rows), [emptyCopyRows(), copyRows(lines), emptyCopyRows()], noTicks);
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

const noTicks = packTicks(emptyTicks());

const tickOf = (symbol: string, timeUs: number): PlainTicks => ({
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
    b.add(origin('t', 0, 0, 1), tables(['p0\n']), packTicks(tickOf('PETR4', 10)));
    b.add(origin('t', 1, 0, 2), tables(['p1\n'], ['b1\n']), packTicks(tickOf('VALE3', 20)));
    b.advance('t', 0, '0', '0', '1');
    b.advance('t', 1, '0', '1', '1');
    const dropped = b.dropPartitions(new Set([partitionKey('t', 1)]));
    expect(dropped).toBe(2);
    expect(b.rows).toBe(1);
    expect(b.bytes).toBe(ID_WIDTH + 1 + 3);
    expect(text(b.tables.market_ticks.pieces())).toBe(`${'0'.repeat(ID_WIDTH)}\tp0\n`);
    expect(plainTicks(b.tickColumns())).toEqual(tickOf('PETR4', 10));
    expect(b.tables.order_book_snapshots.length).toBe(0);
    expect([...b.offsets.keys()]).toEqual([partitionKey('t', 0)]);
  });

  it('release frees the COPY text, the messages and the tick values at once; a pooled buffer is left alone', () => {
    const b = new FlushBatch(0);
    const first = origin('t', 0, 0, 2);
    // One Kafka batch's rows in two tables: its buffers are released once, the second time skipped.
    b.add(first, tables(['p0\n', 'p1\n'], ['b0\n']), packTicks(tickOf('PETR4', 10)));
    const pooled = Buffer.from('pooled line\n');
    const sibling = Buffer.from('another small buffer of the pool');
    b.tables.profitdll_callbacks.add(
      { text: pooled, ends: Int32Array.of(pooled.length), messages: Int32Array.of(0) },
      first,
    );
    const ticks = b.tables.market_ticks.parts[0];
    const held = [
      ticks?.rows.text,
      ticks?.rows.ends,
      first.values.data,
      first.timestampsMs,
      ticks?.ticks?.timesUs,
    ];
    expect(held.every((v) => v !== undefined && v.byteLength > 0)).toBe(true);
    b.release();
    expect(held.map((v) => v?.byteLength)).toEqual([0, 0, 0, 0, 0]);
    expect(b.tables.order_book_snapshots.parts[0]?.rows.text.byteLength).toBe(0);
    expect(pooled.toString()).toBe('pooled line\n');
    expect(sibling.toString()).toBe('another small buffer of the pool');
  });
});

describe('TableRows', () => {
  // Two Kafka batches: rows 0-2 from partition 0 (offsets 10-12), rows 3-4 from partition 1 (offsets 0-1).
  const rows = () => {
    const t = new TableRows();
    t.add(copyRows(['a\n', 'bb\n', 'c\n'], true), origin('t', 0, 10, 3));
    t.add(copyRows(['d\n', 'e\n'], true), origin('t', 1, 0, 2));
    return t;
  };
  const id = (n: string) => n.padStart(ID_WIDTH, '0');

  it('writes ids into the rows (all of them, or the selected ones in order) and hands out the text', () => {
    const t = rows();
    t.writeIds(tickIdsOf(['1', '2', '3', '4', '5']));
    expect(text(t.pieces())).toBe(
      `${id('1')}\ta\n${id('2')}\tbb\n${id('3')}\tc\n${id('4')}\td\n${id('5')}\te\n`,
    );
    // A retry with other ids and a selection overwrites them.
    t.writeIds(tickIdsOf(['77', '9000000000000000001']), [1, 4]);
    expect(text(t.pieces([1, 4]))).toBe(`${id('77')}\tbb\n9000000000000000001\te\n`);
  });

  it.each([
    { selection: [0, 1, 2, 3, 4], pieces: 2 },
    { selection: [0, 1], pieces: 1 },
    { selection: [0, 2], pieces: 2 },
    { selection: [2, 3], pieces: 2 },
    { selection: [4], pieces: 1 },
    { selection: [], pieces: 0 },
  ])(
    'selection $selection: consecutive rows of a part go out as one piece ($pieces)',
    ({ selection, pieces }) => {
      const t = rows();
      const lines = ['a', 'bb', 'c', 'd', 'e'];
      const out = t.pieces(selection);
      expect(out).toHaveLength(pieces);
      expect(text(out)).toBe(selection.map((i) => `${id('0')}\t${lines[i]}\n`).join(''));
      expect(t.bytesOf(selection)).toBe(Buffer.byteLength(text(out)));
    },
  );

  it('names the message of each row, across parts', () => {
    const t = rows();
    expect([0, 2, 3, 4].map((i) => t.source(i)).map((s) => [s.partition, s.offset, s.timestampMs])).toEqual([
      [0, '10', 1_010],
      [0, '12', 1_012],
      [1, '0', 1_000],
      [1, '1', 1_001],
    ]);
    expect(() => t.source(5)).toThrow(RangeError);
  });

  it('a selection out of order is refused', () => {
    expect(() => rows().pieces([3, 1])).toThrow(RangeError);
  });
});
