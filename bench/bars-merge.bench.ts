/**
 * What the bars cost a flush, on a real server: flushes of ticks written as the sink writes them
 * (one transaction: reserve ids, COPY with them, then the bar step), against the same flushes
 * without bars. Reports per mode the wall time per flush and the CPU the database backend spent,
 * read from /proc (so run it on the database's machine), per tick.
 * Run: DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npx tsx bench/bars-merge.bench.ts
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { barStep } from '../src/bars/index.js';
import { RoundTrip, run as runStatement } from '../src/db.js';
import { createMetrics } from '../src/observability/metrics.js';
import { migrate } from '../src/schema/index.js';
import { TickColumnsBuilder } from '../src/tick-columns.js';
import { tickIdAt } from '../src/tick-id-blocks.js';
import { formatUtcMicros } from '../src/transform/civil.js';
import { tickLine } from '../src/transform/copy-format.js';
import type { TickRow } from '../src/transform/types.js';
import { drawIdBlocks } from '../src/writers/tick-ids.js';

const FLUSHES = Number(process.env.FLUSHES ?? 40);
const ROWS = Number(process.env.ROWS ?? 5000);
const SYMBOLS = Number(process.env.SYMBOLS ?? 50);
const ZONE = 'America/Sao_Paulo';

const step = barStep(ZONE, createMetrics(), pino({ level: 'silent' }));

/** CPU seconds (user + system) of a process so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks of 10 ms
}

/** Flush k of a live feed: ROWS ticks over a second, SYMBOLS symbols interleaved. */
function ticks(k: number): TickRow[] {
  const t0 = Date.parse('2026-11-24T13:00:00Z') * 1000 + k * 1_000_000;
  return Array.from({ length: ROWS }, (_, i) => {
    const us = t0 + Math.floor((i * 1_000_000) / ROWS);
    return {
      symbol: `SYM${i % SYMBOLS}`,
      exchange: 'B3',
      price: `30.${(i * 7 + k) % 100}`,
      volume: String(100 * (1 + (i % 50))),
      aggressor: 'BUY',
      tickTime: formatUtcMicros(us),
      tickTimeUs: us,
      source: 'ProfitDLL',
      tradeId: String(k * ROWS + i + 1),
    };
  });
}

async function run(url: string, bars: boolean) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number;
  let copyMs = 0;
  let barsMs = 0;
  let copyCpu = 0;
  let barsCpu = 0;
  for (let k = 0; k < FLUSHES; k++) {
    const rows = ticks(bars ? k : k + FLUSHES);
    await client.query('begin');
    let t = performance.now();
    let c = cpuSeconds(pid);
    const ids = await runStatement(client, drawIdBlocks('data_capture.market_ticks_id_seq', rows.length));
    const stream = client.query(
      copyFrom(
        'copy data_capture.market_ticks (id, symbol, exchange, price, volume, aggressor, tick_time, source, trade_id) from stdin',
      ),
    );
    await new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve).on('error', reject);
      stream.end(rows.map((r, i) => `${tickIdAt(ids, i)}\t${tickLine(r)}`).join(''));
    });
    copyMs += performance.now() - t;
    copyCpu += cpuSeconds(pid) - c;
    if (bars) {
      t = performance.now();
      c = cpuSeconds(pid);
      // As the flush sends them: the lock and the merge in one round trip.
      const columns = new TickColumnsBuilder();
      for (const r of rows) columns.add(r.symbol, r.exchange, r.price, r.volume, r.tickTimeUs, r.tradeId);
      const merge = step.statements(columns.build(), ids);
      if (merge) {
        const trip = new RoundTrip();
        trip.add(merge.lock);
        trip.add(merge.merge);
        await trip.send(client);
      }
      barsMs += performance.now() - t;
      barsCpu += cpuSeconds(pid) - c;
    }
    await client.query('commit');
  }
  await client.end();
  const n = FLUSHES * ROWS;
  console.log(
    `${bars ? 'COPY + bars' : 'COPY only  '}: COPY ${(copyMs / FLUSHES).toFixed(1)} ms/flush, ` +
      `backend ${((copyCpu * 1e6) / n).toFixed(2)} µs CPU/tick` +
      (bars
        ? `; bar step ${(barsMs / FLUSHES).toFixed(1)} ms/flush, backend ${((barsCpu * 1e6) / n).toFixed(2)} µs CPU/tick`
        : ''),
  );
}

const admin = process.env.DATABASE_URL;
if (!admin)
  throw new Error('DATABASE_URL is required (a server with TimescaleDB; a scratch database is created)');
const name = `bench_bars_${Date.now().toString(36)}`;
const adminClient = new pg.Client({ connectionString: admin });
await adminClient.connect();
await adminClient.query(`create database ${name}`);
const url = new URL(admin);
url.pathname = `/${name}`;
try {
  await migrate(url.toString());
  console.log(`${FLUSHES} flushes of ${ROWS} ticks, ${SYMBOLS} symbols each`);
  for (const bars of [false, true, false, true]) await run(url.toString(), bars);
} finally {
  await adminClient.query(`drop database ${name} with (force)`);
  await adminClient.end();
}
