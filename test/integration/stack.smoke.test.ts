import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FreshDatabase, freshDatabase, freshTopic, testKafka } from '../support/fresh.js';

describe('the real stack', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase('smoke');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('TimescaleDB: creates a hypertable and COPYs rows into it', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(
        'create table ticks (t timestamptz not null, symbol text not null, price numeric(18,8))',
      );
      await client.query(`select create_hypertable('ticks', by_range('t', interval '5 minutes'))`);
      const lines = Array.from({ length: 1000 }, (_, i) => {
        const t = new Date(Date.UTC(2026, 10, 24, 13, 0, i)).toISOString();
        return `${t}\tPETR4\t${(30 + i / 100).toFixed(2)}\n`;
      });
      await pipeline(Readable.from(lines), client.query(copyFrom('copy ticks from stdin')));
      const { rows } = await client.query(
        `select count(*)::int as n, (select count(*)::int from show_chunks('ticks')) as chunks from ticks`,
      );
      expect(rows[0]).toEqual({ n: 1000, chunks: 4 });
    } finally {
      await client.end();
    }
  });

  it('Kafka: produces to and consumes from a fresh topic', async () => {
    const topic = await freshTopic('smoke', 2);
    const kafka = testKafka();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 4}`, value: `v${i}` })),
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}.g` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          if (seen.length === 20) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();
    expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
  });
});
