import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import type { StackEndpoints } from './stack.js';

const root = resolve(import.meta.dirname, '../..');
// The images docker-compose.yml pins, so both container paths test the same servers.
const compose = readFileSync(resolve(root, 'docker-compose.yml'), 'utf8');
const pinned = (name: string) => {
  const image = new RegExp(`image: (${name}:\\S+)`).exec(compose)?.[1];
  if (!image) throw new Error(`docker-compose.yml pins no ${name} image`);
  return image;
};
const TIMESCALEDB_IMAGE = pinned('timescale/timescaledb');
const KAFKA_IMAGE = pinned('apache/kafka');

function parseEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

function fromEnvironment(): StackEndpoints | undefined {
  const { DATABASE_URL, KAFKA_BROKERS } = process.env;
  if (!DATABASE_URL || !KAFKA_BROKERS) return undefined;
  return { databaseUrl: DATABASE_URL, kafkaBrokers: KAFKA_BROKERS, source: 'environment' };
}

async function fromContainers(): Promise<{ stack: StackEndpoints; stop: () => Promise<void> } | undefined> {
  const docker = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  if (docker.status !== 0) return undefined;
  const { GenericContainer, Wait } = await import('testcontainers');
  // The community image, pinned to the Apache edition like the native stack: the schema and
  // migration tests assert that edition's notices (PGlite covers the community branch).
  const db = await new GenericContainer(TIMESCALEDB_IMAGE)
    .withEnvironment({ POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'tick_ingest' })
    .withCommand(['postgres', '-c', 'timescaledb.license=apache'])
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const kafka = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: 59192 })
    // The image drops its default server.properties once any KAFKA_ variable is given: a whole
    // single-node KRaft configuration, as in docker-compose.yml.
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:59192',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return {
    stack: {
      databaseUrl: `postgres://postgres:postgres@${db.getHost()}:${db.getMappedPort(5432)}/tick_ingest`,
      kafkaBrokers: `127.0.0.1:59192`,
      source: 'testcontainers',
    },
    stop: async () => {
      await kafka.stop();
      await db.stop();
    },
  };
}

function fromNativeStack(): StackEndpoints {
  // stack-up.sh prints its own diagnostics; a failure here must fail the run, never skip it.
  execFileSync('bash', [resolve(root, 'scripts/stack-up.sh')], { stdio: 'inherit', timeout: 45 * 60_000 });
  const env = parseEnvFile(resolve(root, '.stack/env'));
  if (!env.DATABASE_URL || !env.KAFKA_BROKERS)
    throw new Error('.stack/env lacks DATABASE_URL or KAFKA_BROKERS');
  return { databaseUrl: env.DATABASE_URL, kafkaBrokers: env.KAFKA_BROKERS, source: 'native' };
}

/** The tools the tests run besides the stack (promtool, prometheus, docker-compose), installed once. */
function ensureTools(): void {
  execFileSync('bash', [resolve(root, 'scripts/ensure-tools.sh')], {
    stdio: 'inherit',
    timeout: 15 * 60_000,
  });
}

/** The schema and migration tests assert the Apache edition's notices: say so at once on another server. */
async function expectApacheEdition(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('create extension if not exists timescaledb');
    const { rows } = await client.query<{ license: string }>(
      `select current_setting('timescaledb.license') as license`,
    );
    if (rows[0]?.license !== 'apache')
      throw new Error(
        `the integration tests need TimescaleDB's Apache edition (timescaledb.license = 'apache'); ` +
          `${databaseUrl.replace(/:[^:@/]*@/, ':***@')} reports '${rows[0]?.license}'`,
      );
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject) {
  ensureTools();
  let teardown: (() => Promise<void>) | undefined;
  let stack = fromEnvironment();
  if (!stack) {
    const containers = await fromContainers();
    if (containers) {
      stack = containers.stack;
      teardown = containers.stop;
    }
  }
  stack ??= fromNativeStack();
  try {
    await expectApacheEdition(stack.databaseUrl);
  } catch (err) {
    await teardown?.();
    throw err;
  }
  project.provide('stack', stack);
  return teardown;
}
