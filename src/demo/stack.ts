import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';

/** Where the demo's Kafka and TimescaleDB come from, and the demo's own database on it. */
export interface Endpoints {
  databaseUrl: string;
  kafkaBrokers: string;
  source: string;
}

export type StackChoice = 'environment' | 'compose' | 'native';

/** Given endpoints win; else containers where an engine and `docker compose` answer; else the native stack. */
export function chooseStack(env: NodeJS.ProcessEnv, composeAnswers: () => boolean): StackChoice {
  if (env.DATABASE_URL && env.KAFKA_BROKERS) return 'environment';
  return composeAnswers() ? 'compose' : 'native';
}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

const answers = (args: string[]) =>
  spawnSync('docker', args, { stdio: 'ignore', timeout: 10_000 }).status === 0;
// `up --wait` needs Compose v2 (the docker plugin); the standalone 1.x has no readiness wait.
const composeAnswers = () => answers(['info']) && answers(['compose', 'version']);

/** Bring up Kafka and TimescaleDB (or find them) and say where they are. */
export function bringUpStack(root: string, env: NodeJS.ProcessEnv, log: (s: string) => void): Endpoints {
  const choice = chooseStack(env, composeAnswers);
  if (choice === 'environment') {
    return {
      databaseUrl: env.DATABASE_URL as string,
      kafkaBrokers: env.KAFKA_BROKERS as string,
      source: 'DATABASE_URL / KAFKA_BROKERS from the environment',
    };
  }
  if (choice === 'compose') {
    log('starting kafka and timescaledb: docker compose up -d --wait kafka timescaledb');
    execFileSync('docker', ['compose', 'up', '-d', '--wait', 'kafka', 'timescaledb'], {
      cwd: root,
      stdio: 'inherit',
    });
    // The host-side ports docker-compose.yml publishes on loopback.
    return {
      databaseUrl: `postgres://postgres:postgres@127.0.0.1:${env.TIMESCALEDB_HOST_PORT ?? '55433'}/tick_ingest`,
      kafkaBrokers: `127.0.0.1:${env.KAFKA_HOST_PORT ?? '59094'}`,
      source: 'docker-compose.yml (kafka, timescaledb)',
    };
  }
  log('starting the native stack: bash scripts/stack-up.sh (first run builds TimescaleDB and fetches Kafka)');
  execFileSync('bash', [resolve(root, 'scripts/stack-up.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const e = parseEnvFile(readFileSync(resolve(root, '.stack/env'), 'utf8'));
  if (!e.DATABASE_URL || !e.KAFKA_BROKERS) throw new Error('.stack/env lacks DATABASE_URL or KAFKA_BROKERS');
  return { databaseUrl: e.DATABASE_URL, kafkaBrokers: e.KAFKA_BROKERS, source: 'native stack (.stack/env)' };
}

/** Drop and recreate `name` on the stack's server; returns its connection string. */
export async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
