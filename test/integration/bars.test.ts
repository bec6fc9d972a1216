import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barStep, rebuildBars, TIMEFRAMES } from '../../src/bars/index.js';
import { command, RoundTrip, run } from '../../src/db.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { TickIds } from '../../src/records.js';
import { DATA_CAPTURE_SQL_DIR, readSqlFiles } from '../../src/schema/sql-files.js';
import { pickTickIds } from '../../src/tick-id-blocks.js';
import type { TickRow } from '../../src/transform/types.js';
import {
  ARRIVAL_ORDER_SQL,
  COPY_TICKS_SQL,
  columnsOf,
  copyText,
  drawIds,
  MISMATCHES_SQL,
  random,
  type Series,
  SP,
  seriesTicks,
  tick,
} from '../support/bars.js';
import { type MigratedDatabase, migratedDatabase } from '../support/fresh.js';

const metrics = createMetrics();
const log = pino({ level: 'silent' });
const step = barStep(SP, metrics, log);
const rand = random(42);
const us = (iso: string) => Date.parse(iso) * 1000;

/**
 * One flush as the sink runs it: in one transaction, reserve the rows' ids from the sequence,
 * COPY the rows with them, then merge their partial bars (all rows committed here) without reading
 * a tick back: in the last round trip with the commit, or `isolated` as the sink's redo after a
 * data error runs it, under a savepoint. Returns the step's counts.
 */
async function flush(
  db: pg.Pool,
  rows: readonly TickRow[],
  isolated = false,
): Promise<Record<string, number>> {
  const client = await db.connect();
  try {
    await client.query('begin');
    const ids = await reserveIds(client, rows.length);
    await copyTicks(client, rows, ids);
    if (isolated) {
      const counts = await step.isolated(client, columnsOf(rows), ids);
      await client.query('commit');
      return counts;
    }
    const last = new RoundTrip();
    const bars = step.statements(columnsOf(rows), ids);
    if (bars) last.add(bars.lock);
    const counts = bars ? last.add(bars.merge) : undefined;
    last.add(command('commit'));
    await last.send(client);
    return counts?.() ?? {};
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}

async function reserveIds(client: pg.PoolClient, n: number): Promise<TickIds> {
  return run(client, drawIds(n));
}

async function copyTicks(client: pg.PoolClient, rows: readonly TickRow[], ids: TickIds) {
  const stream = client.query(copyFrom(COPY_TICKS_SQL));
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve).on('error', reject);
    stream.end(copyText(rows, ids));
  });
}

/** `count` ticks of the series in flushes of 1 to ~1,900 rows, oldest first, as a live feed arrives. */
async function flushInSlices(db: pg.Pool, s: Series, count: number): Promise<void> {
  for (let from = 0, k = 0; from < count; k++) {
    const to = Math.min(count, from + 1 + ((k * 733) % 1900));
    await flush(db, seriesTicks(s, from, to, rand));
    from = to;
  }
}

async function expectBarsEqualTicks(db: pg.Pool): Promise<void> {
  for (const tf of TIMEFRAMES) {
    const { rows } = await db.query(MISMATCHES_SQL, [tf.interval, tf.name, SP]);
    expect(rows, `timeframe ${tf.name}`).toEqual([]);
  }
}

const barVersions = (db: pg.Pool) =>
  db
    .query(
      `select timeframe, symbol, bar_time, xmin::text as xmin from data_capture.ohlcv_bars order by 1, 2, 3`,
    )
    .then((r) => r.rows);

const barsErrors = async () =>
  (await metrics.flushErrors.get()).values.find((v) => v.labels.kind === 'bars')?.value ?? 0;

describe('bars merged from the flush’s partial bars, on the real stack', () => {
  let t: MigratedDatabase;
  let db: pg.Pool;

  beforeAll(async () => {
    t = await migratedDatabase('bars');
    db = t.owner;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('builds every timeframe equal to a recomputation from market_ticks, flush by flush', async () => {
    // 34 hours from 2024-03-04 10:00Z (07:00 in São Paulo): three local days, every timeframe.
    await flushInSlices(
      db,
      { symbol: 'PETR4', startUs: us('2024-03-04T10:00:00Z'), stepUs: 20_400_123 },
      6000,
    );
    await flushInSlices(
      db,
      { symbol: 'VALE3', startUs: us('2024-03-04T10:00:30Z'), stepUs: 40_800_777 },
      3000,
    );
    // Three ticks per tick_time, and flush boundaries inside a group of ties: open and close follow ids.
    await flushInSlices(
      db,
      { symbol: 'TIES3', startUs: us('2024-03-04T11:00:00Z'), stepUs: 31_000_001, tiesOf: 3 },
      6000,
    );
    // Crypto-like lots of 0.00000001 to 0.09999999 with 8-decimal prices: volume must not drift.
    await flushInSlices(
      db,
      { symbol: 'BTCFR', startUs: us('2024-03-04T10:00:00Z'), stepUs: 7_000_003, fractional: true },
      6000,
    );
    // The night São Paulo's clocks went back (2019-02-17 02:00Z): time_bucket maps both UTC hours of
    // the repeated local hour to one set of 1m buckets, so two UTC minutes' partial bars share a bar.
    await flushInSlices(db, { symbol: 'DST3', startUs: us('2019-02-17T00:30:00Z'), stepUs: 5_000_001 }, 2500);
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select timeframe, count(*)::int as n from data_capture.ohlcv_bars group by 1 order by 1`,
    );
    expect(rows.length).toBe(6);
    const repeated = await db.query(
      `select count(*)::int as n from data_capture.ohlcv_bars where symbol = 'DST3' and timeframe = '1m'
          and close_time - open_time > interval '1 minute'`,
    );
    expect(repeated.rows[0].n).toBeGreaterThan(50);
    expect(
      (await metrics.barWriteDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
    ).toBeGreaterThan(10);
  });

  it('orders ties within a microsecond by trade number, not by arrival, across flush boundaries', async () => {
    // Four (three) ticks per tick_time whose trade numbers run opposite to their arrival, as a replay
    // or a backfill delivers them; flush boundaries fall inside groups of ties. TRDM3: two fifths of
    // its ticks have no trade number, which come after the numbered ones of their microsecond.
    await flushInSlices(
      db,
      {
        symbol: 'TRDS3',
        startUs: us('2024-03-04T11:00:00Z'),
        stepUs: 13_000_003,
        tiesOf: 4,
        trades: 'reversed',
      },
      5000,
    );
    await flushInSlices(
      db,
      { symbol: 'TRDM3', startUs: us('2024-03-04T11:00:00Z'), stepUs: 9_000_007, tiesOf: 3, trades: 'mixed' },
      5000,
    );
    // One microsecond split over three flushes, arrival A..E: A#503, B (none), C#501, D#502, E (none).
    const t = us('2024-03-05T14:00:00Z') + 123_456;
    const at = (price: bigint, trade: string | null) => ({
      ...tick('TRDX3', price * 100_000_000n, 100_000_000n, t),
      tradeId: trade,
    });
    await flush(db, [at(10n, '503')]);
    await flush(db, [at(11n, null), at(12n, '501')]);
    await flush(db, [at(13n, '502'), at(14n, null)]);
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select timeframe, open::text, open_trade_id::text, close::text, close_trade_id::text,
              (select m.price::text from data_capture.market_ticks m where m.id = b.open_tick_id) as open_tick,
              (select m.price::text from data_capture.market_ticks m where m.id = b.close_tick_id) as close_tick
         from data_capture.ohlcv_bars b where symbol = 'TRDX3' and timeframe in ('1m', '1d') order by 1`,
    );
    // Open: C, the lowest trade number; close: E, the last without one (arrival decides among those).
    const bar = {
      open: '12.00000000',
      open_trade_id: '501',
      close: '14.00000000',
      close_trade_id: null,
      // The merge keys name those ticks' rows.
      open_tick: '12.00000000',
      close_tick: '14.00000000',
    };
    expect(rows).toEqual([
      { timeframe: '1d', ...bar },
      { timeframe: '1m', ...bar },
    ]);
    // The order mattered: in most bars of the series, arrival order would pick another open and close.
    const { rows: reordered } = await db.query(
      `select b.symbol, count(*)::int as bars,
              count(*) filter (where b.open_tick_id <> (select min(id) from data_capture.market_ticks m
                                where m.symbol = b.symbol and m.tick_time = b.open_time))::int as open,
              count(*) filter (where b.close_tick_id <> (select max(id) from data_capture.market_ticks m
                                where m.symbol = b.symbol and m.tick_time = b.close_time))::int as close
         from data_capture.ohlcv_bars b where b.symbol in ('TRDS3', 'TRDM3') and b.timeframe = '1m'
        group by 1 order by 1`,
    );
    const [mixed, reversed] = reordered;
    expect(reordered.map((r) => r.symbol)).toEqual(['TRDM3', 'TRDS3']);
    expect(reversed).toEqual({
      symbol: 'TRDS3',
      bars: reversed?.bars,
      open: reversed?.bars,
      close: reversed?.bars,
    });
    expect(reversed?.bars).toBeGreaterThan(200);
    expect(mixed?.open).toBeGreaterThan((mixed?.bars ?? 0) / 5);
    expect(mixed?.close).toBeGreaterThan((mixed?.bars ?? 0) / 5);
  });

  it('aligns buckets in São Paulo time: 1d at 03:00Z, 4h at local 00/04/08/...', async () => {
    const { rows } = await db.query(
      `select timeframe, array_agg(distinct to_char(bar_time at time zone 'UTC', 'HH24:MI')) as starts
         from data_capture.ohlcv_bars where timeframe in ('1d', '4h') and symbol <> 'DST3' group by 1 order by 1`,
    );
    expect(rows).toEqual([
      { timeframe: '1d', starts: ['03:00'] },
      { timeframe: '4h', starts: ['03:00', '07:00', '11:00', '15:00', '19:00', '23:00'] },
    ]);
  });

  it('merges late ticks hours old into their old buckets, in one flush with live ones', async () => {
    const counts = await flush(db, [
      tick('PETR4', 9_912_345_678n, 100_000_000_000n, us('2024-03-04T12:00:00Z') + 1),
      tick('PETR4', 50_000_000n, 700_000_000n, us('2024-03-04T13:59:59Z') + 999_999),
      tick('PETR4', 2_100_000_000n, 300_000_000n, us('2024-03-05T19:59:00Z')),
      tick('VALE3', 1_825_000_000n, 300_000_000n, us('2024-03-04T10:00:00.500Z')),
      tick('TIES3', 7_700_000_000n, 500_000_000n, us('2024-03-05T02:59:59Z') + 999_999),
    ]);
    // Five 1m bars, and per coarse timeframe the distinct buckets they fall in.
    expect(counts['1m']).toBe(5);
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select open from data_capture.ohlcv_bars where symbol = 'VALE3' and timeframe = '1d'
        and bar_time = '2024-03-04 03:00+00'`,
    );
    expect(rows).toEqual([{ open: '18.25000000' }]);
  });

  it('keeps the exact volume: two lots of 0.004 in two flushes make a bar of 0.01, not 0.00', async () => {
    const t0 = us('2024-03-08T14:00:00Z');
    await flush(db, [tick('FRAC3', 5_000_000_000n, 400_000n, t0)]);
    await flush(db, [tick('FRAC3', 5_100_000_000n, 400_000n, t0 + 1_000_000)]);
    const { rows } = await db.query(
      `select timeframe, volume::text, volume_sum::text, vwap::text from data_capture.ohlcv_bars
        where symbol = 'FRAC3' order by bar_time, timeframe`,
    );
    expect(rows).toHaveLength(6);
    for (const r of rows)
      expect(r).toMatchObject({ volume: '0.01', volume_sum: '0.00800000', vwap: '50.50000000' });
    await expectBarsEqualTicks(db);
  });

  it('the recompute (`tick-ingest bars`) over merged bars finds nothing to change', async () => {
    const versions = await barVersions(db);
    const counts = await rebuildBars(db, {}, SP);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await barVersions(db)).toEqual(versions);
  });

  it('concurrent flushes of the same symbols on two connections merge without losing a tick', async () => {
    const startUs = us('2024-03-06T13:00:00Z');
    await Promise.all([
      flushInSlices(db, { symbol: 'PETR4', startUs, stepUs: 997_001 }, 2500),
      // Half a second apart: no two PETR4 ticks share a tick_time (the mv_tick_stats_1m test needs that).
      flushInSlices(db, { symbol: 'PETR4', startUs: startUs + 500_000, stepUs: 1_003_003 }, 2500),
      flushInSlices(db, { symbol: 'TIES3', startUs, stepUs: 997_001, tiesOf: 2 }, 2500),
      flushInSlices(db, { symbol: 'TIES3', startUs, stepUs: 501_007, fractional: true }, 2500),
    ]);
    await expectBarsEqualTicks(db);
  });

  it('a flush whose rows the database partly rejected merges only the rows it committed', async () => {
    // As the sink isolates rejected rows: each part under a savepoint, the refused one rolled back
    // (its reserved id stays unused), the bar step given the committed rows only.
    const t0 = us('2024-03-06T14:10:00Z');
    const rows = Array.from({ length: 30 }, (_, g) =>
      tick('ISOL3', BigInt(30 + g) * 100_000_000n, 1_000_000_000n, t0 + g * 1_000_000),
    );
    const refused = 17;
    await db.query(
      `alter table data_capture.market_ticks add constraint test_refuse check (not (symbol = 'ISOL3' and price = 47))`,
    );
    const client = await db.connect();
    try {
      await client.query('begin');
      const ids = await reserveIds(client, rows.length);
      const committed: number[] = [];
      for (const part of [
        [0, refused],
        [refused, refused + 1],
        [refused + 1, rows.length],
      ] as const) {
        await client.query('savepoint isolate');
        try {
          const slice = Array.from({ length: part[1] - part[0] }, (_, k) => part[0] + k);
          await copyTicks(client, rows.slice(...part), pickTickIds(ids, slice));
          await client.query('release savepoint isolate');
          for (let i = part[0]; i < part[1]; i++) committed.push(i);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('23514');
          await client.query('rollback to savepoint isolate');
        }
      }
      expect(committed).toHaveLength(rows.length - 1);
      await step.isolated(
        client,
        columnsOf(committed.map((i) => rows[i] as TickRow)),
        pickTickIds(ids, committed),
      );
      await client.query('commit');
    } finally {
      client.release();
      await db.query('alter table data_capture.market_ticks drop constraint test_refuse');
    }
    await expectBarsEqualTicks(db);
  });

  it('a flush whose bars hit a data error stores its ticks and gives the bars up, never wedging', async () => {
    // A constraint the bars of one symbol violate: the flush fails, and its redo's bar step rolls
    // back to its savepoint, counts and logs it, and the ticks commit.
    await db.query(
      `alter table data_capture.ohlcv_bars add constraint test_no_bad_bars check (symbol <> 'BADB3')`,
    );
    const before = await barsErrors();
    try {
      const t0 = us('2024-03-07T14:00:00Z');
      const rows = [
        tick('BADB3', 1_050_000_000n, 10_000_000_000n, t0),
        tick('GOOD3', 1_050_000_000n, 10_000_000_000n, t0 + 1_000_000),
        tick('BADB3', 1_050_000_000n, 10_000_000_000n, t0 + 2_000_000),
      ];
      // In the flush's last round trip the error fails the transaction: nothing is stored...
      await expect(flush(db, rows)).rejects.toMatchObject({ code: '23514' });
      // ...and the sink's redo runs the step isolated.
      const counts = await flush(db, rows, true);
      expect(counts).toEqual({});
      expect(await barsErrors()).toBe(before + 1);
      const stored = await db.query(
        `select symbol, count(*)::int as n from data_capture.market_ticks
          where tick_time >= '2024-03-07 14:00+00' and tick_time < '2024-03-07 14:01+00' group by 1 order by 1`,
      );
      expect(stored.rows).toEqual([
        { symbol: 'BADB3', n: 2 },
        { symbol: 'GOOD3', n: 1 },
      ]);
      await expect(expectBarsEqualTicks(db)).rejects.toThrow(/timeframe 1m/);
    } finally {
      await db.query(`alter table data_capture.ohlcv_bars drop constraint test_no_bad_bars`);
    }
    // The bars were given up for the whole flush (GOOD3 too): `tick-ingest bars` repairs them.
    await rebuildBars(db, { symbol: 'GOOD3' }, SP);
    await rebuildBars(db, { symbol: 'BADB3' }, SP);
    await expectBarsEqualTicks(db);
  });

  it('`tick-ingest bars` rebuilds a deleted range from the ticks', async () => {
    await db.query(`delete from data_capture.ohlcv_bars where symbol = 'PETR4'`);
    await db.query(`update data_capture.ohlcv_bars set high = 1000 where symbol = 'VALE3'`);
    await expect(expectBarsEqualTicks(db)).rejects.toThrow(/timeframe 1m/);
    await rebuildBars(db, { from: '2024-03-04T00:00:00Z', symbol: 'PETR4' }, SP);
    await rebuildBars(db, { symbol: 'VALE3' }, SP);
    await expectBarsEqualTicks(db);
  });

  it('migration 014 fills volume_sum from the ticks where they all remain, else from volume', async () => {
    const file = (await readSqlFiles(DATA_CAPTURE_SQL_DIR)).find(
      (f) => f.version === '014_ohlcv_volume_sum.sql',
    );
    expect(file).toBeDefined();
    await db.query(
      'create table public.before_014 as select timeframe, symbol, bar_time, volume_sum from data_capture.ohlcv_bars',
    );
    try {
      // Bars as they were before 014 (no volume_sum), and one BTCFR tick since dropped by "retention".
      await db.query('update data_capture.ohlcv_bars set volume_sum = null');
      const lost = await db.query(
        `delete from data_capture.market_ticks where id = (select min(id) from data_capture.market_ticks
          where symbol = 'BTCFR' and tick_time >= '2024-03-04 12:00+00') returning tick_time`,
      );
      await db.query(file?.sql ?? '');
      const { rows } = await db.query(
        `select count(*)::int as bars,
                count(*) filter (where holds_lost)::int as holding_lost,
                count(*) filter (where holds_lost and b.volume_sum::text = b.volume::text)::int as from_volume,
                count(*) filter (where not holds_lost and b.volume_sum::text = o.volume_sum::text)::int as exact
           from data_capture.ohlcv_bars b
           join public.before_014 o using (timeframe, symbol, bar_time)
           join unnest($2::text[], $3::interval[]) as tf(name, width) on tf.name = b.timeframe
          cross join lateral (
                select b.symbol = 'BTCFR' and time_bucket(tf.width, $1::timestamptz, '${SP}') = b.bar_time as holds_lost) h`,
        [lost.rows[0].tick_time, TIMEFRAMES.map((t) => t.name), TIMEFRAMES.map((t) => t.interval)],
      );
      const [r] = rows;
      expect(r.bars).toBeGreaterThan(1000);
      expect(r).toEqual({ bars: r.bars, holding_lost: 6, from_volume: 6, exact: r.bars - 6 });
    } finally {
      await db.query('drop table public.before_014');
    }
    await rebuildBars(db, { symbol: 'BTCFR' }, SP);
    await expectBarsEqualTicks(db);
  });

  it('migration 017 re-derives open and close in trade order, every timeframe, and is idempotent', async () => {
    const file = (await readSqlFiles(DATA_CAPTURE_SQL_DIR)).find(
      (f) => f.version === '017_ohlcv_trade_order.sql',
    );
    expect(file).toBeDefined();
    await db.query(`create table public.before_017 as select * from data_capture.ohlcv_bars`);
    try {
      await db.query(ARRIVAL_ORDER_SQL);
      await expect(expectBarsEqualTicks(db)).rejects.toThrow(/timeframe 1m/);
      // Ties with trade numbers open or close bars of every timeframe: each has bars to re-derive.
      const { rows: off } = await db.query(
        `select timeframe, count(*)::int as n from data_capture.ohlcv_bars b join public.before_017 o using (timeframe, symbol, bar_time)
          where row(b.*)::text <> row(o.*)::text group by 1`,
      );
      expect(off.map((r) => r.timeframe).sort()).toEqual(TIMEFRAMES.map((t) => t.name).sort());
      await db.query(file?.sql ?? '');
      await expectBarsEqualTicks(db);
      const { rows } = await db.query(
        `select count(*)::int as n from data_capture.ohlcv_bars b full join public.before_017 o using (timeframe, symbol, bar_time)
          where row(b.*)::text is distinct from row(o.*)::text`,
      );
      expect(rows).toEqual([{ n: 0 }]);
      // Run again (psql's data-capture.sql runs every file again): it writes nothing.
      const versions = await barVersions(db);
      await db.query(file?.sql ?? '');
      expect(await barVersions(db)).toEqual(versions);
    } finally {
      await db.query('drop table public.before_017');
    }
  });

  it('1m bars equal mv_tick_stats_1m wherever tick_time has no ties and no clock went back', async () => {
    const TIED = `('TIES3', 'DST3', 'TRDS3', 'TRDM3', 'TRDX3')`;
    const { rows } = await db.query(`
      select b.symbol, b.bar_time from data_capture.ohlcv_bars b
        left join data_capture.mv_tick_stats_1m v on v.symbol = b.symbol and v.bucket_time = b.bar_time
       where b.timeframe = '1m' and b.symbol not in ${TIED}
         and (v.symbol is null
              or (b.open, b.high, b.low, b.close, b.volume_sum, b.trade_count)
                 is distinct from (v.open_price, v.high_price, v.low_price, v.close_price, v.total_volume, v.tick_count))
       limit 5`);
    expect(rows).toEqual([]);
    const counts = await db.query(`
      select (select count(*) from data_capture.mv_tick_stats_1m where symbol not in ${TIED})::int as view,
             (select count(*) from data_capture.ohlcv_bars where timeframe = '1m' and symbol not in ${TIED})::int as bars`);
    expect(counts.rows[0].view).toBe(counts.rows[0].bars);
  });
});
