import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import kafkajs, { type Admin } from 'kafkajs';
import { quietIdleRequestQueues } from '../consumers/kafka-client.js';
import type { Expected } from '../feed/mix.js';
import { type ProduceProgress, produceFeed, type Topics } from '../feed/produce.js';
import { barLines, checkLines, checks, progressLines } from './display.js';
import { type PrometheusServer, startPrometheus } from './prometheus.js';
import { latestBars, readLanded } from './report.js';
import { parseExposition, rowRates, type WorkerFigures, workerFigures } from './scrape.js';
import { bringUpStack, recreateDatabase } from './stack.js';
import { portOrAny, startWorkerChild, type WorkerChild } from './worker.js';

/**
 * `npm run demo`: the whole path on one machine. Stack up, a fresh database migrated, fresh topics,
 * the worker as a child process scraped by a local Prometheus (deploy/prometheus/'s config and
 * rules), a synthetic feed with live figures from the worker's /metrics, then what landed beside
 * what the feed predicts. Exit 0 only when they agree.
 */
const root = resolve(import.meta.dirname, '../..');
const DATABASE = process.env.DEMO_DATABASE ?? 'tick_ingest_demo';
const MESSAGES = Number(process.env.DEMO_MESSAGES ?? 280_000);
const TIME_ZONE = 'America/Sao_Paulo';
const BAR_SYMBOLS = ['PETR4', 'VALE3', 'WINZ26'];
const LAND_TIMEOUT_MS = 120_000;

const say = (s: string) => process.stdout.write(`${s}\n`);
const step = (s: string) => say(`\n== ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** This run's topics under the demo's own prefix; earlier runs' topics are deleted first. */
async function prepareTopics(admin: Admin, runId: string): Promise<Topics & { dlq: string }> {
  const prefix = `${DATABASE}.`;
  const old = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (old.length > 0) await admin.deleteTopics({ topics: old });
  const t = {
    ticks: `${prefix}${runId}.market.ticks`,
    book: `${prefix}${runId}.market.book`,
    callbacks: `${prefix}${runId}.profitdll.callbacks`,
    dlq: `${prefix}${runId}.ingest.dlq`,
  };
  // A busy broker can answer "does not host this topic-partition" while it elects the leaders: retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: t.ticks, numPartitions: 6 },
          { topic: t.book, numPartitions: 3 },
          { topic: t.callbacks, numPartitions: 3 },
          { topic: t.dlq, numPartitions: 1 },
        ],
      });
      break;
    } catch (err) {
      if (attempt >= 20 || !(err as { retriable?: boolean }).retriable) throw err;
      await sleep(500);
    }
  }
  say(
    `created ${Object.values(t).join(', ')}${old.length ? ` (deleted ${old.length} from earlier runs)` : ''}`,
  );
  return t;
}

/** Prometheus on 9090 when free, scraping the worker every second; the demo goes on without it. */
async function startDemoPrometheus(workerPort: number): Promise<PrometheusServer | undefined> {
  try {
    execFileSync('bash', [resolve(root, 'scripts/ensure-tools.sh')], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return await startPrometheus({
      root,
      targets: [`127.0.0.1:${workerPort}`],
      intervalSeconds: 1,
      port: (await portOrAny(9090)) || undefined,
    });
  } catch (err) {
    say(
      `Prometheus did not start (${err instanceof Error ? err.message : String(err)}); going on without it`,
    );
    return undefined;
  }
}

/** What Prometheus scraped: the worker's rows written, summed over tables. */
async function promRows(prometheus: PrometheusServer): Promise<number | undefined> {
  const query = encodeURIComponent('sum(tick_ingest_rows_written_total{job="tick-ingest"})');
  try {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
      data?: { result?: Array<{ value: [number, string] }> };
    };
    const value = body.data?.result?.[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  } catch {
    return undefined;
  }
}

async function scrape(port: number): Promise<WorkerFigures | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return res.ok ? workerFigures(parseExposition(await res.text())) : undefined;
  } catch {
    return undefined;
  }
}

/** Redraws a few lines in place on a terminal; elsewhere prints them every few seconds. */
function liveDisplay() {
  const tty = process.stdout.isTTY;
  let drawn = 0;
  let lastPrint = 0;
  return (lines: string[], final = false) => {
    if (tty) {
      const up = drawn > 0 ? `\x1b[${drawn}F` : '';
      process.stdout.write(`${up}${lines.map((l) => `${l}\x1b[K`).join('\n')}\n`);
      drawn = lines.length;
    } else if (final || Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      say(lines.join('\n'));
    }
  };
}

function landed(w: WorkerFigures | undefined, e: Expected): boolean {
  if (!w) return false;
  const r = w.rowsByTable;
  const callbacks = e.callbacks.PROCESSED + e.callbacks.FAILED + e.callbacks.SKIPPED;
  return (
    (r.market_ticks ?? 0) >= e.marketTicks &&
    (r.order_book_snapshots ?? 0) >= e.bookSnapshots &&
    (r.profitdll_callbacks ?? 0) >= callbacks &&
    w.deadLettered >= e.deadLetters &&
    w.duplicateTrades >= e.duplicateTrades
  );
}

async function main(): Promise<number> {
  const started = Date.now();
  const runId = started.toString(36);
  step('1/6 stack');
  const stack = bringUpStack(root, process.env, say);
  say(`using ${stack.source}: Kafka ${stack.kafkaBrokers}`);

  step(`2/6 database ${DATABASE} (dropped and recreated) + tick-ingest migrate`);
  const databaseUrl = await recreateDatabase(stack.databaseUrl, DATABASE);
  const migrated = execFileSync(process.execPath, [resolve(root, 'dist/cli.js'), 'migrate'], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  say(migrated.toString().trim());

  step('3/6 topics');
  quietIdleRequestQueues();
  const kafka = new kafkajs.Kafka({
    clientId: 'tick-ingest-demo',
    brokers: stack.kafkaBrokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  let worker: WorkerChild | undefined;
  let prometheus: PrometheusServer | undefined;
  try {
    const topics = await prepareTopics(admin, runId);

    step('4/6 worker: tick-ingest run');
    mkdirSync(resolve(root, '.demo'), { recursive: true });
    const logFile = resolve(root, '.demo/worker.log');
    worker = startWorkerChild(
      root,
      {
        DATABASE_URL: databaseUrl,
        KAFKA_BROKERS: stack.kafkaBrokers,
        KAFKA_GROUP_ID: `${DATABASE}-${runId}`,
        TOPIC_TICKS: topics.ticks,
        TOPIC_BOOK: topics.book,
        TOPIC_CALLBACKS: topics.callbacks,
        TOPIC_DLQ: topics.dlq,
        METRICS_PORT: String(await portOrAny(9464)),
        EXCHANGE_TIME_ZONE: TIME_ZONE,
      },
      logFile,
    );
    const port = await worker.started;
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    say(`worker started: ${metricsUrl} (log: ${logFile})`);
    prometheus = await startDemoPrometheus(port);
    if (prometheus)
      say(
        `Prometheus: ${prometheus.url} scrapes it with deploy/prometheus/ (open ${prometheus.url}/graph or /alerts while the demo runs)`,
      );

    step(
      `5/6 feed: ${MESSAGES.toLocaleString('en-US')} messages (ticks, books, callbacks of every type, 1% invalid, some trades replayed, some trade numbers skipped)`,
    );
    const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    const draw = liveDisplay();
    let progress: ProduceProgress | undefined;
    let prev: { at: number; figures: WorkerFigures } | undefined;
    let figures: WorkerFigures | undefined;
    let rates: Record<string, number> = {};
    const refresh = async (final = false) => {
      figures = await scrape(port);
      const now = Date.now();
      if (figures && prev) rates = rowRates(prev.figures, figures, (now - prev.at) / 1000);
      if (figures) prev = { at: now, figures };
      const sendRate = progress && progress.elapsedMs > 0 ? (progress.sent * 1000) / progress.elapsedMs : 0;
      draw(
        progressLines({
          elapsedS: (now - started) / 1000,
          sent: progress?.sent ?? 0,
          target: MESSAGES,
          sendRate,
          worker: figures,
          rowRates: rates,
        }),
        final,
      );
    };
    const ticker = setInterval(() => void refresh(), 1000);
    let expected: Expected;
    try {
      const nowUs = Date.now() * 1000;
      const stepUs = 600e6 / MESSAGES; // message times spread over the last 10 minutes
      expected = await produceFeed(
        producer,
        topics,
        { count: MESSAGES, invalidFraction: 0.01, startUs: nowUs - MESSAGES * stepUs, stepUs },
        (p) => {
          progress = p;
        },
      );
      await producer.disconnect();
      const deadline = Date.now() + LAND_TIMEOUT_MS;
      while (!landed(figures, expected) && Date.now() < deadline) await sleep(250);
      // Let the bar builder finish the spans of the last flushes.
      let bars = -1;
      while (figures && figures.barsUpserted !== bars && Date.now() < deadline) {
        bars = figures.barsUpserted;
        await sleep(2000);
      }
    } finally {
      clearInterval(ticker);
    }
    await refresh(true);
    // Until Prometheus holds the final counters too (its first scrapes may lag on a busy machine).
    const written = figures ? Object.values(figures.rowsByTable).reduce((n, r) => n + r, 0) : undefined;
    let scraped = prometheus ? await promRows(prometheus) : undefined;
    for (const until = Date.now() + 20_000; prometheus && scraped !== written && Date.now() < until; ) {
      await sleep(500);
      scraped = await promRows(prometheus);
    }

    step('6/6 stop the worker (SIGTERM) and read back what landed');
    worker.child.kill('SIGTERM');
    say(`worker exited: ${await worker.exited}`);
    const result = checks(
      expected,
      await readLanded(databaseUrl, admin, topics.dlq, figures?.duplicateTrades ?? 0),
    );
    for (const line of checkLines(result)) say(line);
    say(`\nlatest 1m bars (${TIME_ZONE}):`);
    for (const line of barLines(await latestBars(databaseUrl, BAR_SYMBOLS, 3, TIME_ZONE))) say(line);
    const ok = result.every((c) => c.expected === c.landed);
    say(`
worker /metrics was served at ${metricsUrl} while it ran (Prometheus text; see docs/operations.md)
${prometheus ? `Prometheus at ${prometheus.url} scraped it: ${scraped?.toLocaleString('en-US') ?? 'no'} rows written (sum of tick_ingest_rows_written_total)` : 'Prometheus did not run'}
explore: psql ${databaseUrl}
         dead letters: topic ${topics.dlq} on ${stack.kafkaBrokers}
${ok ? 'demo OK' : 'demo FAILED: what landed differs from what the feed predicts'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return ok ? 0 : 1;
  } finally {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null)
      worker.child.kill('SIGTERM');
    await prometheus?.stop();
    await admin.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
