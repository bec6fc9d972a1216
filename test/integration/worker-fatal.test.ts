import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/schema/index.js';
import { type FreshDatabase, freshDatabase, freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';
import { startWorker } from '../support/worker.js';

/**
 * An error waiting cannot fix (here: a table a half-applied migration left out) is fatal: the worker
 * says which, counts it, and exits non-zero for the orchestrator to restart it, instead of retrying
 * for ever with a warning while /healthz says all is well.
 */
let fresh: FreshDatabase;

beforeAll(async () => {
  fresh = await freshDatabase('fatal');
  await migrate(fresh.url);
  const c = new pg.Client({ connectionString: fresh.url });
  await c.connect();
  await c.query('drop table data_capture.ingest_offsets');
  await c.end();
});

afterAll(async () => {
  await fresh?.drop();
});

describe('fatal errors', () => {
  it('a missing table: logged at fatal level naming it, exit code 1', async () => {
    const topics = { ticks: await freshTopic('fatal.ticks', 1), book: await freshTopic('fatal.book', 1) };
    const callbacks = await freshTopic('fatal.cb', 1);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: topics.ticks,
      messages: [
        {
          value:
            '{"symbol":"PETR4","price":"1","volume":1,"aggressor":"BUY","tickTime":"2026-01-01T10:00:00Z"}',
        },
      ],
    });
    await producer.disconnect();
    const w = startWorker({
      DATABASE_URL: fresh.url,
      KAFKA_BROKERS: stack().kafkaBrokers,
      KAFKA_GROUP_ID: `fatal-${Date.now()}`,
      TOPIC_TICKS: topics.ticks,
      TOPIC_BOOK: topics.book,
      TOPIC_CALLBACKS: callbacks,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    });
    await w.started;
    const code = await Promise.race([
      w.exited,
      new Promise((r) => setTimeout(() => r('still running'), 60_000)),
    ]);
    expect(code).toBe(1);
    const fatal = w.logs.find((l) => l.level === 60);
    expect(fatal?.msg).toMatch(/fatal error/);
    expect(String(fatal?.err)).toMatch(/ingest_offsets/);
    expect(fatal?.stage).toBe('claim');
  });
});
