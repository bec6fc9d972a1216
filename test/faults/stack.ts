import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The fault suite's own stack (Kafka + TimescaleDB on their own ports and data folder), started
 * by the project's stack-up.sh with STACK_NAME=faults. The suite stops and starts these servers;
 * the shared stack is never touched.
 */
const root = resolve(import.meta.dirname, '../..');
const stackDir = resolve(root, '.stack-faults');
const PG_BIN = '/usr/lib/postgresql/15/bin';

export const FAULT_STACK_ENV = {
  STACK_NAME: 'faults',
  STACK_PG_PORT: '55442',
  STACK_KAFKA_PORT: '59102',
  STACK_KAFKA_CONTROLLER_PORT: '59103',
};

export interface FaultStack {
  databaseUrl: string;
  kafkaBrokers: string;
}

/** Start whatever part of the stack is down (idempotent) and return its endpoints. */
export function stackUp(): FaultStack {
  execFileSync('bash', [resolve(root, 'scripts/stack-up.sh')], {
    env: { ...process.env, ...FAULT_STACK_ENV },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 10 * 60_000,
  });
  const env = Object.fromEntries(
    readFileSync(resolve(stackDir, 'env'), 'utf8')
      .split('\n')
      .map((line) => line.split(/=(.*)/s, 2))
      .filter((kv): kv is [string, string] => kv.length === 2),
  );
  if (!env.DATABASE_URL || !env.KAFKA_BROKERS) throw new Error('.stack-faults/env lacks endpoints');
  return { databaseUrl: env.DATABASE_URL, kafkaBrokers: env.KAFKA_BROKERS };
}

const pgdata = () => readFileSync(resolve(stackDir, 'pgdata'), 'utf8').trim();

function asPostgres(args: string[]): void {
  const cmd = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
  execFileSync(cmd[0] as string, cmd.slice(1), { stdio: 'ignore', timeout: 90_000 });
}

/** `pg_ctl stop -m fast` disconnects clients cleanly; `-m immediate` is a crash (recovery on start). */
export function stopPostgres(mode: 'fast' | 'immediate'): void {
  asPostgres([`${PG_BIN}/pg_ctl`, '-D', pgdata(), '-m', mode, '-w', '-t', '60', 'stop']);
}

export function startPostgres(): void {
  const log = resolve(pgdata(), '..', 'postgres.log');
  asPostgres([`${PG_BIN}/pg_ctl`, '-D', pgdata(), '-l', log, '-w', '-t', '60', 'start']);
}

/** Stop the broker as its operator would (SIGTERM, controlled shutdown), by its recorded pid. */
export async function stopKafka(): Promise<void> {
  const pid = Number(readFileSync(resolve(stackDir, 'kafka.pid'), 'utf8').trim());
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive()) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** stack-up.sh starts only what is down: here, the broker, on its formatted storage. */
export function startKafka(): void {
  stackUp();
}
