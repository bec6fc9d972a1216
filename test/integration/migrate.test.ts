import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/schema/migrate.js';
import { MigrationError } from '../../src/schema/plan.js';
import { runRetention } from '../../src/schema/retention.js';
import { DATA_CAPTURE_SQL_DIR } from '../../src/schema/sql-files.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';

const FILES = (await readdir(DATA_CAPTURE_SQL_DIR)).filter((f) => f.endsWith('.sql')).sort();

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('migrate()', () => {
  const dbs: FreshDatabase[] = [];
  const fresh = async () => {
    const db = await freshDatabase('migrate');
    dbs.push(db);
    return db;
  };
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tick-ingest-migrate-'));
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.drop()));
    await rm(tmp, { recursive: true, force: true });
  });

  it('applies every file once, says what the Apache edition left out, and is a no-op the second time', async () => {
    const db = await fresh();
    const notices: string[] = [];
    const first = await migrate(db.url, { onNotice: (m) => notices.push(m) });
    expect(first).toEqual({ applied: FILES, skipped: [] });
    expect(notices.join('\n')).toMatch(/timescaledb\.license is apache: left out compression/);

    const recorded = await query<{ version: string; checksum: string }>(
      db.url,
      'select version, checksum from data_capture.schema_migrations order by version',
    );
    expect(recorded.map((r) => r.version)).toEqual(FILES);
    expect(recorded.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);

    const second = await migrate(db.url);
    expect(second).toEqual({ applied: [], skipped: FILES });
  });

  it('serialises two replicas that start at once', async () => {
    const db = await fresh();
    const results = await Promise.all([migrate(db.url), migrate(db.url)]);
    // One applied everything; the other waited on the advisory lock, then found it done.
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, FILES.length]);
    expect(results.map((r) => r.skipped.length).sort()).toEqual([0, FILES.length]);
    const [{ n }] = (await query<{ n: number }>(
      db.url,
      'select count(*)::int as n from data_capture.schema_migrations',
    )) as [{ n: number }];
    expect(n).toBe(FILES.length);
  });

  it('refuses to run when an applied file changed, naming the file', async () => {
    const db = await fresh();
    const dir = join(tmp, `changed-${randomBytes(3).toString('hex')}`);
    await cp(DATA_CAPTURE_SQL_DIR, dir, { recursive: true });
    await migrate(db.url, { dir });
    await appendFile(join(dir, '002_instruments.sql'), '\n-- an edit after it was applied\n');
    const attempt = migrate(db.url, { dir });
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(/migration 002_instruments\.sql was applied with checksum/);
  });

  it('rolls back a failing file whole, records nothing for it, and names it', async () => {
    const db = await fresh();
    const dir = join(tmp, `failing-${randomBytes(3).toString('hex')}`);
    await cp(DATA_CAPTURE_SQL_DIR, dir, { recursive: true });
    await migrate(db.url, { dir });
    await writeFile(
      join(dir, '999_broken.sql'),
      'create table data_capture.half_done (x int);\nselect no_such_function();\n',
    );
    await expect(migrate(db.url, { dir })).rejects.toThrow(
      /migration 999_broken\.sql failed: .*no_such_function/,
    );
    const rows = await query(
      db.url,
      `select to_regclass('data_capture.half_done') as t,
              exists (select from data_capture.schema_migrations where version = '999_broken.sql') as recorded`,
    );
    expect(rows).toEqual([{ t: null, recorded: false }]);
  });

  it('runs with only the timescale role’s grants once the schema is up to date', async () => {
    const db = await fresh();
    await migrate(db.url);
    const role = `worker_${randomBytes(4).toString('hex')}`;
    await query(db.url, `create role ${role} login in role timescale`);
    try {
      const url = new URL(db.url);
      url.username = role;
      expect(await migrate(url.toString())).toEqual({ applied: [], skipped: FILES });
      const rows = await query(
        url.toString(),
        `insert into data_capture.market_ticks (symbol, exchange, price, volume, tick_time)
         values ('PETR4', 'B3', 30.5, 100, now()) returning symbol`,
      );
      expect(rows).toEqual([{ symbol: 'PETR4' }]);
    } finally {
      await db.drop();
      await query(db.url.replace(/\/[^/]+$/, '/postgres'), `drop role ${role}`);
    }
  });
});

describe('migrate() as the writer user', () => {
  it('finds everything applied, and cannot apply a new file: no DDL, nothing recorded', async () => {
    const db = await freshDatabase('migwriter');
    try {
      await migrate(db.url);
      expect(await migrate(db.writerUrl)).toEqual({ applied: [], skipped: FILES });
      const dir = await mkdtemp(join(tmpdir(), 'tick-ingest-migrate-writer-'));
      try {
        await cp(DATA_CAPTURE_SQL_DIR, dir, { recursive: true });
        await writeFile(join(dir, '999_more.sql'), 'create table data_capture.more (x int);\n');
        await expect(migrate(db.writerUrl, { dir })).rejects.toThrow(
          /migration 999_more\.sql failed: permission denied for schema data_capture/,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const rows = await query(db.url, `select to_regclass('data_capture.more') as t`);
      expect(rows).toEqual([{ t: null }]);
    } finally {
      await db.drop();
    }
  });
});

describe('runRetention()', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase('retention');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('drops the chunks older than each window and keeps the rest', async () => {
    await migrate(db.url);
    await query(
      db.url,
      `insert into data_capture.market_ticks (symbol, exchange, price, volume, tick_time) values
         ('PETR4', 'B3', 30, 1, now() - interval '31 days'),
         ('PETR4', 'B3', 30, 1, now() - interval '29 days'),
         ('PETR4', 'B3', 30, 1, now());
       insert into data_capture.profitdll_callbacks (callback_type, payload, callback_time) values
         ('TRADE', '{}', now() - interval '4 days'),
         ('TRADE', '{}', now() - interval '1 hour')`,
    );
    const results = await runRetention(db.url);
    expect(results.map((r) => [r.hypertable, r.dropAfter, r.droppedChunks.length])).toEqual([
      ['data_capture.market_ticks', '30 days', 1],
      ['data_capture.order_book_snapshots', '7 days', 0],
      ['data_capture.profitdll_callbacks', '3 days', 1],
      ['data_capture.ohlcv_bars', '2 years', 0],
    ]);
    const left = await query(
      db.url,
      `select (select count(*)::int from data_capture.market_ticks) as ticks,
              (select count(*)::int from data_capture.profitdll_callbacks) as callbacks`,
    );
    expect(left).toEqual([{ ticks: 2, callbacks: 1 }]);
    expect((await runRetention(db.url)).flatMap((r) => r.droppedChunks)).toEqual([]);
  });
});
