import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_CAPTURE_SQL_DIR, ORDER_MANAGER_SQL_DIR } from '../../src/schema/sql-files.js';
import { stack } from '../support/stack.js';

// The deploy files exactly as the user runs them, on the stack's Apache-edition server.
// They hard-code their database names, so this file owns APPS-DATA-CAPTURE and
// APPS-ORDER-MANAGER on the shared server: dropped at start (a previous run may have left
// them) and at the end.
const run = promisify(execFile);
const SQL = fileURLToPath(new URL('../../sql/', import.meta.url));
const DATABASES = ['APPS-DATA-CAPTURE', 'APPS-ORDER-MANAGER'];

const urlOf = (db: string) => {
  const url = new URL(stack().databaseUrl);
  url.pathname = `/${encodeURIComponent(db)}`;
  return url.toString();
};

async function dropDeployedDatabases() {
  const admin = new pg.Client({ connectionString: urlOf('postgres') });
  await admin.connect();
  try {
    for (const db of DATABASES) await admin.query(`drop database if exists "${db}" with (force)`);
  } finally {
    await admin.end();
  }
}

const psqlFile = (file: string) =>
  run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-d', urlOf('postgres'), '-f', `${SQL}${file}`]);

async function withClient<T>(db: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf(db) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Every object of the two schemas with its oid: a re-run that recreated anything would change it. */
async function fingerprint(c: pg.Client): Promise<string[]> {
  const { rows } = await c.query<{ o: string }>(
    `select format('class %s.%s %s %s', n.nspname, c.relname, c.relkind, c.oid) as o
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('data_capture', 'order_manager', '_timescaledb_internal')
     union all
     select format('trigger %s %s %s', t.tgrelid::regclass, t.tgname, t.oid) from pg_trigger t
      where not t.tgisinternal
     union all
     select format('proc %s %s %s', p.oid::regprocedure, p.oid, md5(p.prosrc)) from pg_proc p
      where p.pronamespace::regnamespace::text in ('data_capture', 'order_manager')
     union all
     select format('grant %s %s', c.oid::regclass, c.relacl) from pg_class c
      where c.relnamespace::regnamespace::text in ('data_capture', 'order_manager')
     union all
     select format('hypertable %s.%s %s', hypertable_schema, hypertable_name, num_chunks)
       from timescaledb_information.hypertables
     order by 1`,
  );
  return rows.map((r) => r.o);
}

describe('sql/data-capture.sql and sql/order-manager.sql with psql', () => {
  const stderr: Record<string, string[]> = { 'data-capture.sql': [], 'order-manager.sql': [] };

  const fingerprints: Record<string, string[][]> = { 'data-capture.sql': [], 'order-manager.sql': [] };

  beforeAll(async () => {
    await dropDeployedDatabases();
    for (const [file, db] of [
      ['data-capture.sql', 'APPS-DATA-CAPTURE'],
      ['order-manager.sql', 'APPS-ORDER-MANAGER'],
    ] as const) {
      for (let i = 0; i < 2; i++) {
        stderr[file]?.push((await psqlFile(file)).stderr);
        fingerprints[file]?.push(await withClient(db, fingerprint));
      }
    }
  });
  afterAll(dropDeployedDatabases);

  it('include every object file of their folder, in order', async () => {
    for (const [wrapper, dir, folder] of [
      ['data-capture.sql', DATA_CAPTURE_SQL_DIR, 'data_capture'],
      ['order-manager.sql', ORDER_MANAGER_SQL_DIR, 'order_manager'],
    ] as const) {
      const text = await readFile(`${SQL}${wrapper}`, 'utf8');
      const included = [...text.matchAll(/^\\ir (\S+)$/gm)].map((m) => m[1]);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
      expect(included).toEqual(files.map((f) => `${folder}/${f}`));
    }
  });

  it('keep psql meta-commands out of the object files, and varchar out of the schema', async () => {
    for (const dir of [DATA_CAPTURE_SQL_DIR, ORDER_MANAGER_SQL_DIR]) {
      for (const f of (await readdir(dir)).filter((n) => n.endsWith('.sql'))) {
        const sql = await readFile(`${dir}/${f}`, 'utf8');
        expect(sql, f).not.toMatch(/^\s*\\/m);
        expect(sql, f).not.toMatch(/\bvarchar\b|character varying/i);
      }
    }
  });

  it('run twice in a row, the second time changing nothing', () => {
    for (const file of Object.keys(fingerprints)) {
      const [first, second] = fingerprints[file] ?? [];
      expect(first?.length, file).toBeGreaterThan(40);
      expect(second, file).toEqual(first);
    }
    expect(stderr['data-capture.sql']?.[1]).toMatch(/already exists, skipping/);
  });

  it('give the eight hypertables the seed chunk intervals', async () => {
    const intervals = async (db: string) =>
      withClient(db, async (c) => {
        const { rows } = await c.query(
          `select hypertable_schema || '.' || hypertable_name as t, time_interval::text as i
             from timescaledb_information.dimensions order by 1`,
        );
        return Object.fromEntries(rows.map((r) => [r.t, r.i]));
      });
    expect({ ...(await intervals('APPS-DATA-CAPTURE')), ...(await intervals('APPS-ORDER-MANAGER')) }).toEqual(
      {
        'data_capture.market_ticks': '00:05:00',
        'data_capture.order_book_snapshots': '00:15:00',
        'data_capture.profitdll_callbacks': '01:00:00',
        'data_capture.ohlcv_bars': '1 day',
        'order_manager.orders': '1 day',
        'order_manager.trades': '01:00:00',
        'order_manager.position_history': '1 day',
        'order_manager.order_audit_log': '1 day',
      },
    );
  });

  it('on the Apache edition say what they left out, and create the plain view instead', async () => {
    const notice = stderr['data-capture.sql']?.[0] ?? '';
    expect(notice).toMatch(/NOTICE: +timescaledb\.license is apache: left out compression/);
    expect(notice).toMatch(/continuous aggregate mv_tick_stats_1m/);
    expect(notice).toMatch(/tick-ingest retention/);
    await withClient('APPS-DATA-CAPTURE', async (c) => {
      const { rows: kind } = await c.query(
        `select relkind from pg_class where oid = 'data_capture.mv_tick_stats_1m'::regclass`,
      );
      expect(kind).toEqual([{ relkind: 'v' }]);
      await c.query('begin');
      await c.query(
        `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time) values
           ('PETR4', 'B3', 30.10, 100, 'BUY',  '2026-11-24 13:00:01.123456+00'),
           ('PETR4', 'B3', 30.30, 200, 'SELL', '2026-11-24 13:00:30+00'),
           ('PETR4', 'B3', 30.20, 50,  'BUY',  '2026-11-24 13:00:59+00')`,
      );
      const { rows } = await c.query(
        `select bucket_time::text, symbol, tick_count::int, open_price::text, high_price::text, low_price::text,
                close_price::text, total_volume::text, buy_volume::text, sell_volume::text
           from data_capture.mv_tick_stats_1m`,
      );
      await c.query('rollback');
      expect(rows).toEqual([
        {
          bucket_time: '2026-11-24 13:00:00+00',
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
  });

  describe('orders', () => {
    const insertOrder = (ref: string, createdAt: string) =>
      `insert into order_manager.orders (order_ref, symbol, exchange, asset_class, side, order_type, quantity, price,
         strategy_id, account_id, position_type, created_by, reason, created_at)
       values ('${ref}', 'PETR4', 'B3', 'stock', 'BUY', 'LIMIT', 100, 30.50, gen_random_uuid(), gen_random_uuid(),
         'DAY_TRADE', 'alice', 'test', '${createdAt}') returning id`;

    it('audit an insert and a status change: two rows, allowed actions, the filled delta', async () => {
      await withClient('APPS-ORDER-MANAGER', async (c) => {
        const { rows } = await c.query(insertOrder('AUDIT-1', '2026-11-20 14:00:00+00'));
        const id = rows[0]?.id as string;
        await c.query('begin');
        await c.query(`set local order_manager.changed_by = 'bob'`);
        await c.query(
          `update order_manager.orders set status = 'FILLED', filled_quantity = 100, avg_fill_price = 30.5 where id = $1`,
          [id],
        );
        await c.query('commit');
        const { rows: audit } = await c.query(
          `select action, old_status, new_status, changed_by, changes from order_manager.order_audit_log
            where order_id = $1 order by changed_at`,
          [id],
        );
        expect(audit).toEqual([
          { action: 'CREATED', old_status: null, new_status: 'PENDING', changed_by: 'alice', changes: null },
          {
            action: 'FILLED',
            old_status: 'PENDING',
            new_status: 'FILLED',
            changed_by: 'bob',
            changes: {
              filled_quantity: { old: 0, new: 100 },
              avg_fill_price: { old: null, new: 30.5 },
            },
          },
        ]);
        // A status with no action of its own is recorded as MODIFIED, never a forbidden value.
        await c.query(`update order_manager.orders set status = 'EXPIRED' where id = $1`, [id]);
        const { rows: last } = await c.query(
          `select action, new_status, changed_by from order_manager.order_audit_log
            where order_id = $1 order by changed_at desc limit 1`,
          [id],
        );
        expect(last).toEqual([{ action: 'MODIFIED', new_status: 'EXPIRED', changed_by: 'postgres' }]);
      });
    });

    it('reject a second order with the same order_ref on another day', async () => {
      await withClient('APPS-ORDER-MANAGER', async (c) => {
        await c.query(insertOrder('DUP-1', '2026-11-01 14:00:00+00'));
        await expect(c.query(insertOrder('DUP-1', '2026-11-15 14:00:00+00'))).rejects.toMatchObject({
          code: '23505',
          message: expect.stringMatching(/duplicate order_ref: "DUP-1"/),
        });
        const { rows } = await c.query(
          `select count(*)::int as n from order_manager.orders where order_ref = 'DUP-1'`,
        );
        expect(rows).toEqual([{ n: 1 }]);
      });
    });

    it('free an order_ref when its order is deleted, and keep trade_ref unique the same way', async () => {
      await withClient('APPS-ORDER-MANAGER', async (c) => {
        await c.query(insertOrder('REUSE-1', '2026-11-02 14:00:00+00'));
        await c.query(`delete from order_manager.orders where order_ref = 'REUSE-1'`);
        await c.query(insertOrder('REUSE-1', '2026-11-03 14:00:00+00'));
        const trade = (at: string) =>
          c.query(
            `insert into order_manager.trades (trade_ref, order_id, symbol, exchange, side, quantity, price,
               total_value, executed_at, broker_account)
             values ('T-1', gen_random_uuid(), 'PETR4', 'B3', 'BUY', 100, 30.5, 3050, '${at}', 'ACC-1')`,
          );
        await trade('2026-11-03 14:00:00+00');
        await expect(trade('2026-11-04 15:00:00+00')).rejects.toMatchObject({ code: '23505' });
      });
    });
  });

  it('let the timescale role do the worker’s writes without a superuser', async () => {
    await withClient('APPS-DATA-CAPTURE', async (c) => {
      await c.query('begin');
      await c.query('set local role timescale');
      await c.query(
        `insert into data_capture.market_ticks (symbol, exchange, price, volume, tick_time)
         values ('VALE3', 'B3', 60, 100, now())`,
      );
      for (let i = 0; i < 2; i++) {
        await c.query(
          `insert into data_capture.ingest_offsets (group_id, topic, partition, next_offset) values ('g', 't', 0, $1)
           on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset`,
          [i],
        );
        await c.query(
          `insert into data_capture.ohlcv_bars (symbol, exchange, timeframe, open, high, low, close, volume, bar_time)
           values ('VALE3', 'B3', '1m', 60, 61, 59, 60.5, $1, '2026-11-24 13:00+00')
           on conflict (bar_time, symbol, timeframe) do update set volume = excluded.volume`,
          [100 + i],
        );
      }
      const { rows } = await c.query(
        `select (select next_offset::int from data_capture.ingest_offsets) as o,
                (select volume::text from data_capture.ohlcv_bars) as v`,
      );
      await c.query('rollback');
      expect(rows).toEqual([{ o: 1, v: '101.00' }]);
    });
  });

  it('pass the validation queries (TimescaleDB 2.x column names)', async () => {
    for (const f of ['01_hypertables.sql', '02_indexes.sql', '03_compression.sql', '04_policies.sql']) {
      for (const db of DATABASES) {
        const { stdout } = await run('psql', [
          '-X',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          urlOf(db),
          '-f',
          `${SQL}validation/${f}`,
        ]);
        expect(stdout, `${f} on ${db}`).toMatch(/\(\d+ rows?\)/);
      }
    }
  });
});
