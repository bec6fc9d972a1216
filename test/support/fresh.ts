import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { quietIdleRequestQueues } from '../../src/consumers/kafka-client.js';
import { migrate } from '../../src/schema/index.js';
import { stack } from './stack.js';

const suffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export interface ScratchDatabase {
  name: string;
  /** As the owner (the stack's superuser): for migrations, set-up and checks. */
  url: string;
  drop: () => Promise<void>;
}

export interface FreshDatabase extends ScratchDatabase {
  /**
   * As a login user whose only rights come from the role `tick_ingest_writer` (granted once the
   * migrations created it), as an operator runs the worker: a missing grant fails the test.
   */
  writerUrl: string;
}

/** The NOLOGIN role of sql/data_capture/015_writer_role.sql; its login member is created here. */
const WRITER_ROLE = 'tick_ingest_writer';

/**
 * A new database on the stack's server, with timescaledb created, and a login user for the worker
 * (a member of tick_ingest_writer, nothing else), both dropped by `drop()`.
 */
export async function freshDatabase(prefix = 't'): Promise<FreshDatabase> {
  const id = suffix();
  const name = `${prefix}_${id}`;
  const writer = `writer_${id}`;
  const admin = new URL(stack().databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
    // Roles are cluster-wide: the writer role may exist already, or be created by a parallel test
    // (the same guard as the migration's). Its grants are per database and come from the migration.
    await client.query(`do $$ begin
        if not exists (select from pg_roles where rolname = '${WRITER_ROLE}') then
          create role ${WRITER_ROLE} nologin;
        end if;
      exception when duplicate_object or unique_violation then null;
      end $$`);
    await client.query(`create role "${writer}" login password '${writer}' in role ${WRITER_ROLE}`);
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
  const writerUrl = new URL(url);
  writerUrl.username = writer;
  writerUrl.password = writer;
  return {
    name,
    url: url.toString(),
    writerUrl: writerUrl.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
        await c.query(`drop role if exists "${writer}"`);
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

export interface MigratedDatabase {
  fresh: FreshDatabase;
  /** As the owner: set-up and checks. */
  owner: pg.Pool;
  /** As the worker's login user (tick_ingest_writer only): what the worker itself does. */
  writer: pg.Pool;
  close: () => Promise<void>;
}

/** A fresh database with the schema migrated, and pools on it as the owner and as the writer. */
export async function migratedDatabase(prefix: string): Promise<MigratedDatabase> {
  const fresh = await freshDatabase(prefix);
  await migrate(fresh.url);
  const pool = (url: string) => {
    const p = new pg.Pool({ connectionString: url, max: 4 });
    // Dropping the database at the end terminates a backend pool.end() may still be closing.
    p.on('error', () => undefined);
    return p;
  };
  const owner = pool(fresh.url);
  const writer = pool(fresh.writerUrl);
  return {
    fresh,
    owner,
    writer,
    close: async () => {
      await Promise.all([owner.end(), writer.end()]);
      await fresh.drop();
    },
  };
}
