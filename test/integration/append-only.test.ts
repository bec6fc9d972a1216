import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/schema/index.js';
import { ORDER_MANAGER_SQL_DIR } from '../../src/schema/sql-files.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';

/**
 * sql/order_manager/010_append_only.sql: the audit log refuses UPDATE, DELETE and TRUNCATE for
 * every role, the owner (here the superuser) included, while the orders trigger keeps appending
 * to it; the ref registries change only with their orders and trades.
 */
describe('order_manager append-only tables', () => {
  let db: FreshDatabase;
  let c: pg.Client;

  beforeAll(async () => {
    db = await freshDatabase('appendonly');
    await migrate(db.url, { dir: ORDER_MANAGER_SQL_DIR, table: 'order_manager.schema_migrations' });
    c = new pg.Client({ connectionString: db.url });
    await c.connect();
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  const insertOrder = (ref: string) =>
    c.query<{ id: string }>(
      `insert into order_manager.orders (order_ref, symbol, exchange, asset_class, side, order_type, quantity, price,
         strategy_id, account_id, position_type, created_by)
       values ($1, 'PETR4', 'B3', 'stock', 'BUY', 'LIMIT', 100, 30.5, gen_random_uuid(), gen_random_uuid(),
         'DAY_TRADE', 'alice') returning id`,
      [ref],
    );
  const insertTrade = (ref: string) =>
    c.query(
      `insert into order_manager.trades (trade_ref, order_id, symbol, exchange, side, quantity, price,
         total_value, executed_at, broker_account)
       values ($1, gen_random_uuid(), 'PETR4', 'B3', 'BUY', 100, 30.5, 3050, now(), 'ACC-1')`,
      [ref],
    );
  const auditRows = async () =>
    (await c.query<{ n: number }>('select count(*)::int as n from order_manager.order_audit_log')).rows[0]?.n;

  /** Runs `fn` in a transaction, as the application role when `role` is given, and rolls it back. */
  async function inTransaction<T>(fn: () => Promise<T>, role?: string): Promise<T> {
    await c.query('begin');
    try {
      if (role) await c.query(`set local role ${role}`);
      return await fn();
    } finally {
      await c.query('rollback');
    }
  }

  it('the audit log refuses UPDATE, DELETE and TRUNCATE, even for the owner', async () => {
    const { rows } = await insertOrder('AUDIT-1');
    await c.query(`update order_manager.orders set status = 'SUBMITTED' where id = $1`, [rows[0]?.id]);
    const before = await auditRows();
    expect(before).toBe(2);
    const { rows: who } = await c.query<{ owner: boolean }>(
      `select pg_has_role(current_user, tableowner, 'usage') as owner
         from pg_tables where schemaname = 'order_manager' and tablename = 'order_audit_log'`,
    );
    expect(who).toEqual([{ owner: true }]);
    for (const sql of [
      `update order_manager.order_audit_log set reason = 'rewritten'`,
      `delete from order_manager.order_audit_log`,
      'truncate order_manager.order_audit_log',
    ]) {
      await expect(
        inTransaction(() => c.query(sql)),
        sql,
      ).rejects.toMatchObject({
        code: '42501',
        message: expect.stringMatching(
          /order_manager\.order_audit_log is append-only: (UPDATE|DELETE|TRUNCATE) refused/,
        ),
      });
    }
    expect(await auditRows()).toBe(before);
  });

  it('the application role still appends through the orders trigger, and may not rewrite the log', async () => {
    const before = await auditRows();
    const written = await inTransaction(async () => {
      const { rows } = await insertOrder('APP-1');
      await c.query(`update order_manager.orders set status = 'CANCELED' where id = $1`, [rows[0]?.id]);
      const { rows: audit } = await c.query(
        `select action from order_manager.order_audit_log where order_id = $1 order by changed_at`,
        [rows[0]?.id],
      );
      return audit;
    }, 'timescale');
    expect(written).toEqual([{ action: 'CREATED' }, { action: 'CANCELED' }]);
    for (const sql of [
      `update order_manager.order_audit_log set reason = 'x'`,
      `delete from order_manager.order_audit_log`,
    ]) {
      await expect(
        inTransaction(() => c.query(sql), 'timescale'),
        sql,
      ).rejects.toMatchObject({ code: '42501' });
    }
    expect(await auditRows()).toBe(before);
  });

  it.each([
    ['order_ref_registry', 'ORDER-REG-1', insertOrder],
    ['trade_ref_registry', 'TRADE-REG-1', insertTrade],
  ] as const)(
    '%s refuses a direct UPDATE, DELETE or TRUNCATE, for the owner too',
    async (table, ref, insert) => {
      await insert(ref);
      for (const sql of [
        `update order_manager.${table} set ref = 'stolen' where ref = '${ref}'`,
        `delete from order_manager.${table} where ref = '${ref}'`,
        `truncate order_manager.${table}`,
      ]) {
        await expect(
          inTransaction(() => c.query(sql)),
          sql,
        ).rejects.toMatchObject({
          code: '42501',
          message: expect.stringContaining(`order_manager.${table} is append-only`),
        });
      }
      // The uniqueness the registry keeps still holds: the ref is taken.
      await expect(insert(ref)).rejects.toMatchObject({ code: '23505' });
    },
  );

  it('registry rows still follow their orders and trades: a changed or deleted ref is freed', async () => {
    for (const role of [undefined, 'timescale']) {
      const refs = await inTransaction(async () => {
        await insertOrder('FOLLOW-1');
        await c.query(`update order_manager.orders set order_ref = 'FOLLOW-2' where order_ref = 'FOLLOW-1'`);
        await insertOrder('FOLLOW-1');
        await c.query(`delete from order_manager.orders where order_ref = 'FOLLOW-2'`);
        await insertTrade('FOLLOW-T');
        await c.query(`delete from order_manager.trades where trade_ref = 'FOLLOW-T'`);
        await insertTrade('FOLLOW-T');
        const { rows } = await c.query<{ ref: string }>(
          `select ref from order_manager.order_ref_registry where ref like 'FOLLOW%'
           union all select ref from order_manager.trade_ref_registry where ref like 'FOLLOW%' order by 1`,
        );
        return rows.map((r) => r.ref);
      }, role);
      expect(refs, role ?? 'owner').toEqual(['FOLLOW-1', 'FOLLOW-T']);
    }
  });
});
