import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_CAPTURE_SQL_DIR, migrate } from '../../src/schema/index.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';

/**
 * The writer role (sql/data_capture/015_writer_role.sql) as the worker uses it: a login user that
 * is a member of tick_ingest_writer and nothing else. What the worker does must pass; everything
 * else must be refused with SQLSTATE 42501 (insufficient_privilege). The whole worker flow as this
 * user is test/integration/worker.test.ts.
 */
describe('the tick_ingest_writer role', () => {
  let db: FreshDatabase;
  let owner: pg.Client;
  let writer: pg.Client;

  beforeAll(async () => {
    db = await freshDatabase('privs');
    await migrate(db.url);
    owner = new pg.Client({ connectionString: db.url });
    writer = new pg.Client({ connectionString: db.writerUrl });
    await owner.connect();
    await writer.connect();
  });
  afterAll(async () => {
    await writer?.end();
    await owner?.end();
    await db?.drop();
  });

  /** Runs `sql` as the writer in a transaction that is rolled back; resolves with the rows. */
  async function asWriter(sql: string, params: unknown[] = []): Promise<unknown[]> {
    await writer.query('begin');
    try {
      return (await writer.query(sql, params)).rows;
    } finally {
      await writer.query('rollback');
    }
  }

  it('is a NOLOGIN role, and the test user gets its rights only through it', async () => {
    const { rows } = await owner.query(
      `select r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
              (select array_agg(g.rolname::text) from pg_auth_members m join pg_roles g on g.oid = m.roleid
                where m.member = u.oid) as member_of
         from pg_roles r, pg_roles u
        where r.rolname = 'tick_ingest_writer' and u.rolname = $1`,
      [new URL(db.writerUrl).username],
    );
    expect(rows).toEqual([
      {
        rolcanlogin: false,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        member_of: ['tick_ingest_writer'],
      },
    ]);
  });

  it('does the worker’s job: appends, reads its ticks back, upserts bars and offsets, draws tick ids', async () => {
    const rows = await asWriter(`
      with t as (
        insert into data_capture.market_ticks (id, symbol, exchange, price, volume, tick_time)
        values (nextval('data_capture.market_ticks_id_seq'), 'PETR4', 'B3', 30.5, 100, now()) returning id
      ), b as (
        insert into data_capture.order_book_snapshots (symbol, exchange, bids, asks, best_bid, best_ask, spread,
          total_bid_volume, total_ask_volume, snapshot_time)
        values ('PETR4', 'B3', '[]', '[]', 30, 31, 1, 0, 0, now()) returning 1
      ), c as (
        insert into data_capture.profitdll_callbacks (callback_type, payload, callback_time)
        values ('STATE', '{}', now()) returning 1
      ), o as (
        insert into data_capture.ingest_offsets as x (group_id, topic, partition, next_offset) values ('g', 't', 0, 5)
        on conflict (group_id, topic, partition) do update set epoch = x.epoch + 1 returning next_offset
      ), bar as (
        insert into data_capture.ohlcv_bars as x (symbol, exchange, timeframe, open, high, low, close, volume, bar_time)
        values ('PETR4', 'B3', '1m', 30, 31, 29, 30.5, 100, '2026-11-24 13:00+00')
        on conflict (bar_time, symbol, timeframe) do update set volume = x.volume + excluded.volume returning volume
      )
      select ((select count(*) from t) + (select count(*) from b) + (select count(*) from c)
             + (select count(*) from o) + (select count(*) from bar))::int as written,
             (select count(*) from (select pg_advisory_xact_lock(hashtext('tick-ingest bars'), 1)) l)::int as locked`);
    expect(rows).toEqual([{ written: 5, locked: 1 }]);
    // The second statement of the flush: update the offsets and the bars, read the ticks back.
    await writer.query('begin');
    try {
      await writer.query(
        `insert into data_capture.ingest_offsets (group_id, topic, partition, next_offset) values ('g', 't', 0, 5)`,
      );
      await writer.query(
        `update data_capture.ingest_offsets set next_offset = 9, updated_at = now() where group_id = 'g'`,
      );
      await writer.query(
        `insert into data_capture.market_ticks (symbol, exchange, price, volume, tick_time) values ('VALE3', 'B3', 60, 1, now())`,
      );
      const { rows: own } = await writer.query(
        `select count(*)::int as n from data_capture.market_ticks where xmin = pg_current_xact_id()::xid`,
      );
      expect(own).toEqual([{ n: 1 }]);
    } finally {
      await writer.query('rollback');
    }
  });

  it('keeps the trade numbers: upserts trade_sequences, opens and fills feed_gaps', async () => {
    const rows = await asWriter(`
      with s as (
        insert into data_capture.trade_sequences as x (symbol, trading_day, first_trade, last_trade)
        values ('PETR4', '2026-11-24', 1, 10)
        on conflict (symbol, trading_day) do update set last_trade = greatest(x.last_trade, excluded.last_trade)
        returning 1
      ), g as (
        insert into data_capture.feed_gaps (symbol, trading_day, first_missing, last_missing)
        values ('PETR4', '2026-11-24', 4, 5) returning id
      )
      select (select count(*) from s)::int as sequences, (select count(*) from g)::int as gaps`);
    expect(rows).toEqual([{ sequences: 1, gaps: 1 }]);
    await expect(
      asWriter(`update data_capture.feed_gaps set filled_at = now() where filled_at is null`),
    ).resolves.toEqual([]);
  });

  it('may read schema_migrations, so `tick-ingest migrate` finds everything applied', async () => {
    const rows = await asWriter('select count(*)::int as n from data_capture.schema_migrations');
    expect(rows).toEqual([{ n: expect.any(Number) }]);
    expect((rows[0] as { n: number }).n).toBeGreaterThan(10);
  });

  it.each([
    ['update a tick', `update data_capture.market_ticks set price = 1`],
    ['delete a tick', `delete from data_capture.market_ticks`],
    ['truncate the ticks', `truncate data_capture.market_ticks`],
    ['delete a bar', `delete from data_capture.ohlcv_bars`],
    ['delete an offset', `delete from data_capture.ingest_offsets`],
    ['update a book', `update data_capture.order_book_snapshots set symbol = 'X'`],
    ['delete a callback', `delete from data_capture.profitdll_callbacks`],
    ['forget trade numbers', `delete from data_capture.trade_sequences`],
    ['delete a hole', `delete from data_capture.feed_gaps`],
    ['read the books', `select * from data_capture.order_book_snapshots`],
    ['read the instruments', `select * from data_capture.instruments`],
    [
      'record a migration',
      `insert into data_capture.schema_migrations (version, checksum) values ('999_x.sql', 'x')`,
    ],
    ['rewrite a migration', `update data_capture.schema_migrations set checksum = 'x'`],
    ['forget a migration', `delete from data_capture.schema_migrations`],
    ['create a table', `create table data_capture.mine (x int)`],
    ['create a table in public', `create table public.mine (x int)`],
    ['alter a table', `alter table data_capture.market_ticks add column x int`],
    ['drop chunks', `select drop_chunks('data_capture.market_ticks', older_than => interval '1 day')`],
    ['make itself a member of timescale', `grant timescale to current_user`],
  ])('may not %s', async (_what, sql) => {
    await expect(asWriter(sql)).rejects.toMatchObject({
      message: expect.stringMatching(/permission denied|must be owner|must have admin option/),
    });
  });

  it('gets insert, select and update, never delete, on a table a later migration creates', async () => {
    await owner.query(
      'create table data_capture.later_gaps (id bigint generated always as identity, note text)',
    );
    try {
      const rows = await asWriter(
        `with i as (insert into data_capture.later_gaps (note) values ('a') returning id)
         select count(*)::int as n from i`,
      );
      expect(rows).toEqual([{ n: 1 }]);
      await expect(asWriter(`update data_capture.later_gaps set note = 'b'`)).resolves.toEqual([]);
      await expect(asWriter('delete from data_capture.later_gaps')).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      await owner.query('drop table data_capture.later_gaps');
    }
  });

  it('covers the trade tables also where 016 was applied before 015 existed', async () => {
    const old = await freshDatabase('privs016');
    const dir = await mkdtemp(join(tmpdir(), 'tick-ingest-privs-'));
    try {
      await cp(DATA_CAPTURE_SQL_DIR, dir, { recursive: true });
      await rm(join(dir, '015_writer_role.sql'));
      expect((await migrate(old.url, { dir })).applied).toContain('016_trade_numbers.sql');
      expect((await migrate(old.url)).applied).toEqual(['015_writer_role.sql']);
      const w = new pg.Client({ connectionString: old.writerUrl });
      await w.connect();
      try {
        const { rows } = await w.query(
          `insert into data_capture.feed_gaps (symbol, trading_day, first_missing, last_missing)
           values ('PETR4', '2026-11-24', 1, 2) returning first_missing::int`,
        );
        expect(rows).toEqual([{ first_missing: 1 }]);
        await expect(w.query('delete from data_capture.feed_gaps')).rejects.toMatchObject({ code: '42501' });
      } finally {
        await w.end();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await old.drop();
    }
  });
});
