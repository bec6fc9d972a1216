/**
 * `npm run bench [-- --quick]`: how close the worker comes to this machine's ceilings, measured in
 * one run on one synthetic feed. Absolute numbers drift on shared 2-core machines; the ratios are
 * what to compare. Writes bench/results/latest.json (+ a timestamped copy) and prints a table.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quietIdleRequestQueues } from '../src/consumers/kafka-client.js';
import {
  bookValue,
  type FeedMessage,
  instruments,
  TradeNumbers,
  tickMessages,
} from '../src/feed/synthetic.js';
import { migrate } from '../src/schema/index.js';
import { TICK_COLUMNS, tickLine } from '../src/transform/copy-format.js';
import { decodeTick } from '../src/transform/index.js';
import { spawnWorker } from '../src/worker-process.js';
import { type CpuProfile, stageShares } from './cpuprofile.js';
import { startPeer } from './peer-connect.js';
import { connectTick } from './peer-feed.js';
import {
  clockTicks,
  kafkaBrokerPid,
  postmasterOf,
  processTicks,
  type TreeTicks,
  threadTicks,
  treeTicks,
  usPerRow,
} from './proc-cpu.js';

const root = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
// --rows=N: a smaller feed while developing (the shared machine makes full runs costly for others).
const N = Number(
  process.argv.find((a) => a.startsWith('--rows='))?.slice(7) ?? (quick ? 200_000 : 1_000_000),
);
const PARTITIONS = 6;
const NAIVE_SAMPLE = quick ? 5_000 : 20_000;
/** Book snapshots (10 levels a side) in the book drain: a book costs several ticks to decode. */
const BOOKS = Math.min(N, quick ? 40_000 : 200_000);
const BOOK_LEVELS = 10;
/** Drains with bars and without, alternating, each between two COPY ceilings (medians are the headlines). */
const E2E_TAKES = quick ? 1 : 3;
/**
 * The peer's feed: the first of the same ticks, as Connect's schema + payload JSON (~0.9 kB each on
 * the broker, so fewer of them: producing them is the slow part of the peer's turn).
 */
const PEER_ROWS = Math.min(N, quick ? 100_000 : 500_000);
const PEER_BATCH = 3_000;
/** Connect tasks: 1, as measured in issue 17; BENCH_PEER_TASKS=2 gives it both cores. */
const PEER_TASKS = Number(process.env.BENCH_PEER_TASKS ?? 1);
/** Fetch sizes of the memory-lean drain (the defaults are 512 KiB and 4 MiB). */
const LEAN_FETCH = { KAFKA_FETCH_PARTITION_BYTES: String(256 << 10), KAFKA_FETCH_BYTES: String(2 << 20) };
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
// The bench's own client gets the worker's fix too (TimeoutNegativeWarning, a 1 ms timer loop).
quietIdleRequestQueues();
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

/**
 * Create a topic and wait until each partition has a leader. kafkajs's own wait (waitForLeaders)
 * gives up on a busy broker with UNKNOWN_TOPIC_OR_PARTITION, so the metadata is polled here.
 */
async function createTopic(topic: string, partitions: number) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      const parts = meta?.topics[0]?.partitions ?? [];
      if (parts.length === partitions && parts.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leaders after 60 s`);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends one request at a time: a partition's messages land in the order given, as the bridge
 * produces them (concurrent sends reordered a symbol's ticks, so each batch met its trade numbers
 * out of order: every flush opened and filled holes, which a real feed does only on a fault).
 */
async function produceAll(topic: string, messages: Iterable<{ key: string; value: string }>) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let chunk: { key: string; value: string }[] = [];
  for (const m of messages) {
    chunk.push(m);
    if (chunk.length === 20_000) {
      await producer.send({ topic, acks: 1, messages: chunk });
      chunk = [];
    }
  }
  if (chunk.length) await producer.send({ topic, acks: 1, messages: chunk });
  await producer.disconnect();
}

const rate = (rows: number, ms: number) => Math.round((rows * 1000) / ms);

/**
 * The ceiling: the same rows, already formatted, COPYed straight in over `streams` connections;
 * with PostgreSQL's CPU per row for COPY alone (all its processes, as in the drains).
 */
async function copyCeiling(
  lines: string[],
  streams: number,
): Promise<{ rowsPerS: number; pgUsPerRow: number }> {
  await sql(dbUrl.toString(), 'truncate data_capture.market_ticks');
  const parts = Array.from({ length: streams }, (_, s) => lines.filter((_, i) => i % streams === s));
  const clients = await Promise.all(parts.map(() => connect()));
  const pg0 = treeTicks(servers.postmaster).total;
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
  const pgTicks = treeTicks(servers.postmaster).total - pg0;
  await Promise.all(clients.map((c) => c.end()));
  return { rowsPerS: rate(lines.length, ms), pgUsPerRow: usPerRow(pgTicks, lines.length, clockTicks()) };
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

/** Every process the bench starts, killed if it ends early (a failed step must leave no worker behind). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface WorkerTopics {
  ticks: string;
  book: string;
}

function startWorker(
  topics: WorkerTopics,
  group: string,
  extra: Record<string, string> = {},
  cpuProf = false,
) {
  const w = spawnWorker({
    env: {
      DATABASE_URL: dbUrl.toString(),
      KAFKA_BROKERS: env.KAFKA_BROKERS ?? '',
      KAFKA_GROUP_ID: group,
      TOPIC_TICKS: topics.ticks,
      TOPIC_BOOK: topics.book,
      TOPIC_CALLBACKS: `${runId}.callbacks`,
      TOPIC_DLQ: `${runId}.dlq`,
      METRICS_PORT: '0',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      // As the image runs it (Dockerfile): two glibc malloc arenas, a fixed mmap threshold.
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '131072',
      // BENCH_WORKER_ENV='{"FLUSH_ROWS":"5000"}' tries other settings without editing this file.
      ...(JSON.parse(process.env.BENCH_WORKER_ENV ?? '{}') as Record<string, string>),
      ...extra,
    },
    // BENCH_NODE_FLAGS='--trace-gc' tries Node or V8 flags after the launcher's (the later wins).
    nodeFlags: cpuProf
      ? ['--cpu-prof', `--cpu-prof-dir=${resolve(root, 'bench/results')}`]
      : (process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
  });
  w.child.stderr?.pipe(process.stderr);
  // BENCH_STDOUT_LOG=file keeps the worker's output (its log, a --trace-gc).
  const stdoutLog = process.env.BENCH_STDOUT_LOG;
  if (stdoutLog) w.child.stdout?.on('data', (d: Buffer) => appendFileSync(stdoutLog, d));
  children.add(w.child);
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

/** The servers measured alongside a consumer: PostgreSQL's postmaster and the Kafka broker's JVM. */
const servers = { postmaster: 0, broker: 0 };

interface CpuMark {
  at: number;
  rows: number;
  consumer: number;
  /** The single consumer's threads (for its main / decode thread split). */
  threads?: Map<number, number>;
  postgres: TreeTicks;
  /** The bench's own polling backend, taken out of PostgreSQL's figure. */
  poller: number;
  broker: number;
}

function mark(rows: number, consumers: number[], pollerPid: number): CpuMark {
  const only = consumers.length === 1 ? consumers[0] : undefined;
  return {
    at: performance.now(),
    rows,
    consumer: consumers.reduce((sum, pid) => sum + processTicks(pid), 0),
    threads: only === undefined ? undefined : threadTicks(only),
    postgres: treeTicks(servers.postmaster),
    poller: processTicks(pollerPid),
    broker: processTicks(servers.broker),
  };
}

interface DrainReport {
  /** Rows and time from the first stored row to the last: rows_per_s. */
  rows: number;
  seconds: number;
  rows_per_s: number;
  /** Where CPU per row was taken: from the consumer's start (worker) or its first stored row (peer). */
  cpu_window: { rows: number; seconds: number };
  /** CPU µs per row over the drain window, from /proc. */
  cpu_us_per_row: {
    /** The consumer: the worker (all its threads; both processes with two replicas) or the peer's JVM. */
    consumer: number;
    /** All PostgreSQL processes (shared by other users of the server: an upper bound). */
    postgres: number;
    /** Only the backends of the consumer's own sessions (from pg_stat_activity at the end). */
    postgres_own_backends: number;
    /**
     * This run's share of the server: its own sessions plus the server-wide background processes
     * (WAL writer, checkpointer, background writer, launchers), without other databases' sessions.
     */
    postgres_run: number;
    broker: number;
    total: number;
  };
  /** The worker's threads: main (Kafka, COPY, offsets), the busiest other (decode), the rest (GC, libuv). */
  worker_threads_us_per_row?: { main: number; decode: number; other: number };
  peak_rss_mb?: number;
  /** The worker's flushes over the whole drain (its own metrics): count, mean rows and ms each. */
  flushes?: { count: number; mean_rows: number; mean_ms: number };
}

/**
 * rows/s over [first, last]; CPU per row over [cpuFrom, last], with the rows written in it.
 * The two windows differ for the worker: at its first commit it has already fetched and decoded
 * well past the committed rows, so CPU from then on would be spread over rows partly paid before.
 */
function report(
  first: CpuMark,
  last: CpuMark,
  cpuFrom: CpuMark,
  backends: { own: number[]; background: number[] },
  consumerPid?: number,
): DrainReport {
  const a = cpuFrom;
  const b = last;
  const rows = b.rows - a.rows;
  const hz = clockTicks();
  const per = (ticks: number) => usPerRow(ticks, rows, hz);
  const consumer = b.consumer - a.consumer;
  const postgres = b.postgres.total - a.postgres.total - (b.poller - a.poller);
  const used = (pids: number[]) =>
    pids.reduce(
      (sum, pid) => sum + (b.postgres.children.get(pid) ?? 0) - (a.postgres.children.get(pid) ?? 0),
      0,
    );
  const own = used(backends.own);
  const broker = b.broker - a.broker;
  const out: DrainReport = {
    rows: last.rows - first.rows,
    seconds: +((last.at - first.at) / 1000).toFixed(2),
    rows_per_s: rate(last.rows - first.rows, last.at - first.at),
    cpu_window: { rows, seconds: +((b.at - a.at) / 1000).toFixed(2) },
    cpu_us_per_row: {
      consumer: per(consumer),
      postgres: per(postgres),
      postgres_own_backends: per(own),
      postgres_run: per(own + used(backends.background)),
      broker: per(broker),
      total: per(consumer + postgres + broker),
    },
  };
  if (consumerPid !== undefined && a.threads && b.threads) {
    const used = [...b.threads].map(([tid, t]) => [tid, t - (a.threads?.get(tid) ?? 0)] as const);
    const main = used.find(([tid]) => tid === consumerPid)?.[1] ?? 0;
    const decode = Math.max(0, ...used.filter(([tid]) => tid !== consumerPid).map(([, t]) => t));
    out.worker_threads_us_per_row = {
      main: per(main),
      decode: per(decode),
      other: per(consumer - main - decode),
    };
  }
  return out;
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() pid');
  return rows[0]?.pid as number;
}

/** The backends of a database's sessions (but the poller's), and the server's background processes. */
async function serverBackends(poll: pg.Client, database: string) {
  const { rows } = await poll.query<{ pid: number; own: boolean }>(
    `select pid, datname is not null as own from pg_stat_activity
     where pid <> pg_backend_pid() and (datname = $1 or (datname is null and backend_type <> 'client backend'))`,
    [database],
  );
  return {
    own: rows.filter((r) => r.own).map((r) => r.pid),
    background: rows.filter((r) => !r.own).map((r) => r.pid),
  };
}

/**
 * Wait for `progress` (rows durably written) to reach `total`, measuring from its first move to
 * the end: rows/s and CPU per row over that window, start-up (JVM, JIT, group join) left out.
 */
async function measureDrain(opts: {
  total: number;
  progress: () => Promise<number>;
  consumers: number[];
  poll: pg.Client;
  database: string;
  timeoutMs: number;
  /** Start the rows/s window only once this holds too (e.g. every replica in the group). */
  startWhen?: () => Promise<boolean>;
  /** Take CPU from now (the consumer has started, nothing is stored yet) rather than from the first stored row. */
  cpuFromNow?: boolean;
}): Promise<DrainReport> {
  const pollerPid = await backendPid(opts.poll);
  const early = opts.cpuFromNow ? mark(await opts.progress(), opts.consumers, pollerPid) : undefined;
  const deadline = performance.now() + opts.timeoutMs;
  let first: CpuMark | undefined;
  for (;;) {
    const done = await opts.progress();
    if (done > 0 && !first && (await (opts.startWhen?.() ?? true))) {
      first = mark(await opts.progress(), opts.consumers, pollerPid);
    }
    if (done >= opts.total) break;
    if (performance.now() > deadline) throw new Error(`drain stalled at ${done} of ${opts.total} rows`);
    await sleep(50);
  }
  const own = await serverBackends(opts.poll, opts.database);
  const last = mark(opts.total, opts.consumers, pollerPid);
  const from = first as CpuMark;
  return report(from, last, early ?? from, own, opts.consumers.length === 1 ? opts.consumers[0] : undefined);
}

/** `replicas` workers of one group draining the pre-produced backlog of `topics`. */
async function workerDrain(
  label: string,
  topics: WorkerTopics,
  total: number,
  extra: Record<string, string>,
  replicas = 1,
  cpuProf = false,
): Promise<DrainReport> {
  await sql(
    dbUrl.toString(),
    // The trade numbers go with the ticks: the same feed drained again must be stored again.
    'truncate data_capture.market_ticks, data_capture.ohlcv_bars, data_capture.order_book_snapshots, data_capture.trade_sequences, data_capture.feed_gaps',
  );
  const group = `${runId}.${label}`;
  const workers = Array.from({ length: replicas }, () => startWorker(topics, group, extra, cpuProf));
  const ports = await Promise.all(workers.map((w) => w.started));
  const poll = await connect();
  try {
    const r = await measureDrain({
      total,
      progress: () => storedOffsets(poll, group),
      consumers: workers.map((w) => w.child.pid as number),
      poll,
      database: runId,
      timeoutMs: 600_000,
      // Replicas start together, but the group gives the first one all partitions until the
      // others' join rebalances it (up to a heartbeat later): measure the group at full strength.
      startWhen: replicas > 1 ? () => groupHasMembers(group, replicas) : undefined,
      cpuFromNow: true,
    });
    r.peak_rss_mb = Math.max(...workers.map((w) => peakRssMb(w.child.pid as number)));
    r.flushes = flushStats(await Promise.all(ports.map(scrapeMetrics)));
    return r;
  } finally {
    await poll.end();
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  }
}

async function scrapeMetrics(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!r.ok) throw new Error(`metrics of the worker on ${port}: HTTP ${r.status}`);
  return r.text();
}

/** Flush count, mean rows and mean ms from the workers' batch-rows and flush-duration histograms. */
function flushStats(expositions: string[]): { count: number; mean_rows: number; mean_ms: number } {
  const total = (name: string) =>
    expositions.reduce((sum, text) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      if (!line) throw new Error(`${name} missing from the worker's metrics`);
      return sum + Number(line.slice(name.length + 1));
    }, 0);
  const count = total('tick_ingest_batch_rows_count');
  const per = (sum: number) => (count > 0 ? sum / count : 0);
  return {
    count,
    mean_rows: Math.round(per(total('tick_ingest_batch_rows_sum'))),
    mean_ms: +(per(total('tick_ingest_flush_duration_seconds_sum')) * 1000).toFixed(1),
  };
}

async function groupHasMembers(group: string, members: number): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.state === 'Stable' && groups[0].members.length === members;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Per-stage CPU: a drain under V8's profiler (--cpu-prof writes one profile per thread on exit;
 * Node's thread id 0 is the main thread), each thread's stage shares applied to that thread's
 * CPU µs per row. The profiler costs CPU itself: its own drain, not the headline's.
 */
async function profiledDrain(drain: () => Promise<DrainReport>) {
  const dir = resolve(root, 'bench/results');
  const since = Date.now();
  const r = await drain();
  const threads = r.worker_threads_us_per_row;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && statSync(resolve(dir, f)).mtimeMs >= since)
    .sort();
  const stages_us_per_row: Record<string, Record<string, number>> = {};
  for (const f of files) {
    const main = /\.\d+\.0\.\d+\.cpuprofile$/.test(f);
    const us = (main ? threads?.main : threads?.decode) ?? 0;
    const shares = stageShares(JSON.parse(readFileSync(resolve(dir, f), 'utf8')) as CpuProfile);
    stages_us_per_row[`${main ? 'main' : 'decode'} thread (${f})`] = Object.fromEntries(
      Object.entries(shares).map(([stage, pct]) => [stage, +((pct * us) / 100).toFixed(2)]),
    );
  }
  return { note: 'under the profiler (slower than the headline drains)', ...r, stages_us_per_row };
}

/** Book snapshots with `levels` levels a side, over the synthetic instruments, µs apart. */
function* bookMessages(count: number, levels: number, startUs: number) {
  const list = instruments();
  for (let i = 0; i < count; i++) {
    const ins = list[i % list.length] as (typeof list)[number];
    const mid = ins.price + 0.01 * ((i % 37) - 18);
    yield { key: ins.symbol, value: bookValue(ins.symbol, mid, levels, startUs + i * 50) };
  }
}

/**
 * What identifies a table's ticks before `beforeUs` (the feed's first rows: tick i is at
 * startUs + i × 20 µs), to compare two writers' rows.
 */
async function tickSignature(url: string, beforeUs: number): Promise<string> {
  const [r] = await sql<{ s: string }>(
    url,
    `select concat_ws(' ', count(*), sum(price * volume), sum(trade_id), min(tick_time), max(tick_time),
       count(distinct (symbol, exchange, aggressor))) s
     from data_capture.market_ticks
    where tick_time < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'`,
    [beforeUs],
  );
  return r?.s ?? '';
}

/** Kafka Connect + the Debezium JDBC sink on the same ticks, into a fresh database of its own. */
async function peerDrain(topic: string, total: number, workerRows: string, beforeUs: number) {
  const database = `${runId}_peer`;
  const url = new URL(dbUrl.toString());
  url.pathname = `/${database}`;
  await sql(adminUrl.toString(), `create database "${database}"`);
  const admin = kafka.admin();
  let peer: ReturnType<typeof startPeer> | undefined;
  try {
    await sql(url.toString(), 'create extension if not exists timescaledb');
    await migrate(url.toString());
    peer = startPeer(root, {
      brokers: env.KAFKA_BROKERS ?? '',
      topic,
      databaseUrl: url.toString(),
      name: `${runId}-peer`,
      tasks: PEER_TASKS,
      batchSize: PEER_BATCH,
    });
    children.add(peer.child);
    const group = peer.group;
    await admin.connect();
    const poll = new pg.Client({ connectionString: url.toString() });
    await poll.connect();
    try {
      const r = await measureDrain({
        total,
        progress: async () => {
          const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        },
        consumers: [peer.child.pid as number],
        poll,
        database,
        timeoutMs: 600_000,
      });
      const { rows } = await poll.query<{ n: string }>(
        'select count(*)::text n from data_capture.market_ticks',
      );
      if (Number(rows[0]?.n) !== total) throw new Error(`peer wrote ${rows[0]?.n} rows of ${total}`);
      const peerRows = await tickSignature(url.toString(), beforeUs);
      if (peerRows !== workerRows)
        throw new Error(`peer's rows differ: ${peerRows} vs the worker's ${workerRows}`);
      delete r.worker_threads_us_per_row;
      return {
        connect: peer.versions.connect,
        debezium_jdbc_sink: peer.versions.debezium,
        tasks: PEER_TASKS,
        batch_size: PEER_BATCH,
        same_rows_as_worker: true,
        ...r,
        peak_rss_mb: peakRssMb(peer.child.pid as number),
      };
    } finally {
      await poll.end();
    }
  } finally {
    await peer?.stop();
    await admin.disconnect();
    await sql(adminUrl.toString(), `drop database if exists "${database}" with (force)`);
  }
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
  topics.push(topic);
  await sql(
    dbUrl.toString(),
    'truncate data_capture.market_ticks, data_capture.trade_sequences, data_capture.feed_gaps',
  );
  const group = `${runId}.steady.${rateTarget}`;
  const w = startWorker({ ticks: topic, book: `${runId}.nobook` }, group, { BARS_ENABLED: 'true' });
  // Steady state, not start-up: produce once the worker has joined the group and holds its partitions.
  await waitReady(await w.started);
  const producer = kafka.producer();
  await producer.connect();
  const commits = pollCommits(group, topic);
  const tickMs = 20;
  const perTick = Math.round((rateTarget * tickMs) / 1000);
  const sends: { partition: number; base: number; at: number; warmup: boolean }[] = [];
  const t0 = performance.now();
  let sent = 0;
  const inFlight: Promise<unknown>[] = [];
  // One numbering for the whole run: each symbol's trades continue, no holes between sends.
  const trades = new TradeNumbers();
  for (let step = 0; performance.now() - t0 < (WARMUP_S + seconds) * 1000; step++) {
    const wait = t0 + step * tickMs - performance.now();
    if (wait > 0) await sleep(wait);
    const nowUs = Date.now() * 1000;
    const messages = [
      ...tickMessages(perTick, { firstSeq: sent, seed: step + 1, startUs: nowUs, stepUs: 0, trades }),
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
function pollCommits(group: string, topic: string): { stop(): Promise<CommitLog> } {
  const log: CommitLog = new Map();
  const client = new pg.Client({ connectionString: dbUrl.toString() });
  let running = true;
  const pollOnce = async () => {
    const { rows } = await client.query<{ partition: number; next: string }>(
      'select partition, next_offset::text as next from data_capture.ingest_offsets where group_id = $1 and topic = $2',
      [group, topic],
    );
    const at = performance.now();
    for (const r of rows) {
      const list = log.get(r.partition) ?? [];
      if (list.length === 0) log.set(r.partition, list);
      if (list[list.length - 1]?.next !== Number(r.next)) list.push({ next: Number(r.next), at });
    }
  };
  const loop = (async () => {
    await client.connect();
    while (running) {
      await pollOnce();
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // The caller saw every offset stored; the loop's last poll may have come just before that.
      await pollOnce();
      await client.end();
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

/** The run's topics, deleted at the end: the peer's copy of the feed alone is ~0.9 kB a tick. */
const topics: string[] = [];

/** The ceiling's rows: `messages` formatted by the worker's own code. */
function ceilingLines(messages: Iterable<FeedMessage>): string[] {
  const ctx = {
    timeZone: 'America/Sao_Paulo',
    recordTimeUs: Date.now() * 1000,
    futureWindowUs: 300_000_000,
    pastWindowUs: 31 * 86_400_000_000,
  };
  return [
    ...mapIter(messages, (m) => {
      const d = decodeTick(Buffer.from(m.value), ctx);
      if (!d.ok) throw new Error(`synthetic tick invalid: ${d.error.message}`);
      return tickLine(d.ticks[0] as NonNullable<(typeof d.ticks)[0]>);
    }),
  ];
}

/** The COPY ceilings on 1 and 2 streams; their rows are dropped before the drains. */
async function copyCeilings(lines: string[]) {
  return { copy1: await copyCeiling(lines, 1), copy2: await copyCeiling(lines, 2) };
}

async function main() {
  const started = Date.now();
  const load0 = loadavg()[0] ?? 0;
  log(`${quick ? 'quick' : 'full'} run ${runId}: ${N} ticks, ${PARTITIONS} partitions`);
  await sql(adminUrl.toString(), `create database "${runId}"`);
  try {
    await sql(dbUrl.toString(), 'create extension if not exists timescaledb');
    await migrate(dbUrl.toString());
    const probe = await connect();
    servers.postmaster = postmasterOf(await backendPid(probe));
    await probe.end();
    servers.broker = kafkaBrokerPid(Number(brokers[0]?.split(':')[1]));
    const startUs = Date.now() * 1000 - 6 * 3600 * 1_000_000;
    const ticks = (count: number) => tickMessages(count, { startUs, stepUs: 20 });
    // The peer drains the feed's first PEER_ROWS ticks: those before this instant.
    const peerBeforeUs = startUs + PEER_ROWS * 20;
    const topic = `${runId}.ticks`;
    const bookTopic = `${runId}.book`;
    const noBook = `${runId}.nobook`;
    // Each drain's worker also subscribes the other kind's topic: an empty one, so the group's
    // stored offsets (summed over its topics) count only the drained rows.
    const noTicks = `${runId}.noticks`;
    const peerTopic = `${runId}.peer`;
    const only = ['--steady-only', '--e2e-only', '--peer-only', '--book-only'].find((f) =>
      process.argv.includes(f),
    );
    for (const [t, parts] of [
      [topic, PARTITIONS],
      [bookTopic, PARTITIONS],
      [noTicks, 1],
      [noBook, 1],
      [`${runId}.callbacks`, 1],
      [`${runId}.dlq`, 1],
    ] as const) {
      await createTopic(t, parts);
      topics.push(t);
    }
    const t0 = performance.now();
    await produceAll(topic, ticks(N));
    log(`pre-produced ${N} ticks in ${Math.round(performance.now() - t0)} ms`);

    if (only === '--steady-only') {
      for (const st of STEADY) {
        const r = await steady(st.rate, st.seconds);
        log(`steady ${st.rate}/s: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms`);
      }
      return;
    }
    const drainTicks = (bars: boolean, replicas = 1, cpuProf = false, take = 0) =>
      workerDrain(
        `e2e.${bars ? 'bars' : 'nobars'}.${replicas}${cpuProf ? '.profiled' : ''}${take ? `.${take}` : ''}`,
        { ticks: topic, book: noBook },
        N,
        { BARS_ENABLED: String(bars) },
        replicas,
        cpuProf,
      );
    if (only === '--e2e-only') {
      const bars = process.argv.includes('--bars');
      if (process.argv.includes('--cpu-prof')) {
        const p = await profiledDrain(() => drainTicks(bars, 1, true));
        log(`e2e (bars ${bars ? 'on' : 'off'}), profiled: ${describe(p)}`);
        log(`by stage, µs/row: ${JSON.stringify(p.stages_us_per_row, null, 1)}`);
      } else if (process.argv.includes('--ceiling')) {
        // `--ceiling`: the drain between two 1-stream COPY ceilings, the ratio the issue's target is stated in.
        const b = await bracketedDrain(ceilingLines(ticks(N)), () => drainTicks(bars));
        log(`e2e (bars ${bars ? 'on' : 'off'}): ${describe(b.drain)}`);
        log(describeBracket(b));
      } else log(`e2e (bars ${bars ? 'on' : 'off'}): ${describe(await drainTicks(bars))}`);
      return;
    }
    const drainBooks = async () => {
      await produceAll(bookTopic, bookMessages(BOOKS, BOOK_LEVELS, startUs));
      return workerDrain('books', { ticks: noTicks, book: bookTopic }, BOOKS, {});
    };
    const drainPeer = async (workerRows: string) => {
      await createTopic(peerTopic, PARTITIONS);
      topics.push(peerTopic);
      const p0 = performance.now();
      await produceAll(
        peerTopic,
        mapIter(ticks(PEER_ROWS), (m) => ({ key: m.key, value: connectTick(m.value) })),
      );
      log(`pre-produced ${PEER_ROWS} ticks as Connect JSON in ${Math.round(performance.now() - p0)} ms`);
      return peerDrain(peerTopic, PEER_ROWS, workerRows, peerBeforeUs);
    };
    if (only === '--book-only') {
      log(`book drain: ${describe(await drainBooks())}`);
      return;
    }
    if (only === '--peer-only') {
      await drainTicks(false);
      log(`peer: ${describe(await drainPeer(await tickSignature(dbUrl.toString(), peerBeforeUs)))}`);
      return;
    }

    // The ceilings' rows, formatted once: the ceilings here and those around each drain below.
    const lines = ceilingLines(ticks(N));
    const { copy1, copy2 } = await copyCeilings(lines);
    log(
      `COPY ceiling: ${copy1.rowsPerS} rows/s on 1 stream (PostgreSQL ${copy1.pgUsPerRow} µs/row), ${copy2.rowsPerS} on 2`,
    );
    const consume = await kafkaConsumeCeiling(topic, N);
    log(`kafka consume ceiling: ${consume} msgs/s`);
    // Bars off and on alternate, E2E_TAKES drains each, every one between two 1-stream ceilings (the
    // machine's speed drifts within a minute). The median take by ratio is each side's headline (its
    // CPU figures too); PostgreSQL's bars on / off compares the two sides' medians.
    const offTakes: Bracketed[] = [];
    const takes: Bracketed[] = [];
    for (let k = 1; k <= E2E_TAKES; k++) {
      const off = await bracketedDrain(lines, () => drainTicks(false, 1, false, k));
      offTakes.push(off);
      log(`e2e (bars off), take ${k}: ${describe(off.drain)}`);
      log(describeBracket(off));
      const take = await bracketedDrain(lines, () => drainTicks(true, 1, false, k));
      takes.push(take);
      log(`e2e (bars on), take ${k}: ${describe(take.drain)}`);
      log(describeBracket(take));
    }
    const offMedian = medianOf(offTakes, (t) => t.ratio);
    const barsOff = offMedian.drain;
    const median = medianOf(takes, (t) => t.ratio);
    const barsOn = median.drain;
    const postgresOn = medianOf(takes, (t) => t.drain.cpu_us_per_row.postgres).drain.cpu_us_per_row.postgres;
    const postgresOff = medianOf(offTakes, (t) => t.drain.cpu_us_per_row.postgres).drain.cpu_us_per_row
      .postgres;
    const overCopyOn = medianOf(takes, (t) => t.postgres_vs_copy_alone).postgres_vs_copy_alone;
    const overCopyOff = medianOf(offTakes, (t) => t.postgres_vs_copy_alone).postgres_vs_copy_alone;
    // The same drain with smaller fetches (docs/scaling.md): peak RSS against CPU per row.
    const lean = await workerDrain('e2e.bars.lean', { ticks: topic, book: noBook }, N, {
      BARS_ENABLED: 'true',
      ...LEAN_FETCH,
    });
    log(
      `e2e (bars on, fetches of ${LEAN_FETCH.KAFKA_FETCH_PARTITION_BYTES} B a partition): ${describe(lean)}`,
    );
    const workerRows = await tickSignature(dbUrl.toString(), peerBeforeUs);
    const profile = process.argv.includes('--cpu-prof')
      ? await profiledDrain(() => drainTicks(true, 1, true))
      : undefined;
    if (profile) log(`e2e (bars on) by stage, µs/row: ${JSON.stringify(profile.stages_us_per_row, null, 1)}`);
    const twoReplicas = await drainTicks(true, 2);
    log(`e2e (bars on, 2 replicas): ${describe(twoReplicas)}`);
    const books = await drainBooks();
    log(`book drain (${BOOK_LEVELS} levels a side): ${describe(books)}`);
    const peer = await drainPeer(workerRows);
    log(
      `peer (Kafka Connect ${peer.connect} + Debezium JDBC sink ${peer.debezium_jdbc_sink}): ${describe(peer)}`,
    );
    await sql(
      dbUrl.toString(),
      'truncate data_capture.market_ticks, data_capture.trade_sequences, data_capture.feed_gaps',
    );
    const naive = await naiveInsert(topic, NAIVE_SAMPLE);
    log(`naive INSERT: ${naive} rows/s`);
    const steadyResults = [];
    for (const s of STEADY) {
      const r = await steady(s.rate, s.seconds);
      log(`steady ${s.rate}/s: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms`);
      steadyResults.push(r);
    }
    const ceiling = Math.max(copy1.rowsPerS, copy2.rowsPerS);
    const cpu = (r: DrainReport) => r.cpu_us_per_row;
    const result = {
      run: runId,
      mode: quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        node: process.version,
        clk_tck: clockTicks(),
        // The machine is shared: the 1-minute load at the start and the end of the run.
        loadavg_1m: [+load0.toFixed(2), +(loadavg()[0] ?? 0).toFixed(2)],
      },
      rows: N,
      partitions: PARTITIONS,
      // The headline: CPU µs per row over each drain, from /proc (less noisy than rows/s).
      cpu_us_per_row: {
        worker_bars_on: cpu(barsOn).consumer,
        worker_bars_off: cpu(barsOff).consumer,
        postgres_bars_on: cpu(barsOn).postgres,
        postgres_bars_off: cpu(barsOff).postgres,
        // This run's own sessions only: the figure other users of the shared server do not move.
        postgres_own_backends_bars_on: cpu(barsOn).postgres_own_backends,
        postgres_own_backends_bars_off: cpu(barsOff).postgres_own_backends,
        broker_bars_on: cpu(barsOn).broker,
        broker_bars_off: cpu(barsOff).broker,
        postgres_copy_alone: copy1.pgUsPerRow,
        worker_books: cpu(books).consumer,
        postgres_books: cpu(books).postgres,
        peer_jvm: cpu(peer).consumer,
        postgres_peer: cpu(peer).postgres,
        postgres_own_backends_peer: cpu(peer).postgres_own_backends,
        postgres_run_bars_on: cpu(barsOn).postgres_run,
        postgres_run_bars_off: cpu(barsOff).postgres_run,
        postgres_run_books: cpu(books).postgres_run,
        postgres_run_peer: cpu(peer).postgres_run,
        worker_two_replicas: cpu(twoReplicas).consumer,
        worker_bars_on_lean_fetch: cpu(lean).consumer,
      },
      copy_ceiling_rows_per_s: ceiling,
      copy_ceiling_1_stream_rows_per_s: copy1.rowsPerS,
      copy_ceiling_2_streams_rows_per_s: copy2.rowsPerS,
      kafka_consume_rows_per_s: consume,
      e2e_rows_per_s: barsOn.rows_per_s,
      e2e_rows_per_s_bars_off: barsOff.rows_per_s,
      naive_insert_rows_per_s: naive,
      // timescaledb-parallel-copy (Go) is the natural peer, but the Go module proxy here refuses
      // github.com/timescale/timescaledb-parallel-copy (403), so it cannot be built on these machines.
      parallel_copy_rows_per_s: null,
      peak_rss_mb: Math.max(barsOn.peak_rss_mb ?? 0, barsOff.peak_rss_mb ?? 0),
      peak_rss_mb_lean_fetch: lean.peak_rss_mb,
      lean_fetch: LEAN_FETCH,
      e2e: {
        bars_on: barsOn,
        // Every take: the drain with the 1-stream ceilings just before and after it.
        bars_on_takes: takes,
        // Every bars-off take likewise (bars_off is the median one).
        bars_off_takes: offTakes,
        bars_off: barsOff,
        bars_on_lean_fetch: lean,
        ...(profile ? { profiled_bars_on: profile } : {}),
      },
      replicas: {
        one: {
          rows_per_s: barsOn.rows_per_s,
          per_partition_rows_per_s: Math.round(barsOn.rows_per_s / PARTITIONS),
        },
        two: {
          ...twoReplicas,
          per_replica_rows_per_s: Math.round(twoReplicas.rows_per_s / 2),
          per_partition_rows_per_s: Math.round(twoReplicas.rows_per_s / PARTITIONS),
        },
      },
      book: { levels_a_side: BOOK_LEVELS, ...books },
      peer,
      steady: steadyResults,
      ratios: {
        e2e_vs_copy_ceiling: +(barsOn.rows_per_s / ceiling).toFixed(3),
        e2e_bars_off_vs_copy_ceiling: +(barsOff.rows_per_s / ceiling).toFixed(3),
        e2e_vs_copy_1_stream: +(barsOn.rows_per_s / copy1.rowsPerS).toFixed(3),
        // The target's ratio: the median take's drain over the mean of the ceilings around it.
        e2e_vs_copy_1_stream_bracketed: median.ratio,
        e2e_vs_kafka_consume: +(barsOn.rows_per_s / consume).toFixed(3),
        e2e_vs_naive_insert: +(barsOn.rows_per_s / naive).toFixed(1),
        worker_vs_peer_rows_per_s: +(barsOn.rows_per_s / peer.rows_per_s).toFixed(2),
        worker_bars_off_vs_peer_rows_per_s: +(barsOff.rows_per_s / peer.rows_per_s).toFixed(2),
        peer_vs_worker_cpu_per_row: +(cpu(peer).consumer / cpu(barsOn).consumer).toFixed(2),
        two_replicas_vs_one_rows_per_s: +(twoReplicas.rows_per_s / barsOn.rows_per_s).toFixed(2),
        // The median take's PostgreSQL CPU per row with bars over the median without.
        postgres_bars_on_vs_off_cpu: +(postgresOn / postgresOff).toFixed(2),
        // The same, each drain's PostgreSQL CPU per row taken over COPY alone's around it (the machine drifts).
        postgres_bars_on_vs_off_cpu_bracketed: +(overCopyOn / overCopyOff).toFixed(2),
        // Per row, the worker's CPU over PostgreSQL's in the same drain: steadier than either on a shared machine.
        worker_vs_postgres_cpu_bars_on: +(cpu(barsOn).consumer / cpu(barsOn).postgres).toFixed(2),
        lean_fetch_vs_default_worker_cpu: +(cpu(lean).consumer / cpu(barsOn).consumer).toFixed(2),
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
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch((e: Error) => log(`could not delete topics: ${e.message}`));
    await admin.disconnect();
  }
}

function* mapIter<T, U>(it: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const t of it) yield f(t);
}

/** A drain with the 1-stream COPY ceiling measured just before and just after it. */
interface Bracketed {
  ceiling_before_rows_per_s: number;
  ceiling_after_rows_per_s: number;
  /** The drain's rows/s over the mean of the two ceilings. */
  ratio: number;
  /** PostgreSQL's CPU µs per row in the drain over its mean in the two ceilings (COPY alone). */
  postgres_vs_copy_alone: number;
  drain: DrainReport;
}

/**
 * The machine's speed drifts over minutes (a shared host): a ceiling taken minutes before a drain
 * moved the drain's ratio by ±0.15 between runs. Ceilings right around it follow the drift.
 */
async function bracketedDrain(lines: string[], drain: () => Promise<DrainReport>): Promise<Bracketed> {
  const before = await copyCeiling(lines, 1);
  const r = await drain();
  const after = await copyCeiling(lines, 1);
  return {
    ceiling_before_rows_per_s: before.rowsPerS,
    ceiling_after_rows_per_s: after.rowsPerS,
    ratio: +((2 * r.rows_per_s) / (before.rowsPerS + after.rowsPerS)).toFixed(3),
    postgres_vs_copy_alone: +(
      (2 * r.cpu_us_per_row.postgres) /
      (before.pgUsPerRow + after.pgUsPerRow)
    ).toFixed(3),
    drain: r,
  };
}

/** The middle item by `key` (the upper middle of an even count). */
function medianOf<T>(items: readonly T[], key: (t: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)] as T;
}

const describeBracket = (b: Bracketed) =>
  `COPY ceiling ${b.ceiling_before_rows_per_s} rows/s before, ${b.ceiling_after_rows_per_s} after: e2e ${b.ratio} × their mean; PostgreSQL ${b.postgres_vs_copy_alone} × its CPU per row in them`;

function describe(r: DrainReport): string {
  const c = r.cpu_us_per_row;
  const threads = r.worker_threads_us_per_row;
  return (
    `${r.rows_per_s} rows/s; CPU µs/row: consumer ${c.consumer}` +
    (threads ? ` (main ${threads.main}, decode ${threads.decode}, other ${threads.other})` : '') +
    `, PostgreSQL ${c.postgres} (this run ${c.postgres_run}, own sessions ${c.postgres_own_backends}), broker ${c.broker}` +
    (r.peak_rss_mb ? `; peak RSS ${r.peak_rss_mb} MB` : '') +
    (r.flushes ? `; ${r.flushes.count} flushes of ${r.flushes.mean_rows} rows, ${r.flushes.mean_ms} ms` : '')
  );
}

function printTable(r: Record<string, unknown>) {
  const cpuRows = Object.entries(r.cpu_us_per_row as Record<string, unknown>).map(
    ([k, v]) => [`CPU µs/row ${k}`, v] as [string, unknown],
  );
  const rows: Array<[string, unknown]> = Object.entries(r).filter(
    ([, v]) => typeof v !== 'object' || v === null,
  );
  const drains = [
    ['e2e bars on', (r.e2e as Record<string, DrainReport>).bars_on],
    ['e2e bars off', (r.e2e as Record<string, DrainReport>).bars_off],
    ['e2e bars on, 2 replicas', (r.replicas as { two: DrainReport }).two],
    ['book drain', r.book as DrainReport],
    ['peer (Connect + JDBC sink)', r.peer as DrainReport],
  ].map(([k, d]) => [k, describe(d as DrainReport)] as [string, unknown]);
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
  const all = [...cpuRows, ...rows, ...drains, ...ratios, ...steadyRows];
  const w = Math.max(...all.map(([k]) => k.length));
  console.log(all.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
}

await main();
process.exit(0);
