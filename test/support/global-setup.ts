import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { StackEndpoints } from './stack.js';

const root = resolve(import.meta.dirname, '../..');

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
  const pg = await new GenericContainer('timescale/timescaledb:latest-pg16')
    .withEnvironment({ POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'tick_ingest' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const kafka = await new GenericContainer('apache/kafka:3.9.1')
    .withExposedPorts({ container: 9092, host: 59192 })
    .withEnvironment({ KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:59192' })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return {
    stack: {
      databaseUrl: `postgres://postgres:postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/tick_ingest`,
      kafkaBrokers: `127.0.0.1:59192`,
      source: 'testcontainers',
    },
    stop: async () => {
      await kafka.stop();
      await pg.stop();
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

export default async function setup(project: TestProject) {
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
  project.provide('stack', stack);
  return teardown;
}
