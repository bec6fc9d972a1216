import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../src/demo/stack.js';
import { tickMessages } from '../../src/feed/synthetic.js';
import { migrate } from '../../src/schema/index.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';
import { startWorker, type WorkerProcess, waitFor } from '../support/worker.js';

/**
 * The stack runs Kafka 4.x; clusters still on 3.9 must keep working. A second broker, Kafka 3.9.1
 * (scripts/stack-up.sh with STACK_KAFKA_VERSION, its own name and ports, no PostgreSQL of its own),
 * and the worker end to end on a small feed with a few invalid messages: exact counts in the
 * database and on the dead-letter topic. The broker is stopped afterwards.
 */
const root = resolve(import.meta.dirname, '../..');
const STACK = {
  STACK_NAME: 'kafka39',
  STACK_KAFKA_VERSION: '3.9.1',
  STACK_KAFKA_PORT: '59132',
  STACK_KAFKA_CONTROLLER_PORT: '59133',
  STACK_SERVICES: 'kafka',
};
const TICKS = 2000;
const INVALID = ['{"symbol":', '[1,2,3]', JSON.stringify({ symbol: 'PETR4', price: '-1' })];

const script = (name: string) =>
  execFileSync('bash', [resolve(root, 'scripts', name)], {
    env: { ...process.env, ...STACK },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60_000,
  });

describe('the worker on a Kafka 3.9 cluster', () => {
  let kafka: Kafka;
  let brokers: string;
  let db: FreshDatabase;
  let worker: WorkerProcess | undefined;
  const topic = (t: string) => `k39.${t}.${Date.now().toString(36)}`;
  const topics = {
    ticks: topic('ticks'),
    book: topic('book'),
    callbacks: topic('callbacks'),
    dlq: topic('dlq'),
  };

  beforeAll(async () => {
    script('stack-up.sh');
    const env = parseEnvFile(readFileSync(resolve(root, '.stack-kafka39/env'), 'utf8'));
    if (!env.KAFKA_BROKERS) throw new Error('.stack-kafka39/env lacks KAFKA_BROKERS');
    brokers = env.KAFKA_BROKERS;
    kafka = new Kafka({ clientId: 'kafka39-test', brokers: [brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => b.port)).toEqual([Number(STACK.STACK_KAFKA_PORT)]);
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(topics).map((t) => ({ topic: t, numPartitions: t === topics.ticks ? 3 : 1 })),
    });
    await admin.disconnect();
    db = await freshDatabase('k39');
    await migrate(db.url);
  }, 15 * 60_000);

  afterAll(async () => {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await db?.drop();
    if (kafka) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.disconnect();
    }
    script('stack-down.sh');
  }, 120_000);

  it('is a broker that stack-up started from the 3.9.1 jars', () => {
    const pid = readFileSync(resolve(root, '.stack-kafka39/kafka.pid'), 'utf8').trim();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('kafka.Kafka');
    expect(cmdline.join(' ')).toMatch(/\/kafka-3\.9\.1\/libs\//);
  });

  it('lands every valid tick exactly once and dead-letters the invalid ones', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const feed = [...tickMessages(TICKS, { startUs: Date.now() * 1000 - 60_000_000 })];
    await producer.send({
      topic: topics.ticks,
      messages: [
        ...feed.map((m) => ({ key: m.key, value: m.value })),
        ...INVALID.map((value) => ({ key: 'bad', value })),
      ],
    });
    await producer.disconnect();

    const running = startWorker({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers,
      KAFKA_GROUP_ID: `${topics.ticks}.g`,
      TOPIC_TICKS: topics.ticks,
      TOPIC_BOOK: topics.book,
      TOPIC_CALLBACKS: topics.callbacks,
      TOPIC_DLQ: topics.dlq,
    });
    worker = running;
    await running.started;

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const count = async () =>
      Number(
        (await client.query<{ n: string }>('select count(*) n from data_capture.market_ticks')).rows[0]?.n,
      );
    const admin = kafka.admin();
    await admin.connect();
    const dlq = async () =>
      (await admin.fetchTopicOffsets(topics.dlq)).reduce((n, p) => n + Number(p.high), 0);
    try {
      await waitFor('every tick in market_ticks', async () => (await count()) >= TICKS, 90_000);
      await waitFor('every invalid message on the DLQ', async () => (await dlq()) >= INVALID.length, 30_000);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
      expect(await count()).toBe(TICKS);
      expect(await dlq()).toBe(INVALID.length);
      const stored = await client.query<{ n: string }>(
        `select sum(next_offset)::text n from data_capture.ingest_offsets where topic = $1`,
        [topics.ticks],
      );
      expect(Number(stored.rows[0]?.n)).toBe(TICKS + INVALID.length);
    } finally {
      await admin.disconnect();
      await client.end();
    }
  });
});
