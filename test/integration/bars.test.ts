import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BarBuilder, rebuildBars, TIMEFRAMES } from '../../src/bars/index.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { migrate } from '../../src/schema/index.js';
import type { TouchedSpan } from '../../src/writers/batch.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';

const SP = 'America/Sao_Paulo';
const log = pino({ level: 'silent' });

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

/** Ticks for [start, start + count * stepUs), µs timestamps; `tiesOf` ticks share each tick_time. */
async function insertTicks(
  db: pg.Pool,
  symbol: string,
  startIso: string,
  count: number,
  stepUs: number,
  tiesOf = 1,
): Promise<void> {
  await db.query(
    `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time)
     select $1, 'B3', round((20 + 5 * random())::numeric, 8), 1 + floor(random() * 500),
            (array['BUY', 'SELL', 'NEUTRAL'])[1 + floor(random() * 3)::int],
            $2::timestamptz + (floor(g / $5::int) * $4::bigint + 17) * interval '1 microsecond'
       from generate_series(0, $3::int - 1) as g`,
    [symbol, startIso, count, stepUs, tiesOf],
  );
}

/** What the worker would report: one span per symbol per `flushUs` slice of the ticks. */
async function spansOf(db: pg.Pool, flushUs: number, where = 'true'): Promise<TouchedSpan[]> {
  const { rows } = await db.query<{ symbol: string; exchange: string; from_us: string; to_us: string }>(
    `select symbol, exchange, (extract(epoch from min(tick_time)) * 1e6)::bigint::text as from_us,
            (extract(epoch from max(tick_time)) * 1e6)::bigint::text as to_us
       from data_capture.market_ticks where ${where}
      group by symbol, exchange, floor(extract(epoch from tick_time) * 1e6 / $1) order by 3`,
    [flushUs],
  );
  return rows.map((r) => ({
    symbol: r.symbol,
    exchange: r.exchange,
    fromUs: Number(r.from_us),
    toUs: Number(r.to_us),
  }));
}

async function expectBarsEqualTicks(db: pg.Pool): Promise<void> {
  for (const tf of TIMEFRAMES) {
    const { rows } = await db.query(MISMATCHES_SQL, [tf.interval, tf.name, 0]);
    expect(rows, `timeframe ${tf.name}`).toEqual([]);
  }
}

async function build(builder: BarBuilder, spans: TouchedSpan[]): Promise<void> {
  for (let i = 0; i < spans.length; i += 7) builder.ticksCommitted(spans.slice(i, i + 7));
  await builder.idle();
}

const barVersions = (db: pg.Pool) =>
  db
    .query(
      `select timeframe, symbol, bar_time, xmin::text as xmin from data_capture.ohlcv_bars order by 1, 2, 3`,
    )
    .then((r) => r.rows);

describe('bar builder on the real stack', () => {
  let fresh: FreshDatabase;
  let db: pg.Pool;
  const metrics = createMetrics();
  let builder: BarBuilder;

  beforeAll(async () => {
    fresh = await freshDatabase('bars');
    await migrate(fresh.url);
    db = new pg.Pool({ connectionString: fresh.url, max: 4 });
    await db.query('select setseed(0.42)');
    // 34 hours from 2024-03-04 10:00Z (07:00 in São Paulo): three local days, every timeframe.
    await insertTicks(db, 'PETR4', '2024-03-04T10:00:00Z', 6000, 20_400_123);
    await insertTicks(db, 'VALE3', '2024-03-04T10:00:30Z', 3000, 40_800_777);
    await insertTicks(db, 'TIES3', '2024-03-04T11:00:00Z', 6000, 31_000_001, 3);
    builder = new BarBuilder(db, { timeZone: SP }, metrics, log);
  });

  afterAll(async () => {
    await builder?.stop();
    await db?.end();
    await fresh?.drop();
  });

  it('builds every timeframe equal to a recomputation from market_ticks, one bar per bucket with ticks', async () => {
    await build(builder, await spansOf(db, 200_000 * 60));
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select timeframe, count(*)::int as n from data_capture.ohlcv_bars group by 1 order by 1`,
    );
    expect(rows.length).toBe(6);
    expect((await metrics.barsUpserted.get()).values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(1000);
    expect((await metrics.barLag.get()).values[0]?.value).toBe(0);
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

  it('repairs old buckets after late ticks hours old', async () => {
    const before = await db.query(`select max(id) as id from data_capture.market_ticks`);
    await db.query(
      `insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time) values
         ('PETR4', 'B3', 99.12345678, 1000, 'BUY', '2024-03-04 12:00:00.000001+00'),
         ('PETR4', 'B3', 0.5, 7, 'SELL', '2024-03-04 13:59:59.999999+00'),
         ('VALE3', 'B3', 18.25, 3, 'BUY', '2024-03-04 10:00:00.5+00'),
         ('TIES3', 'B3', 77, 5, 'BUY', '2024-03-05 02:59:59.999999+00')`,
    );
    const late = await spansOf(db, 3_600_000_000, `id > ${before.rows[0].id}`);
    await build(builder, late);
    await expectBarsEqualTicks(db);
    const { rows } = await db.query(
      `select high from data_capture.ohlcv_bars where symbol = 'PETR4' and timeframe = '1d'
        and bar_time = '2024-03-04 03:00+00'`,
    );
    expect(rows[0].high).toBe('99.12345678');
  });

  it('replaying the same spans writes nothing', async () => {
    const versions = await barVersions(db);
    const upserted = async () => (await metrics.barsUpserted.get()).values.reduce((n, v) => n + v.value, 0);
    const count = await upserted();
    await build(builder, await spansOf(db, 200_000 * 60));
    expect(await barVersions(db)).toEqual(versions);
    expect(await upserted()).toBe(count);
  });

  it('two builders on two pools building the same spans at once agree with the ticks', async () => {
    await db.query(`delete from data_capture.ohlcv_bars`);
    const other = new pg.Pool({ connectionString: fresh.url, max: 2 });
    const second = new BarBuilder(other, { timeZone: SP }, createMetrics(), log);
    try {
      const spans = await spansOf(db, 1_800_000_000);
      const moreTicks = insertTicks(db, 'VALE3', '2024-03-05T12:00:00.25Z', 500, 1_000_003);
      await Promise.all([build(builder, spans), build(second, [...spans].reverse()), moreTicks]);
      // The writer of the new ticks notifies after its commit, as the worker does.
      await build(second, await spansOf(db, 1_800_000_000, `tick_time >= '2024-03-05 12:00+00'`));
      await expectBarsEqualTicks(db);
    } finally {
      await second.stop();
      await other.end();
    }
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
