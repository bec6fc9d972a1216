import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barStep, rebuildBars, TIMEFRAMES } from '../../src/bars/index.js';
import { withClient } from '../../src/db.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { TickColumns } from '../../src/records.js';
import { migrate } from '../../src/schema/index.js';
import { tickLine } from '../../src/transform/copy-format.js';
import { FlushBatch } from '../../src/writers/batch.js';
import { CopySink } from '../../src/writers/copy-sink.js';
import { claimPartition } from '../../src/writers/offset-store.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';

const SP = 'America/Sao_Paulo';

/**
 * The reference: each timeframe recomputed straight from market_ticks, written differently from
 * the builder (array_agg ordered by tick_time, id). Rows: every mismatch between it and ohlcv_bars,
 * including buckets with ticks but no bar and bars without ticks. Every column, vwap included,
 * must be equal: coarse vwaps come from the exact turnover of the 1m bars (docs/bars.md).
 */
const MISMATCHES_SQL = `
with ref as (
  select symbol, time_bucket($1::interval, tick_time, '${SP}') as bar_time,
         (array_agg(price order by tick_time, id))[1] as open, max(price) as high, min(price) as low,
         (array_agg(price order by tick_time desc, id desc))[1] as close,
         round(sum(volume), 2) as volume, count(*)::int as trade_count,
         round(sum(price * volume) / nullif(sum(volume), 0), 8) as vwap
    from data_capture.market_ticks group by 1, 2
), bars as (select * from data_capture.ohlcv_bars where timeframe = $2)
select coalesce(r.symbol, b.symbol) as symbol, coalesce(r.bar_time, b.bar_time) as bar_time,
       row(r.open, r.high, r.low, r.close, r.volume, r.trade_count, r.vwap)::text as expected,
       row(b.open, b.high, b.low, b.close, b.volume, b.trade_count, b.vwap)::text as actual
  from ref r full join bars b on b.symbol = r.symbol and b.bar_time = r.bar_time
 where r.symbol is null or b.symbol is null
    or (r.open, r.high, r.low, r.close, r.volume, r.trade_count) is distinct from
       (b.open, b.high, b.low, b.close, b.volume, b.trade_count)
    or abs(r.vwap - b.vwap) > $3 or (r.vwap is null) <> (b.vwap is null)
 limit 5`;

/**
 * Ticks g in [from, to) of the series starting at `startIso`, one every `stepUs` (`tiesOf` ticks
 * share each tick_time), written the way a flush writes them: in one transaction that then merges
 * its own ticks into the bars (mergeBars), or recomputes them (barStep isolated) when `isolated`.
 */
async function flushTicks(
  db: pg.Pool,
  t: { symbol: string; startIso: string; stepUs: number; tiesOf?: number },
  from: number,
  to: number,
): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('begin');
    await client.query(
      `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time)
       select $1, 'B3', round((20 + 5 * random())::numeric, 8), 1 + floor(random() * 500),
              (array['BUY', 'SELL', 'NEUTRAL'])[1 + floor(random() * 3)::int],
              $2::timestamptz + (floor(g / $6::int) * $5::bigint + 17) * interval '1 microsecond'
         from generate_series($3::int, $4::int - 1) as g`,
      [t.symbol, t.startIso, from, to, t.stepUs, t.tiesOf ?? 1],
    );
    await mergeOwnTicks(client);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}

/** The bar step of a flush for the ticks this transaction wrote, spans per symbol and minute as Batch.spans() gives them. */
async function mergeOwnTicks(
  client: pg.PoolClient,
  which = 'xmin = pg_current_xact_id()::xid',
): Promise<void> {
  const { rows } = await client.query<{
    id: string;
    symbol: string;
    price: string;
    volume: string;
    us: string;
  }>(
    `select id::text, symbol, price::text, volume::text, (extract(epoch from tick_time) * 1e6)::bigint::text as us
       from data_capture.market_ticks where ${which} order by id`,
  );
  const ticks: TickColumns = {
    symbols: rows.map((r) => r.symbol),
    exchanges: rows.map(() => 'B3'),
    prices: rows.map((r) => r.price),
    volumes: rows.map((r) => r.volume),
    timesUs: rows.map((r) => Number(r.us)),
    tradeIds: rows.map(() => null),
  };
  const counts = await barStep(SP, metrics, log)(
    client,
    ticks,
    rows.map((r) => r.id),
  );
  for (const [timeframe, n] of Object.entries(counts)) metrics.barsUpserted.inc({ timeframe }, n);
}

/** `count` ticks in flushes of varying size (1 to ~1900 rows), oldest first, as a live feed arrives. */
async function flushInSlices(
  db: pg.Pool,
  t: { symbol: string; startIso: string; stepUs: number; tiesOf?: number },
  count: number,
): Promise<void> {
  for (let from = 0, k = 0; from < count; k++) {
    const to = Math.min(count, from + 1 + ((k * 733) % 1900));
    await flushTicks(db, t, from, to);
    from = to;
  }
}

async function expectBarsEqualTicks(db: pg.Pool): Promise<void> {
  for (const tf of TIMEFRAMES) {
    const { rows } = await db.query(MISMATCHES_SQL, [tf.interval, tf.name, 0]);
    expect(rows, `timeframe ${tf.name}`).toEqual([]);
  }
}

const barVersions = (db: pg.Pool) =>
  db
    .query(
      `select timeframe, symbol, bar_time, xmin::text as xmin from data_capture.ohlcv_bars order by 1, 2, 3`,
    )
    .then((r) => r.rows);

const metrics = createMetrics();
const log = pino({ level: 'silent' });

describe('bars merged in the flush transaction, on the real stack', () => {
  let fresh: FreshDatabase;
  let db: pg.Pool;

  beforeAll(async () => {
    fresh = await freshDatabase('bars');
    await migrate(fresh.url);
    db = new pg.Pool({ connectionString: fresh.url, max: 4 });
    await db.query('select setseed(0.42)');
  });

  afterAll(async () => {
    await db?.end();
    await fresh?.drop();
  });

  it('builds every timeframe equal to a recomputation from market_ticks, flush by flush', async () => {
    // 34 hours from 2024-03-04 10:00Z (07:00 in São Paulo): three local days, every timeframe.
    await flushInSlices(db, { symbol: 'PETR4', startIso: '2024-03-04T10:00:00Z', stepUs: 20_400_123 }, 6000);
    await flushInSlices(db, { symbol: 'VALE3', startIso: '2024-03-04T10:00:30Z', stepUs: 40_800_777 }, 3000);
    // Three ticks per tick_time, and flush boundaries inside a group of ties: open and close follow ids.
    await flushInSlices(
      db,
      { symbol: 'TIES3', startIso: '2024-03-04T11:00:00Z', stepUs: 31_000_001, tiesOf: 3 },
      6000,
    );
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select timeframe, count(*)::int as n from data_capture.ohlcv_bars group by 1 order by 1`,
    );
    expect(rows.length).toBe(6);
    expect((await metrics.barsUpserted.get()).values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(1000);
    expect(
      (await metrics.barWriteDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
    ).toBeGreaterThan(10);
  });

  it('aligns buckets in São Paulo time: 1d at 03:00Z, 4h at local 00/04/08/...', async () => {
    const { rows } = await db.query(
      `select timeframe, array_agg(distinct to_char(bar_time at time zone 'UTC', 'HH24:MI')) as starts
         from data_capture.ohlcv_bars where timeframe in ('1d', '4h') group by 1 order by 1`,
    );
    expect(rows).toEqual([
      { timeframe: '1d', starts: ['03:00'] },
      { timeframe: '4h', starts: ['03:00', '07:00', '11:00', '15:00', '19:00', '23:00'] },
    ]);
  });

  it('merges late ticks hours old into their old buckets, in one flush with live ones', async () => {
    const client = await db.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time) values
           ('PETR4', 'B3', 99.12345678, 1000, 'BUY', '2024-03-04 12:00:00.000001+00'),
           ('PETR4', 'B3', 0.5, 7, 'SELL', '2024-03-04 13:59:59.999999+00'),
           ('PETR4', 'B3', 21, 3, 'BUY', '2024-03-05 19:59:00+00'),
           ('VALE3', 'B3', 18.25, 3, 'BUY', '2024-03-04 10:00:00.5+00'),
           ('TIES3', 'B3', 77, 5, 'BUY', '2024-03-05 02:59:59.999999+00')`,
      );
      await mergeOwnTicks(client);
      await client.query('commit');
    } finally {
      client.release();
    }
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select high, open from data_capture.ohlcv_bars where symbol = 'VALE3' and timeframe = '1d'
        and bar_time = '2024-03-04 03:00+00'`,
    );
    expect(rows[0]).toEqual({ high: expect.any(String), open: '18.25000000' });
  });

  it('the recompute (`tick-ingest bars`) over merged bars finds nothing to change', async () => {
    const versions = await barVersions(db);
    const counts = await rebuildBars(db, {}, SP);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await barVersions(db)).toEqual(versions);
  });

  it('concurrent flushes of the same symbols on two connections merge without losing a tick', async () => {
    const day = { startIso: '2024-03-06T13:00:00Z', stepUs: 997_001 };
    await Promise.all([
      flushInSlices(db, { symbol: 'PETR4', ...day }, 2500),
      // Half a second apart: no two PETR4 ticks share a tick_time (the mv_tick_stats_1m test needs that).
      flushInSlices(db, { symbol: 'PETR4', startIso: '2024-03-06T13:00:00.5Z', stepUs: 1_003_003 }, 2500),
      flushInSlices(db, { symbol: 'TIES3', ...day, tiesOf: 2 }, 2500),
      flushInSlices(db, { symbol: 'TIES3', ...day, stepUs: 501_007 }, 2500),
    ]);
    await expectBarsEqualTicks(db);
  });

  it('a flush that isolated rejected rows (savepoints) recomputes its buckets instead, equally exact', async () => {
    await flushTicks(db, { symbol: 'ISOL3', startIso: '2024-03-06T14:00:00Z', stepUs: 3_000_001 }, 0, 700);
    const client = await db.connect();
    try {
      await client.query('begin');
      await client.query('savepoint isolate');
      await client.query(
        `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time)
         select 'ISOL3', 'B3', 30 + g, 10, 'BUY', '2024-03-06 14:10:00+00'::timestamptz + g * interval '1 s'
           from generate_series(1, 50) as g`,
      );
      await client.query('release savepoint isolate');
      // Rows written under a savepoint carry a subtransaction's xmin: select them by what they are.
      await mergeOwnTicks(client, `symbol = 'ISOL3' and tick_time >= '2024-03-06 14:10:00+00'`);
      await client.query('commit');
    } finally {
      client.release();
    }
    await expectBarsEqualTicks(db);
  });

  it('a flush whose bars hit a data error stores its ticks and gives the bars up, never wedging', async () => {
    // A constraint the bars of one symbol violate: the merge fails, the sink redoes the batch
    // isolated, and there the bar step gives up under a savepoint instead of failing the flush.
    await db.query(
      `alter table data_capture.ohlcv_bars add constraint test_no_bad_bars check (symbol <> 'BADB3')`,
    );
    try {
      const claim = await withClient(db, (c) =>
        claimPartition(c, {
          groupId: 'bars-test',
          topic: 'ticks',
          partition: 0,
          fetchedFrom: '0',
          owner: 'test',
          watermarks: { low: '0', high: '3' },
          policy: 'earliest',
        }),
      );
      const batch = new FlushBatch(0);
      for (const [k, symbol] of ['BADB3', 'GOOD3', 'BADB3'].entries()) {
        const us = Date.parse('2024-03-07T14:00:00Z') * 1000 + k * 1_000_000;
        const row = {
          symbol,
          exchange: 'B3',
          price: '10.5',
          volume: '100',
          aggressor: 'BUY' as const,
          tickTime: new Date(us / 1000).toISOString(),
          tickTimeUs: us,
          source: 'ProfitDLL',
          tradeId: null,
        };
        batch.addRow('market_ticks', tickLine(row), {
          topic: 'ticks',
          partition: 0,
          offset: String(k),
          key: null,
          value: Buffer.from('{}'),
          timestampMs: 0,
        });
        batch.addTickValues(
          {
            symbols: [symbol],
            exchanges: ['B3'],
            prices: ['10.5'],
            volumes: ['100'],
            timesUs: [us],
            tradeIds: [null],
          },
          0,
        );
      }
      batch.advance('ticks', 0, '0', '2', claim.epoch);
      const errors = async () =>
        (await metrics.flushErrors.get()).values.find((v) => v.labels.kind === 'bars')?.value ?? 0;
      const before = await errors();
      const sink = new CopySink(db, metrics, {
        groupId: 'bars-test',
        deadLetter: async () => undefined,
        bars: barStep(SP, metrics, log),
        deadlineMs: 60_000,
      });
      const result = await sink.write(batch);
      expect(result.rowsByTable.market_ticks).toBe(3);
      expect(result.rejected).toEqual([]);
      expect(await errors()).toBe(before + 1);
      const { rows } = await db.query(
        `select symbol, count(*)::int as n from data_capture.market_ticks
          where tick_time >= '2024-03-07 14:00+00' and tick_time < '2024-03-07 14:01+00' group by 1 order by 1`,
      );
      expect(rows).toEqual([
        { symbol: 'BADB3', n: 2 },
        { symbol: 'GOOD3', n: 1 },
      ]);
      const offsets = await db.query(
        `select next_offset::text from data_capture.ingest_offsets where group_id = 'bars-test'`,
      );
      expect(offsets.rows).toEqual([{ next_offset: '3' }]);
    } finally {
      await db.query(`alter table data_capture.ohlcv_bars drop constraint test_no_bad_bars`);
    }
    // The bars were given up for the whole batch (GOOD3 too): `tick-ingest bars` repairs them.
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

  it('1m bars equal mv_tick_stats_1m wherever tick_time has no ties', async () => {
    const { rows } = await db.query(`
      select b.symbol, b.bar_time from data_capture.ohlcv_bars b
        left join data_capture.mv_tick_stats_1m v on v.symbol = b.symbol and v.bucket_time = b.bar_time
       where b.timeframe = '1m' and b.symbol <> 'TIES3'
         and (v.symbol is null
              or (b.open, b.high, b.low, b.close, b.volume, b.trade_count)
                 is distinct from (v.open_price, v.high_price, v.low_price, v.close_price, v.total_volume, v.tick_count))
       limit 5`);
    expect(rows).toEqual([]);
    const counts = await db.query(`
      select (select count(*) from data_capture.mv_tick_stats_1m)::int as view,
             (select count(*) from data_capture.ohlcv_bars where timeframe = '1m')::int as bars`);
    expect(counts.rows[0].view).toBe(counts.rows[0].bars);
  });
});
