import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TickColumns } from '../../src/records.js';
import { migrate } from '../../src/schema/index.js';
import { countOpenGaps, forgetTrades, listGaps } from '../../src/trades/index.js';
import { forgetOldTrades } from '../../src/trades/retention.js';
import { formatUtcMicros } from '../../src/transform/civil.js';
import { TICK_COLUMNS, tickLine } from '../../src/transform/copy-format.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';
import { emptyTicks, packTicks } from '../support/tick-columns.js';
import { recordTrades, type TradeStepResult } from '../support/trades.js';

const SP = 'America/Sao_Paulo';
const root = resolve(import.meta.dirname, '../..');
// 2026-11-24 13:00 UTC = 10:00 in São Paulo, a trading day of its own.
const T0 = Date.UTC(2026, 10, 24, 13, 0, 0) * 1000;
const DAY = '2026-11-24';

type Tick = [symbol: string, tradeId: number | string | null, offsetUs?: number];

/** The ticks as a decoded batch carries them: TickColumns plus the COPY line of each row. */
function batch(rows: Tick[]): { cols: TickColumns; lines: string[] } {
  const cols = emptyTicks();
  const lines: string[] = [];
  rows.forEach(([symbol, id, dt], k) => {
    const us = T0 + (dt ?? k * 1000);
    const tradeId = id === null ? null : String(id);
    cols.symbols.push(symbol);
    cols.exchanges.push('B3');
    cols.prices.push('30.5');
    cols.volumes.push('100');
    cols.timesUs.push(us);
    cols.tradeIds.push(tradeId);
    lines.push(
      tickLine({
        symbol,
        exchange: 'B3',
        price: '30.5',
        volume: '100',
        aggressor: 'BUY',
        tickTime: formatUtcMicros(us),
        tickTimeUs: us,
        source: 'ProfitDLL',
        tradeId,
      }),
    );
  });
  return { cols: packTicks(cols), lines };
}

const range = (symbol: string, from: number, to: number, at = 0): Tick[] =>
  Array.from({ length: to - from + 1 }, (_, k) => [symbol, from + k, at + k * 1000]);

async function copyTicks(client: pg.ClientBase, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const stream = client.query(
    copyFrom(`copy data_capture.market_ticks (${TICK_COLUMNS.join(', ')}) from stdin`),
  );
  stream.end(lines.join(''));
  await finished(stream);
}

/** What a flush does with the step: in one transaction, the step, then the COPY of the kept rows. */
async function stepAndCopy(client: pg.ClientBase, rows: Tick[]): Promise<TradeStepResult> {
  const { cols, lines } = batch(rows);
  const r = await recordTrades(client, cols, SP);
  await copyTicks(
    client,
    lines.filter((_, i) => r.keep[i]),
  );
  return r;
}

describe('the trade step on the real stack', () => {
  let db: FreshDatabase;
  let pool: pg.Pool;

  async function flush(rows: Tick[]): Promise<TradeStepResult> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const r = await stepAndCopy(client, rows);
      await client.query('commit');
      return r;
    } catch (err) {
      await client.query('rollback');
      throw err;
    } finally {
      client.release();
    }
  }

  /** Per stored trade number of `symbol`, how many rows hold it (every one must be 1). */
  async function stored(symbol: string): Promise<{ ids: string[]; copies: number[]; unnumbered: number }> {
    const { rows } = await pool.query<{ id: string | null; n: number }>(
      `select trade_id::text as id, count(*)::int as n from data_capture.market_ticks
        where symbol = $1 group by trade_id order by trade_id`,
      [symbol],
    );
    const numbered = rows.filter((r) => r.id !== null);
    return {
      ids: numbered.map((r) => r.id as string),
      copies: [...new Set(numbered.map((r) => r.n))],
      unnumbered: rows.find((r) => r.id === null)?.n ?? 0,
    };
  }

  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => String(from + k));

  async function gaps(symbol: string) {
    const { rows } = await pool.query<{
      id: string;
      range: string;
      open: boolean;
      split_from: string | null;
      same_detection: boolean;
    }>(
      `select g.id::text, g.first_missing || '-' || g.last_missing as range, g.filled_at is null as open,
              g.split_from::text, p.id is null or g.detected_at = p.detected_at as same_detection
         from data_capture.feed_gaps g left join data_capture.feed_gaps p on p.id = g.split_from
        where g.symbol = $1 order by g.first_missing, g.id`,
      [symbol],
    );
    return rows;
  }
  const openRanges = async (symbol: string) => (await gaps(symbol)).filter((g) => g.open).map((g) => g.range);

  beforeAll(async () => {
    db = await freshDatabase('trades');
    await migrate(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // Dropping the database at the end terminates a backend pool.end() may still be closing.
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('stores repeats within one batch once', async () => {
    const r = await flush([
      ['SAME', 1],
      ['SAME', 2],
      ['SAME', 2],
      ['SAME', 3],
      ['SAME', 1],
    ]);
    expect(r.keep).toEqual([true, true, false, true, false]);
    expect(r.duplicates).toBe(2);
    expect(await stored('SAME')).toEqual({ ids: ids(1, 3), copies: [1], unnumbered: 0 });
    expect(await gaps('SAME')).toEqual([]);
  });

  it('drops the trades of a later batch that are already stored, and a full replay entirely', async () => {
    const first = range('LATER', 1, 500);
    await flush(first);
    const r = await flush(range('LATER', 480, 700, 480_000));
    expect(r.duplicates).toBe(21);
    const replay = [...first, ...range('LATER', 501, 700, 501_000)];
    const again = await flush(replay);
    expect(again.duplicates).toBe(700);
    expect(again.keep.every((k) => !k)).toBe(true);
    expect(await stored('LATER')).toEqual({ ids: ids(1, 700), copies: [1], unnumbered: 0 });
  });

  it('keeps ticks without a trade number every time, and keeps trading days apart', async () => {
    const night = Date.UTC(2026, 10, 25, 2, 59, 59) * 1000 - T0; // 23:59:59 in São Paulo
    const nextDay = Date.UTC(2026, 10, 25, 3, 0, 1) * 1000 - T0;
    const rows: Tick[] = [
      ['DAYS', null, 0],
      ['DAYS', 1, 1],
      ['DAYS', 2, night],
      ['DAYS', 1, nextDay],
    ];
    expect((await flush(rows)).duplicates).toBe(0);
    expect((await flush(rows)).keep).toEqual([true, false, false, false]);
    const { rows: days } = await pool.query<{ day: string; first: string; last: string }>(
      `select trading_day::text as day, first_trade::text as first, last_trade::text as last
         from data_capture.trade_sequences where symbol = 'DAYS' order by 1`,
    );
    expect(days).toEqual([
      { day: '2026-11-24', first: '1', last: '2' },
      { day: '2026-11-25', first: '1', last: '1' },
    ]);
    expect((await stored('DAYS')).unnumbered).toBe(2);
  });

  it('lets two transactions flushing the same symbol (another partition) store each trade once', async () => {
    await flush(range('PART', 1, 100));
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('begin');
      await b.query('begin');
      const ra = await stepAndCopy(a, range('PART', 90, 300));
      // b overlaps a's uncommitted trades and the stored ones: it must wait for a's lock...
      const bPid = (await b.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      const rbPromise = stepAndCopy(b, range('PART', 50, 400));
      let waiting = false;
      for (let i = 0; i < 100 && !waiting; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const { rows } = await pool.query<{ w: string | null }>(
          'select wait_event_type as w from pg_stat_activity where pid = $1',
          [bPid],
        );
        waiting = rows[0]?.w === 'Lock';
      }
      expect(waiting).toBe(true);
      await a.query('commit');
      // ...and then see what a committed.
      const rb = await rbPromise;
      await b.query('commit');
      expect(ra.duplicates).toBe(11);
      expect(rb.duplicates).toBe(251);
      expect(rb.keep.filter(Boolean).length).toBe(100);
    } finally {
      a.release();
      b.release();
    }
    expect(await stored('PART')).toEqual({ ids: ids(1, 400), copies: [1], unnumbered: 0 });
  });

  it('forgets everything a rolled-back flush recorded', async () => {
    await flush(range('ROLL', 1, 10));
    const c = await pool.connect();
    try {
      await c.query('begin');
      const r = await stepAndCopy(c, [...range('ROLL', 11, 20, 11_000), ['ROLL', 30, 30_000]]);
      expect(r.gapsOpened).toBe(1);
      await c.query('rollback');
    } finally {
      c.release();
    }
    expect(await gaps('ROLL')).toEqual([]);
    const again = await flush(range('ROLL', 11, 20, 11_000));
    expect(again.duplicates).toBe(0);
    expect(await stored('ROLL')).toEqual({ ids: ids(1, 20), copies: [1], unnumbered: 0 });
  });

  it('records holes exactly, and a backfill fills them exactly or splits them', async () => {
    const feed = [
      ...range('HOLE', 1, 3),
      ...range('HOLE', 6, 7, 6000),
      ['HOLE', 9, 9000],
      ...range('HOLE', 20, 40, 20_000),
    ];
    const r = await flush(feed as Tick[]);
    expect([r.gapsOpened, r.openGaps]).toEqual([3, 3]);
    expect(await openRanges('HOLE')).toEqual(['4-5', '8-8', '10-19']);

    // A backfill (ProfitDLL history) overlapping stored trades: only the missing ones land.
    const exact = await flush(range('HOLE', 2, 9, 2000));
    expect([exact.duplicates, exact.gapsFilled, exact.gapsSplit, exact.openGaps]).toEqual([5, 2, 0, 1]);
    expect(await openRanges('HOLE')).toEqual(['10-19']);

    const partly = await flush([
      ['HOLE', 12, 12_000],
      ['HOLE', 15, 15_000],
      ['HOLE', 16, 16_000],
    ]);
    expect([partly.gapsFilled, partly.gapsSplit, partly.openGaps]).toEqual([0, 1, 3]);
    const all = await gaps('HOLE');
    const parent = all.find((g) => g.range === '10-19');
    expect(parent?.open).toBe(false);
    const remainders = all.filter((g) => g.split_from === parent?.id);
    expect(remainders.map((g) => [g.range, g.open, g.same_detection])).toEqual([
      ['10-11', true, true],
      ['13-14', true, true],
      ['17-19', true, true],
    ]);

    await flush(range('HOLE', 10, 19, 10_000));
    expect(await openRanges('HOLE')).toEqual([]);
    expect(await stored('HOLE')).toEqual({ ids: ids(1, 40), copies: [1], unnumbered: 0 });
    const filled = (await gaps('HOLE')).map((g) => [g.range, g.open]);
    expect(filled).toEqual([
      ['4-5', false],
      ['8-8', false],
      ['10-19', false],
      ['10-11', false],
      ['13-14', false],
      ['17-19', false],
    ]);
  });

  it('reports a kept trade the database then rejected as missing, so its corrected redelivery is stored', async () => {
    await flush(range('REJ', 1, 3));
    const rows = range('REJ', 4, 8, 4000);
    const { cols, lines } = batch(rows);
    const c = await pool.connect();
    try {
      await c.query('begin');
      const r = await recordTrades(c, cols, SP);
      // Rows 1 and 2 (trades 5 and 6) are the ones the database refused (dead-lettered by the sink).
      expect(await forgetTrades(c, cols, [1, 2], SP)).toBe(2);
      await copyTicks(
        c,
        lines.filter((_, i) => r.keep[i] && i !== 1 && i !== 2),
      );
      await c.query('commit');
    } finally {
      c.release();
    }
    expect(await openRanges('REJ')).toEqual(['5-5', '6-6']);
    const again = await flush(range('REJ', 4, 8, 4000));
    expect([again.duplicates, again.gapsFilled, again.openGaps !== undefined]).toEqual([3, 2, true]);
    expect(await openRanges('REJ')).toEqual([]);
    expect(await stored('REJ')).toEqual({ ids: ids(1, 8), copies: [1], unnumbered: 0 });
  });

  it('lists the holes for a desk, filtered, through the library and `tick-ingest gaps`', async () => {
    await flush([...range('LIST', 1, 2), ['LIST', 5, 5000], ['LIST', 9, 9000]]);
    await flush([['LIST', 3, 3000]]);
    const open = await listGaps(pool, { symbol: 'LIST', open: true }, SP);
    // The window to request: between the stored trades on either side, in exchange time.
    expect(
      open.map((g) => [g.tradingDay, g.firstMissing, g.lastMissing, g.missing, g.afterTime, g.beforeTime]),
    ).toEqual([
      [DAY, '4', '4', '1', `${DAY} 10:00:00.003000`, `${DAY} 10:00:00.005000`],
      [DAY, '6', '8', '3', `${DAY} 10:00:00.005000`, `${DAY} 10:00:00.009000`],
    ]);
    expect((await listGaps(pool, { symbol: 'LIST' }, SP)).length).toBe(3);
    expect(await listGaps(pool, { symbol: 'LIST', day: '2026-11-23' }, SP)).toEqual([]);
    expect(await countOpenGaps(pool)).toBe(
      (
        await pool.query<{ n: number }>(
          'select count(*)::int as n from data_capture.feed_gaps where filled_at is null',
        )
      ).rows[0]?.n,
    );

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        resolve(root, 'node_modules/.bin/tsx'),
        resolve(root, 'src/cli.ts'),
        'gaps',
        '--symbol',
        'LIST',
        '--open',
      ],
      { env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url } },
    );
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^symbol\s+trading_day\s+first_missing\s+last_missing\s+missing/);
    expect(lines.slice(1, 3).map((l) => l.split(/\s+/).slice(0, 9))).toEqual([
      ['LIST', DAY, '4', '4', '1', DAY, '10:00:00.003000', DAY, '10:00:00.005000'],
      ['LIST', DAY, '6', '8', '3', DAY, '10:00:00.005000', DAY, '10:00:00.009000'],
    ]);
    expect(lines[3]).toBe('2 holes listed, 2 open (4 trade numbers missing)');
  });

  it('forgets the trade numbers of days the ticks retention passed, and keeps the rest', async () => {
    await pool.query(
      `insert into data_capture.trade_sequences (symbol, trading_day, first_trade, last_trade)
       values ('OLD', current_date - 40, 1, 9), ('OLD', current_date - 20, 1, 9);
       insert into data_capture.feed_gaps (symbol, trading_day, first_missing, last_missing)
       values ('OLD', current_date - 40, 3, 4), ('OLD', current_date - 20, 3, 4)`,
    );
    const r = await forgetOldTrades(db.url);
    expect([r.sequences, r.gaps]).toEqual([1, 1]);
    const { rows } = await pool.query<{ n: number }>(
      `select (select count(*) from data_capture.trade_sequences where symbol = 'OLD')::int
            + (select count(*) from data_capture.feed_gaps where symbol = 'OLD')::int as n`,
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('costs little per row: a 10,000-tick batch of 50 symbols continuing their numbers', async () => {
    const symbols = Array.from({ length: 50 }, (_, k) => `COST${k}`);
    const make = (round: number): Tick[] =>
      Array.from({ length: 10_000 }, (_, i) => [
        symbols[i % 50] as string,
        round * 200 + Math.floor(i / 50) + 1,
        round * 10_000_000 + i * 100,
      ]);
    const timings: { step: number; copy: number }[] = [];
    for (let round = 0; round < 6; round++) {
      const { cols, lines } = batch(make(round));
      const client = await pool.connect();
      try {
        await client.query('begin');
        const t0 = performance.now();
        const r = await recordTrades(client, cols, SP);
        const t1 = performance.now();
        await copyTicks(
          client,
          lines.filter((_, i) => r.keep[i]),
        );
        const t2 = performance.now();
        await client.query('commit');
        expect([r.duplicates, r.gapsOpened]).toEqual([0, 0]);
        timings.push({ step: t1 - t0, copy: t2 - t1 });
      } finally {
        client.release();
      }
    }
    const steady = timings.slice(1); // the first round plans on a cold cache
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const step = median(steady.map((t) => t.step));
    const copy = median(steady.map((t) => t.copy));
    console.log(
      `trade step, 10,000 ticks / 50 symbols: median ${step.toFixed(1)} ms (${((step * 1000) / 10_000).toFixed(2)} µs/row); ` +
        `COPY of the same rows ${copy.toFixed(1)} ms; all rounds ${JSON.stringify(timings.map((t) => Math.round(t.step)))}`,
    );
    // The step must stay well below the COPY it guards (the flush budget is ~39 µs a row in all).
    expect(step).toBeLessThan(copy);
  });
});
