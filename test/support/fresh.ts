import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { quietIdleRequestQueues } from '../../src/consumers/kafka-client.js';
import { stack } from './stack.js';

const suffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export interface FreshDatabase {
  name: string;
  url: string;
  drop: () => Promise<void>;
}

/** A new database on the stack's server, with timescaledb created, dropped by `drop()`. */
export async function freshDatabase(prefix = 't'): Promise<FreshDatabase> {
  const name = `${prefix}_${suffix()}`;
  const admin = new URL(stack().databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(stack().databaseUrl);
  url.pathname = `/${name}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await db.query('create extension if not exists timescaledb');
  } finally {
    await db.end();
  }
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function testKafka(clientId = 'tick-ingest-test'): Kafka {
  quietIdleRequestQueues();
  return new Kafka({ clientId, brokers: stack().kafkaBrokers.split(','), logLevel: logLevel.NOTHING });
}

/** A new topic with a unique name (and topic configs, if given), its leaders elected; returns its name. */
export async function freshTopic(
  prefix: string,
  partitions = 3,
  config: Record<string, string> = {},
): Promise<string> {
  const topic = `${prefix}.${suffix()}`;
  const admin = testKafka().admin();
  await admin.connect();
  try {
    // A broker that has just started can answer "does not host this topic-partition" while the
    // leaders are elected: retry until its metadata shows every partition with a leader.
    for (let attempt = 0; ; attempt++) {
      try {
        const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
        await admin.createTopics({
          topics: [{ topic, numPartitions: partitions, configEntries }],
          waitForLeaders: true,
        });
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const ready = meta.topics[0]?.partitions.filter((p) => p.leader >= 0).length === partitions;
        if (ready) return topic;
      } catch (err) {
        if (attempt >= 20) throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}
