/**
 * `npm run bench [-- --quick]`: how close the worker comes to this machine's ceilings, measured in
 * one run on one synthetic feed. Absolute numbers drift on shared 2-core machines; the ratios are
 * what to compare. Writes bench/results/latest.json (+ a timestamped copy) and prints a table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { tickMessages } from '../src/feed/synthetic.js';
import { migrate } from '../src/schema/index.js';
import { TICK_COLUMNS, tickLine } from '../src/transform/copy-format.js';
import { decodeTick } from '../src/transform/index.js';
import { spawnWorker } from '../src/worker-process.js';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const N = quick ? 200_000 : 1_000_000;
const PARTITIONS = 6;
const NAIVE_SAMPLE = quick ? 5_000 : 20_000;
const ONLY_E2E = process.argv.includes('--e2e-only');
const STEADY = quick
  ? [{ rate: 10_000, seconds: 10 }]
  : [
      { rate: 10_000, seconds: 20 },
      { rate: 20_000, seconds: 20 },
    ];

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stackEnv(): Record<string, string> {
  execFileSync('bash', [resolve(root, 'scripts/stack-up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env: Record<string, string> = {};
  for (const line of readFileSync(resolve(root, '.stack/env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) env[m[1]] = m[2];
  }
  return env;
}

const env = stackEnv();
const brokers = (env.KAFKA_BROKERS ?? '').split(',');
const kafka = new kafkajs.Kafka({ clientId: 'bench', brokers, logLevel: kafkajs.logLevel.NOTHING });
const runId = `bench_${Date.now().toString(36)}`;
const adminUrl = new URL(env.DATABASE_URL ?? '');
adminUrl.pathname = '/postgres';
const dbUrl = new URL(env.DATABASE_URL ?? '');
dbUrl.pathname = `/${runId}`;

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: dbUrl.toString() });
  await client.connect();
  return client;
}

async function createTopic(topic: string, partitions: number) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

async function produceAll(topic: string, messages: Iterable<{ key: string; value: string }>) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let chunk: { key: string; value: string }[] = [];
  const pending: Promise<unknown>[] = [];
  for (const m of messages) {
    chunk.push(m);
    if (chunk.length === 5_000) {
      pending.push(producer.send({ topic, acks: 1, messages: chunk }));
      chunk = [];
      if (pending.length >= 8) await Promise.all(pending.splice(0));
    }
  }
  if (chunk.length) pending.push(producer.send({ topic, acks: 1, messages: chunk }));
  await Promise.all(pending);
  await producer.disconnect();
}

const rate = (rows: number, ms: number) => Math.round((rows * 1000) / ms);

/** The ceiling: the same rows, already formatted, COPYed straight in over `streams` connections. */
async function copyCeiling(lines: string[], streams: number): Promise<number> {
  await sql(dbUrl.toString(), 'truncate data_capture.market_ticks');
  const parts = Array.from({ length: streams }, (_, s) => lines.filter((_, i) => i % streams === s));
  const clients = await Promise.all(parts.map(() => connect()));
  const t0 = performance.now();
  await Promise.all(
    parts.map(async (part, s) => {
      const c = clients[s] as pg.Client;
      const chunks = function* () {
        for (let i = 0; i < part.length; i += 2_000) yield part.slice(i, i + 2_000).join('');
      };
      await pipeline(
        Readable.from(chunks()),
        c.query(copyFrom(`copy data_capture.market_ticks (${TICK_COLUMNS.join(', ')}) from stdin`)),
      );
    }),
  );
  const ms = performance.now() - t0;
  await Promise.all(clients.map((c) => c.end()));
  return rate(lines.length, ms);
}

async function kafkaConsumeCeiling(topic: string, total: number): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `${runId}.null`,
    maxBytesPerPartition: 4 << 20,
    maxBytes: 32 << 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let t0 = 0;
  const ms = await new Promise<number>((done) => {
    void consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (t0 === 0) t0 = performance.now();
        seen += batch.messages.length;
        if (seen >= total) done(performance.now() - t0);
      },
    });
  });
  await consumer.disconnect();
  return rate(total, ms);
}

async function naiveInsert(topic: string, sample: number): Promise<number> {
  const client = await connect();
  const consumer = kafka.consumer({ groupId: `${runId}.naive` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  let t0 = 0;
  const ms = await new Promise<number>((done) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (n >= sample) return;
        if (t0 === 0) t0 = performance.now();
        const m = JSON.parse(message.value?.toString() ?? '{}');
        await client.query(
          'insert into data_capture.market_ticks (symbol, exchange, price, volume, aggressor, tick_time) values ($1,$2,$3,$4,$5,$6)',
          [m.symbol, m.exchange, m.price, m.volume, m.aggressor, m.tickTime],
        );
        if (++n === sample) done(performance.now() - t0);
      },
    });
  });
  await consumer.disconnect();
  await client.end();
  return rate(sample, ms);
}

function startWorker(topic: string, group: string, extra: Record<string, string> = {}, cpuProf = false) {
  const w = spawnWorker({
    env: {
      DATABASE_URL: dbUrl.toString(),
      KAFKA_BROKERS: env.KAFKA_BROKERS ?? '',
      KAFKA_GROUP_ID: group,
      TOPIC_TICKS: topic,
      TOPIC_BOOK: `${runId}.book`,
      TOPIC_CALLBACKS: `${runId}.callbacks`,
      TOPIC_DLQ: `${runId}.dlq`,
      METRICS_PORT: '0',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      // BENCH_WORKER_ENV='{"FLUSH_ROWS":"5000"}' tries other settings without editing this file.
      ...(JSON.parse(process.env.BENCH_WORKER_ENV ?? '{}') as Record<string, string>),
      ...extra,
    },
    nodeFlags: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${resolve(root, 'bench/results')}`] : [],
  });
  w.child.stderr?.pipe(process.stderr);
  return w;
}

/**
 * The group's stored offsets, summed. Polled over one open connection: a new connection per poll
 * forks a PostgreSQL backend each time, which took a fifth of the machine from the run it measures.
 */
async function storedOffsets(client: pg.Client, group: string): Promise<number> {
  const { rows } = await client.query<{ n: string | null }>(
    'select sum(next_offset)::text n from data_capture.ingest_offsets where group_id = $1',
    [group],
  );
  return Number(rows[0]?.n ?? 0);
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** The real worker draining the pre-produced backlog; rows/s from its first commit to its last. */
async function e2eDrain(topic: string, total: number, bars: boolean, cpuProf = false) {
  await sql(dbUrl.toString(), 'truncate data_capture.market_ticks, data_capture.ohlcv_bars');
  const group = `${runId}.e2e.${bars ? 'bars' : 'nobars'}`;
  const w = startWorker(topic, group, { BARS_ENABLED: String(bars) }, cpuProf);
  await w.started;
  const poll = await connect();
  let first = 0;
  for (;;) {
    const done = await storedOffsets(poll, group);
    if (done > 0 && first === 0) first = performance.now();
    if (done >= total) break;
    await sleep(50);
  }
  const ms = performance.now() - first;
  await poll.end();
  const rss = peakRssMb(w.child.pid as number);
  w.child.kill('SIGTERM');
  await w.exited;
  return { rowsPerS: rate(total, ms), peakRssMb: rss };
}

async function waitReady(port: number): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (r?.status === 200) return;
  }
  throw new Error('worker not ready within 60 s');
}

/** Seconds of production at the start of a steady run left out of its percentiles (JIT, first claims). */
const WARMUP_S = 3;

/**
 * Produce at a fixed rate and time each message from the moment it was handed to the producer to
 * the moment its offset is visible as committed in data_capture.ingest_offsets (polled every 20 ms,
 * taken when the answer arrives, so a latency is over- rather than under-stated by up to a poll).
 * Offsets map to send times through the base offsets the producer's acknowledgements return.
 */
async function steady(rateTarget: number, seconds: number) {
  const topic = `${runId}.steady.${rateTarget}`;
  await createTopic(topic, PARTITIONS);
  await sql(dbUrl.toString(), 'truncate data_capture.market_ticks');
  const group = `${runId}.steady.${rateTarget}`;
  const w = startWorker(topic, group, { BARS_ENABLED: 'true' });
  // Steady state, not start-up: produce once the worker has joined the group and holds its partitions.
  await waitReady(await w.started);
  const producer = kafka.producer();
  await producer.connect();
  const commits = pollCommits(group);
  const tickMs = 20;
  const perTick = Math.round((rateTarget * tickMs) / 1000);
  const sends: { partition: number; base: number; at: number; warmup: boolean }[] = [];
  const t0 = performance.now();
  let sent = 0;
  const inFlight: Promise<unknown>[] = [];
  for (let step = 0; performance.now() - t0 < (WARMUP_S + seconds) * 1000; step++) {
    const wait = t0 + step * tickMs - performance.now();
    if (wait > 0) await sleep(wait);
    const nowUs = Date.now() * 1000;
    const messages = [
      ...tickMessages(perTick, { firstSeq: sent, seed: step + 1, startUs: nowUs, stepUs: 0 }),
    ].map((m) => ({ key: m.key, value: m.value }));
    const at = performance.now();
    const warmup = at - t0 < WARMUP_S * 1000;
    // Not awaited one by one: a slow acknowledgement must not slow the offered rate.
    inFlight.push(
      producer.send({ topic, acks: 1, messages }).then((meta) => {
        for (const m of meta) sends.push({ partition: m.partition, base: Number(m.baseOffset), at, warmup });
      }),
    );
    if (inFlight.length > 50) await Promise.all(inFlight.splice(0, 25));
    sent += perTick;
  }
  const producedMs = performance.now() - t0;
  await Promise.all(inFlight);
  await producer.disconnect();
  const poll = await connect();
  while ((await storedOffsets(poll, group)) < sent) await sleep(100);
  await poll.end();
  const latencies = commitLatencies(sends, await commits.stop());
  const rss = peakRssMb(w.child.pid as number);
  w.child.kill('SIGTERM');
  await w.exited;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    rate: rateTarget,
    achieved_rate: rate(sent, producedMs),
    measured_messages: latencies.length,
    warmup_s: WARMUP_S,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: Math.round(latencies[latencies.length - 1] ?? 0),
    peak_rss_mb: rss,
  };
}

type CommitLog = Map<number, { next: number; at: number }[]>;

/** Polls the group's committed offsets until stopped: per partition, when each next_offset became visible. */
function pollCommits(group: string): { stop(): Promise<CommitLog> } {
  const log: CommitLog = new Map();
  const client = new pg.Client({ connectionString: dbUrl.toString() });
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ partition: number; next: string }>(
        'select partition, next_offset::text as next from data_capture.ingest_offsets where group_id = $1',
        [group],
      );
      const at = performance.now();
      for (const r of rows) {
        const list = log.get(r.partition) ?? [];
        if (list.length === 0) log.set(r.partition, list);
        if (list[list.length - 1]?.next !== Number(r.next)) list.push({ next: Number(r.next), at });
      }
      await sleep(20);
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return log;
    },
  };
}

/** ms from send to visible commit of every message sent after the warm-up. */
function commitLatencies(
  sends: { partition: number; base: number; at: number; warmup: boolean }[],
  commits: CommitLog,
): number[] {
  const out: number[] = [];
  for (const [partition, list] of commits) {
    const mine = sends.filter((s) => s.partition === partition).sort((a, b) => a.base - b.base);
    const end = list[list.length - 1]?.next ?? 0;
    let c = 0;
    for (let i = 0; i < mine.length; i++) {
      const s = mine[i] as (typeof mine)[number];
      const until = mine[i + 1]?.base ?? end;
      for (let offset = s.base; offset < until; offset++) {
        while (c < list.length && (list[c] as { next: number }).next <= offset) c++;
        const commit = list[c];
        if (!commit) throw new Error(`offset ${offset} of partition ${partition} never committed`);
        if (!s.warmup) out.push(commit.at - s.at);
      }
    }
  }
  return out;
}

async function main() {
  const started = Date.now();
  log(`${quick ? 'quick' : 'full'} run ${runId}: ${N} ticks, ${PARTITIONS} partitions`);
  await sql(adminUrl.toString(), `create database "${runId}"`);
  try {
    await sql(dbUrl.toString(), 'create extension if not exists timescaledb');
    await migrate(dbUrl.toString());
    const startUs = Date.now() * 1000 - 6 * 3600 * 1_000_000;
    // Released once used (set to undefined): the steady runs must not share this process with a
    // heap of a million messages, whose garbage collection would stall the producer and the poller.
    let feed: { key: string; value: string }[] | undefined = [...tickMessages(N, { startUs, stepUs: 20 })];
    const ctx = {
      timeZone: 'America/Sao_Paulo',
      recordTimeUs: Date.now() * 1000,
      futureWindowUs: 300_000_000,
      pastWindowUs: 31 * 86_400_000_000,
    };
    let lines: string[] | undefined = feed.map((m) => {
      const d = decodeTick(Buffer.from(m.value), ctx);
      if (!d.ok) throw new Error(`synthetic tick invalid: ${d.error.message}`);
      return tickLine(d.ticks[0] as NonNullable<(typeof d.ticks)[0]>);
    });
    const topic = `${runId}.ticks`;
    await createTopic(topic, PARTITIONS);
    for (const t of ['book', 'callbacks', 'dlq']) await createTopic(`${runId}.${t}`, 1);
    const t0 = performance.now();
    await produceAll(topic, feed);
    feed = undefined;
    log(`pre-produced ${N} ticks in ${Math.round(performance.now() - t0)} ms`);

    if (process.argv.includes('--steady-only')) {
      lines = undefined;
      for (const st of STEADY) {
        const r = await steady(st.rate, st.seconds);
        log(`steady ${st.rate}/s: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms`);
      }
      return;
    }
    if (ONLY_E2E) {
      const bars = process.argv.includes('--bars');
      const r = await e2eDrain(topic, N, bars, process.argv.includes('--cpu-prof'));
      log(`e2e (bars ${bars ? 'on' : 'off'}): ${r.rowsPerS} rows/s, peak RSS ${r.peakRssMb} MB`);
      return;
    }
    const copy1 = await copyCeiling(lines, 1);
    const copy2 = await copyCeiling(lines, 2);
    lines = undefined;
    log(`COPY ceiling: ${copy1} rows/s on 1 stream, ${copy2} on 2`);
    const consume = await kafkaConsumeCeiling(topic, N);
    log(`kafka consume ceiling: ${consume} msgs/s`);
    const e2eNoBars = await e2eDrain(topic, N, false, process.argv.includes('--cpu-prof'));
    log(`e2e (bars off): ${e2eNoBars.rowsPerS} rows/s, peak RSS ${e2eNoBars.peakRssMb} MB`);
    const e2eBars = await e2eDrain(topic, N, true);
    log(`e2e (bars on): ${e2eBars.rowsPerS} rows/s, peak RSS ${e2eBars.peakRssMb} MB`);
    await sql(dbUrl.toString(), 'truncate data_capture.market_ticks');
    const naive = await naiveInsert(topic, NAIVE_SAMPLE);
    log(`naive INSERT: ${naive} rows/s`);
    const steadyResults = [];
    for (const s of STEADY) {
      const r = await steady(s.rate, s.seconds);
      log(`steady ${s.rate}/s: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms`);
      steadyResults.push(r);
    }
    const ceiling = Math.max(copy1, copy2);
    const result = {
      run: runId,
      mode: quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      rows: N,
      partitions: PARTITIONS,
      copy_ceiling_rows_per_s: ceiling,
      copy_ceiling_1_stream_rows_per_s: copy1,
      copy_ceiling_2_streams_rows_per_s: copy2,
      kafka_consume_rows_per_s: consume,
      e2e_rows_per_s: e2eBars.rowsPerS,
      e2e_rows_per_s_bars_off: e2eNoBars.rowsPerS,
      naive_insert_rows_per_s: naive,
      // timescaledb-parallel-copy (Go) is the natural peer, but the Go module proxy here refuses
      // github.com/timescale/timescaledb-parallel-copy (403), so it cannot be built on these machines.
      parallel_copy_rows_per_s: null,
      peak_rss_mb: Math.max(e2eBars.peakRssMb, e2eNoBars.peakRssMb),
      steady: steadyResults,
      ratios: {
        e2e_vs_copy_ceiling: +(e2eBars.rowsPerS / ceiling).toFixed(3),
        e2e_bars_off_vs_copy_ceiling: +(e2eNoBars.rowsPerS / ceiling).toFixed(3),
        e2e_vs_kafka_consume: +(e2eBars.rowsPerS / consume).toFixed(3),
        e2e_vs_naive_insert: +(e2eBars.rowsPerS / naive).toFixed(1),
      },
      duration_s: Math.round((Date.now() - started) / 1000),
    };
    mkdirSync(resolve(root, 'bench/results'), { recursive: true });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(resolve(root, 'bench/results/latest.json'), json);
    writeFileSync(resolve(root, `bench/results/${result.at.replace(/[:.]/g, '-')}.json`), json);
    printTable(result);
  } finally {
    await sql(adminUrl.toString(), `drop database if exists "${runId}" with (force)`);
  }
}

function printTable(r: Record<string, unknown>) {
  const rows: Array<[string, unknown]> = Object.entries(r).filter(
    ([, v]) => typeof v !== 'object' || v === null,
  );
  const ratios = Object.entries(r.ratios as Record<string, unknown>).map(
    ([k, v]) => [`ratio ${k}`, v] as [string, unknown],
  );
  const steadyRows = (r.steady as Array<Record<string, unknown>>).map(
    (s) =>
      [
        `steady ${s.rate}/s (achieved ${s.achieved_rate})`,
        `p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms, max ${s.max_ms} ms`,
      ] as [string, unknown],
  );
  const all = [...rows, ...ratios, ...steadyRows];
  const w = Math.max(...all.map(([k]) => k.length));
  console.log(all.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
}

await main();
process.exit(0);
