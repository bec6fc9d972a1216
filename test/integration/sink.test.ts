import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barStep } from '../../src/bars/index.js';
import { CopyRowsBuilder } from '../../src/copy-rows.js';
import { run, withClient } from '../../src/db.js';
import { OffsetConflictError } from '../../src/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { checkTrades, forgetTrades } from '../../src/trades/index.js';
import { formatUtcMicros } from '../../src/transform/civil.js';
import { tickLine } from '../../src/transform/copy-format.js';
import { FlushBatch } from '../../src/writers/batch.js';
import { CopySink } from '../../src/writers/copy-sink.js';
import { claimPartition, type OutOfRangePolicy } from '../../src/writers/offset-store.js';
import { drawIdBlocks, drawTickIds } from '../../src/writers/tick-ids.js';
import { emptyCopyRows } from '../support/copy-rows.js';
import { type MigratedDatabase, migratedDatabase } from '../support/fresh.js';
import { sourceBatch } from '../support/source-batch.js';
import { emptyTicks, packTicks, tickIdList } from '../support/tick-columns.js';

/**
 * The sink and the offsets table on the real stack: a batch is stored once whatever happens to the
 * COMMIT reply, a fenced replica cannot write, and a stored offset outside the log is moved by policy.
 */
let t: MigratedDatabase;
/** The worker's own work (claims, flushes) runs as the writer user; checks and set-up as the owner. */
let db: pg.Pool;
let owner: pg.Pool;
const GROUP = 'sink-test';

beforeAll(async () => {
  t = await migratedDatabase('sink');
  db = t.writer;
  owner = t.owner;
});

afterAll(async () => {
  await t?.close();
});

const claim = (
  partition: number,
  policy: OutOfRangePolicy = 'earliest',
  marks = { low: '0', high: '1000' },
) =>
  withClient(db, (c) =>
    claimPartition(c, {
      groupId: GROUP,
      topic: 'ticks',
      partition,
      fetchedFrom: '0',
      owner: 'test',
      watermarks: marks,
      policy,
    }),
  );

/**
 * A batch of `n` PETR4 ticks of one partition, offsets from..from+n-1, under `epoch`; `edit` may
 * change a line (by its offset) before it is added.
 */
function ticks(
  partition: number,
  from: number,
  n: number,
  epoch: string,
  edit: (offset: number, line: string) => string = (_, line) => line,
): FlushBatch {
  const b = new FlushBatch(0);
  const rows = new CopyRowsBuilder(true);
  const c = emptyTicks();
  const messages = [];
  for (let k = 0; k < n; k++) {
    const us = Date.parse('2025-03-07T14:00:00Z') * 1000 + (from + k) * 1_000_000 + partition;
    const row = {
      symbol: 'PETR4',
      exchange: 'B3',
      price: '10.5',
      volume: '100',
      aggressor: 'BUY' as const,
      tickTime: formatUtcMicros(us),
      tickTimeUs: us,
      source: 'ProfitDLL',
      tradeId: String(from + k),
    };
    rows.add(edit(from + k, tickLine(row)), k);
    messages.push({ offset: String(from + k), timestamp: '0', key: null, value: Buffer.from('{}') });
    c.symbols.push('PETR4');
    c.exchanges.push('B3');
    c.prices.push(row.price);
    c.volumes.push('100');
    c.timesUs.push(us);
    c.tradeIds.push(String(from + k));
  }
  b.add(
    sourceBatch('ticks', partition, messages),
    [rows.build(), emptyCopyRows(), emptyCopyRows()],
    packTicks(c),
  );
  b.advance('ticks', partition, String(from), String(from + n - 1), epoch);
  return b;
}

const sink = (rejected: unknown[] = []) =>
  new CopySink(db, createMetrics(), {
    groupId: GROUP,
    deadLetter: async (rows) => {
      rejected.push(...rows);
    },
    deadlineMs: 60_000,
  });

const ZONE = 'America/Sao_Paulo';

/** The sink as the worker composes it: with the bars, and the trade numbers unless `trades` is false. */
const fullSink = (metrics = createMetrics(), trades = true) =>
  new CopySink(db, metrics, {
    groupId: GROUP,
    deadLetter: async () => undefined,
    bars: barStep(ZONE, metrics, pino({ level: 'silent' })),
    ...(trades
      ? {
          trades: {
            check: (ticks) => checkTrades(ticks, ZONE),
            forget: (client, ticks, rows) => forgetTrades(client, ticks, rows, ZONE),
          },
        }
      : {}),
    deadlineMs: 60_000,
  });

const counter = async (metrics: ReturnType<typeof createMetrics>, kind: string) =>
  (await metrics.flushErrors.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;

const stored = async (partition: number) =>
  Number(
    (
      await db.query(
        `select count(*) from data_capture.market_ticks where (extract(epoch from tick_time) * 1e6)::bigint % 1000000 = $1`,
        [partition],
      )
    ).rows[0].count,
  );
const nextOffset = async (partition: number) =>
  (
    await db.query(
      `select next_offset::text from data_capture.ingest_offsets where group_id = $1 and topic = 'ticks' and partition = $2`,
      [GROUP, partition],
    )
  ).rows[0]?.next_offset;

describe('tick ids drawn in blocks', () => {
  const first = 9007199254740000n;
  const ids = (from: bigint, n: number) => Array.from({ length: n }, (_, k) => String(from + BigInt(k)));
  /** A session's own sequence (the writer user may not create one in the schema). */
  async function withSequence<T>(options: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(db, async (c) => {
      await c.query(`create temporary sequence draw_test ${options} start with ${first}`);
      try {
        return await fn(c);
      } finally {
        await c.query('drop sequence pg_temp.draw_test');
      }
    });
  }
  const lastValue = async (c: pg.PoolClient) =>
    (await c.query('select last_value::text as v from pg_temp.draw_test')).rows[0]?.v as string;

  it('the schema draws in steps of 64', async () => {
    const { rows } = await owner.query(
      "select seqincrement::int as step from pg_sequence where seqrelid = 'data_capture.market_ticks_id_seq'::regclass",
    );
    expect(rows[0]?.step).toBe(64);
  });

  it('a value stands for a block: 150 ids from 3 values', async () => {
    await withSequence('increment by 64', async (c) => {
      expect(tickIdList(await run(c, drawIdBlocks('pg_temp.draw_test', 150)))).toEqual(ids(first, 150));
      expect(await lastValue(c)).toBe(String(first + 128n));
    });
  });

  it('a value another writer drew between two draws is never one of the ids', async () => {
    await withSequence('increment by 64', async (c) => {
      const a = await run(c, drawIdBlocks('pg_temp.draw_test', 10));
      const other = (await c.query("select nextval('pg_temp.draw_test')::text as v")).rows[0]?.v as string;
      const b = await run(c, drawIdBlocks('pg_temp.draw_test', 70));
      expect(tickIdList(a)).toEqual(ids(first, 10));
      expect(other).toBe(String(first + 64n));
      expect(tickIdList(b)).toEqual(ids(first + 128n, 70));
    });
  });

  it('a sequence of step 1 gives one id a value', async () => {
    await withSequence('increment by 1', async (c) => {
      expect(tickIdList(await run(c, drawIdBlocks('pg_temp.draw_test', 150)))).toEqual(ids(first, 150));
      expect(await lastValue(c)).toBe(String(first + 149n));
    });
  });

  it('blocks cut short at the maximum give fewer ids; past it the draw fails loudly', async () => {
    await withSequence(`increment by 64 maxvalue ${first + 100n}`, async (c) => {
      const drawn = await run(c, drawIdBlocks('pg_temp.draw_test', 120));
      expect(tickIdList(drawn)).toEqual(ids(first, 101));
      await expect(drawTickIds(c, 'pg_temp.draw_test', 120, drawn)).rejects.toThrow(/maximum value/);
    });
  });

  it('drawTickIds draws what the first blocks lacked', async () => {
    await withSequence('increment by 64', async (c) => {
      const drawn = await run(c, drawIdBlocks('pg_temp.draw_test', 30));
      const got = await drawTickIds(c, 'pg_temp.draw_test', 100, drawn);
      expect(tickIdList(got)).toEqual([...ids(first, 30), ...ids(first + 64n, 70)]);
    });
  });
});

describe('CopySink on the real stack', () => {
  it('writes a batch once: the same batch again (a retry after a lost COMMIT reply) is refused as committed', async () => {
    const c = await claim(0);
    const batch = ticks(0, 0, 5, c.epoch);
    const result = await sink().write(batch);
    expect(result.rowsByTable.market_ticks).toBe(5);
    await expect(sink().write(batch)).rejects.toSatisfy(
      (e) => e instanceof OffsetConflictError && e.conflicts[0]?.reason === 'committed',
    );
    expect(await stored(0)).toBe(5);
    expect(await nextOffset(0)).toBe('5');
    // The next batch continues where the first ended.
    await sink().write(ticks(0, 5, 3, c.epoch));
    expect(await nextOffset(0)).toBe('8');
    expect(await stored(0)).toBe(8);
  });

  it('a replica whose claim was taken over is fenced, and writes nothing', async () => {
    const old = await claim(1);
    await sink().write(ticks(1, 0, 2, old.epoch));
    const now = await claim(1); // another replica
    await expect(sink().write(ticks(1, 2, 2, old.epoch))).rejects.toSatisfy(
      (e) => e instanceof OffsetConflictError && e.conflicts[0]?.reason === 'fenced',
    );
    expect(await stored(1)).toBe(2);
    await sink().write(ticks(1, 2, 2, now.epoch));
    expect(await stored(1)).toBe(4);
  });

  it('a batch that does not start where the stored offset is (a gap) is refused, never written', async () => {
    const c = await claim(2);
    await expect(sink().write(ticks(2, 10, 2, c.epoch))).rejects.toBeInstanceOf(OffsetConflictError);
    expect(await stored(2)).toBe(0);
  });

  it('with trade numbers and bars: records the trades and merges the bars with the ticks', async () => {
    const c = await claim(4);
    const first = await fullSink().write(ticks(4, 0, 5, c.epoch));
    expect(first.rowsByTable.market_ticks).toBe(5);
    expect(first.barsByTimeframe['1m']).toBe(1);
    const next = await fullSink().write(ticks(4, 5, 4, c.epoch));
    expect(next.duplicateTrades).toBe(0);
    expect(await stored(4)).toBe(9);
    const { rows } = await db.query(
      `select volume::text, trade_count from data_capture.ohlcv_bars
        where timeframe = '1m' and symbol = 'PETR4' and bar_time = '2025-03-07 14:00+00'`,
    );
    expect(rows).toEqual([{ volume: '900.00', trade_count: 9 }]);
    const seq = await db.query(
      `select first_trade::text, last_trade::text from data_capture.trade_sequences where symbol = 'PETR4'`,
    );
    expect(seq.rows).toEqual([{ first_trade: '0', last_trade: '8' }]);
    expect(await nextOffset(4)).toBe('9');
    // The same batch again (a retry after a lost COMMIT reply) is refused as committed.
    await expect(fullSink().write(ticks(4, 5, 4, c.epoch))).rejects.toBeInstanceOf(OffsetConflictError);
  });

  it('a data error of the bars fails the first attempt; the redo stores the ticks and gives the bars up', async () => {
    const c = await claim(5);
    const metrics = createMetrics();
    await owner.query(
      `alter table data_capture.ohlcv_bars add constraint sink_test_no_bars check (symbol <> 'PETR4') not valid`,
    );
    try {
      // Without trade numbers: the trades of these offsets were stored by the test before.
      const result = await fullSink(metrics, false).write(ticks(5, 0, 3, c.epoch));
      expect(result.rowsByTable.market_ticks).toBe(3);
      expect(result.barsByTimeframe).toEqual({});
    } finally {
      await owner.query(`alter table data_capture.ohlcv_bars drop constraint sink_test_no_bars`);
    }
    expect(await counter(metrics, 'data')).toBe(1);
    expect(await counter(metrics, 'bars')).toBe(1);
    expect(await stored(5)).toBe(3);
    expect(await nextOffset(5)).toBe('3');
  });

  it('gives ticks ids from the sequence, in row order, and isolates a row the database refuses', async () => {
    const c = await claim(3);
    const batch = ticks(3, 0, 4, c.epoch, (offset, line) =>
      offset === 2 ? line.replace('\tProfitDLL\t', '\tX\t') : line,
    );
    // A price over numeric(18,8) slips past no decoder, but a CHECK can still refuse a row: make one.
    await owner.query(
      `alter table data_capture.market_ticks add constraint sink_test_no_x check (source <> 'X')`,
    );
    try {
      const rejected: unknown[] = [];
      const result = await sink(rejected).write(batch);
      expect(result.rowsByTable.market_ticks).toBe(3);
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as { source: { offset: string } }).source.offset).toBe('2');
    } finally {
      await owner.query(`alter table data_capture.market_ticks drop constraint sink_test_no_x`);
    }
    const { rows } = await db.query<{ id: string; trade_id: string }>(
      `select id::text, trade_id::text from data_capture.market_ticks
        where (extract(epoch from tick_time) * 1e6)::bigint % 1000000 = 3 order by tick_time`,
    );
    expect(rows.map((r) => r.trade_id)).toEqual(['0', '1', '3']);
    const ids = rows.map((r) => BigInt(r.id));
    expect(ids[0] as bigint).toBeLessThan(ids[1] as bigint);
    expect(ids[1] as bigint).toBeLessThan(ids[2] as bigint);
    expect(await nextOffset(3)).toBe('4');
  });
});

describe('claimPartition checks the stored offset against the log', () => {
  it.each([
    ['earliest', 'beyond_end', { low: '0', high: '3' }, '0'],
    ['latest', 'beyond_end', { low: '0', high: '3' }, '3'],
    ['earliest', 'before_start', { low: '70', high: '90' }, '70'],
    ['latest', 'before_start', { low: '70', high: '90' }, '90'],
  ] as const)('%s, stored offset %s → %s', async (policy, reason, marks, start) => {
    const partition = 10 + ['earliest', 'latest'].indexOf(policy) * 2 + (reason === 'beyond_end' ? 0 : 1);
    const c0 = await claim(partition);
    await db.query(
      `update data_capture.ingest_offsets set next_offset = 50 where group_id = $1 and partition = $2`,
      [GROUP, partition],
    );
    const c = await claim(partition, policy, marks);
    expect(c.reset).toMatchObject({ reason, stored: '50' });
    expect(c.nextOffset).toBe(start);
    expect(BigInt(c.epoch)).toBe(BigInt(c0.epoch) + 1n);
    expect(await nextOffset(partition)).toBe(start);
  });

  it('fail: the claim is refused and nothing changes', async () => {
    await claim(20);
    await db.query(
      `update data_capture.ingest_offsets set next_offset = 50 where group_id = $1 and partition = 20`,
      [GROUP],
    );
    await expect(claim(20, 'fail', { low: '0', high: '3' })).rejects.toThrow('OFFSET_OUT_OF_RANGE=fail');
    expect(await nextOffset(20)).toBe('50');
  });

  it('an offset inside the log is kept', async () => {
    await claim(21);
    await db.query(
      `update data_capture.ingest_offsets set next_offset = 2 where group_id = $1 and partition = 21`,
      [GROUP],
    );
    const c = await claim(21, 'earliest', { low: '0', high: '3' });
    expect(c.reset).toBeUndefined();
    expect(c.nextOffset).toBe('2');
  });
});
