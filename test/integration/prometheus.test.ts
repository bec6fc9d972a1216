import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrometheusServer, startPrometheus } from '../../src/demo/prometheus.js';
import { parseExposition } from '../../src/demo/scrape.js';
import { tickMessages } from '../../src/feed/synthetic.js';
import { migrate } from '../../src/schema/index.js';
import { type FreshDatabase, freshDatabase, freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startWorker, type WorkerProcess, waitFor } from '../support/worker.js';

/**
 * Debian's Prometheus server with the project's scrape config and alert rules (deploy/prometheus/,
 * the worker's address instead of the compose network's DNS name, `for:` and windows shortened to
 * RULE_SECONDS) scraping a real worker. The worker reaches PostgreSQL through a TCP proxy the test
 * cuts, so the shared server never stops.
 */
const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');
const RULE_SECONDS = 15;
const BEFORE = 300;
const DURING = 200;

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

describe('a real Prometheus scraping a real worker', () => {
  let db: FreshDatabase;
  let proxy: TcpProxy;
  let worker: WorkerProcess;
  let metricsPort: number;
  let prometheus: PrometheusServer;
  let producer: Producer;
  let ticks: string;

  const query = async (
    promql: string,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: [] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data.result;
  };
  const alerts = async (name: string): Promise<Alert[]> => {
    const res = await fetch(`${prometheus.url}/api/v1/alerts`);
    const body = (await res.json()) as { data: { alerts: Array<Alert & { labels: { alertname: string } }> } };
    return body.data.alerts.filter((a) => a.labels.alertname === name);
  };
  const rowsInPrometheus = async () =>
    Number((await query('sum(tick_ingest_rows_written_total{job="tick-ingest"})'))[0]?.value[1] ?? -1);
  const send = async (count: number, firstSeq: number) => {
    const messages = [...tickMessages(count, { startUs: Date.now() * 1000 - 60_000_000, firstSeq })];
    await producer.send({ topic: ticks, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
  };

  beforeAll(async () => {
    db = await freshDatabase('prom');
    await migrate(db.url);
    const pgUrl = new URL(stack().databaseUrl);
    proxy = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    // One partition each: the first batch claims it before the database is cut.
    ticks = await freshTopic('prom', 1);
    const [book, callbacks] = [await freshTopic('prom', 1), await freshTopic('prom', 1)];
    worker = startWorker({
      DATABASE_URL: viaProxy.toString(),
      KAFKA_BROKERS: stack().kafkaBrokers,
      KAFKA_GROUP_ID: `${ticks}.g`,
      TOPIC_TICKS: ticks,
      TOPIC_BOOK: book,
      TOPIC_CALLBACKS: callbacks,
      TOPIC_DLQ: `${ticks}.dlq`,
    });
    metricsPort = await worker.started;
    prometheus = await startPrometheus({
      root,
      targets: [`127.0.0.1:${metricsPort}`],
      intervalSeconds: 1,
      shortRulesSeconds: RULE_SECONDS,
    });
    producer = testKafka().producer();
    await producer.connect();
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    proxy?.restore();
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await prometheus?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('scrapes the worker: its target is up and the rows it wrote are in the TSDB', async () => {
    await send(BEFORE, 0);
    await waitFor(
      'Prometheus to hold the rows the worker wrote',
      async () => (await rowsInPrometheus()) === BEFORE,
    );
    const res = await fetch(`${prometheus.url}/api/v1/targets`);
    const { data } = (await res.json()) as {
      data: { activeTargets: Array<{ labels: { job: string }; scrapeUrl: string; health: string }> };
    };
    const mine = data.activeTargets.filter((t) => t.labels.job === 'tick-ingest');
    expect(mine.map((t) => [t.scrapeUrl, t.health])).toEqual([
      [`http://127.0.0.1:${metricsPort}/metrics`, 'up'],
    ]);
    expect(await query('up{job="tick-ingest"}')).toEqual([
      expect.objectContaining({ value: [expect.any(Number), '1'] }),
    ]);
    const byTable = await query('tick_ingest_rows_written_total{job="tick-ingest"}');
    expect(byTable.map((s) => [s.metric.table, s.value[1]])).toEqual([['market_ticks', String(BEFORE)]]);
  });

  it('every metric the alerts and the dashboard use is one the worker exports, and Prometheus has it', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const declared = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      declared.add(name as string);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) declared.add(`${name}${s}`);
    }
    expect(declared.size).toBeGreaterThan(20);
    const used = (file: string) =>
      new Set([...read(file).matchAll(/\btick_ingest_[a-z0-9_]+/g)].map((m) => m[0]));
    const dashboard = used('deploy/grafana/dashboards/tick-ingest.json');
    const rules = used('deploy/prometheus/alerts.yml');
    expect(dashboard.size).toBeGreaterThan(5);
    expect(rules.size).toBeGreaterThan(3);
    const all = [...dashboard, ...rules];
    expect(all.filter((n) => !declared.has(n))).toEqual([]);

    // What the worker has samples of right now must be in Prometheus under the same name.
    const sampled = new Set(parseExposition(text).map((s) => s.name));
    const res = await fetch(`${prometheus.url}/api/v1/label/__name__/values`);
    const inPrometheus = new Set(((await res.json()) as { data: string[] }).data);
    const expected = all.filter((n) => sampled.has(n));
    expect(expected.length).toBeGreaterThan(5);
    expect(expected.filter((n) => !inPrometheus.has(n))).toEqual([]);
  });

  it('TickIngestDatabaseUnreachable fires while the database is cut off, and clears once it is back', async () => {
    expect(await alerts('TickIngestDatabaseUnreachable')).toEqual([]);
    proxy.cut();
    await send(DURING, BEFORE);
    let firing: Alert[] = [];
    await waitFor(
      'the alert to fire',
      async () => {
        firing = (await alerts('TickIngestDatabaseUnreachable')).filter((a) => a.state === 'firing');
        return firing.length > 0;
      },
      90_000,
    );
    expect(firing.map((a) => [a.labels.instance, a.labels.severity])).toEqual([
      [`127.0.0.1:${metricsPort}`, 'critical'],
    ]);
    // Nothing landed meanwhile: the retriable errors are the outage, not rows lost.
    expect(await rowsInPrometheus()).toBe(BEFORE);

    proxy.restore();
    await waitFor(
      'the held rows to land',
      async () => (await rowsInPrometheus()) === BEFORE + DURING,
      90_000,
    );
    await waitFor(
      'the alert to clear',
      async () => (await alerts('TickIngestDatabaseUnreachable')).length === 0,
      90_000,
    );
  });
});
