import type { Kafka, Producer } from 'kafkajs';
import pg from 'pg';
import { migrate } from '../../src/schema/index.js';
import { type FreshDatabase, freshDatabase, freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';
import { Feeder, type FeedMessage, knownFeed, readTopic, topicSize } from './feed.js';
import { type Ledger, tally } from './ledger.js';
import { Replica } from './replica.js';
import { stackUp } from './stack.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult extends Ledger {
  name: string;
  recovery_s: number | null;
  checks: Check[];
  logs: string[];
}

export interface Scenario {
  name: string;
  /** Messages in the feed (ids 1..count). */
  count: number;
  /** Partitions of the ticks topic. */
  partitions?: number;
  /** Worker settings that differ from the suite's defaults. */
  worker?: Record<string, string>;
  /** Ids the database must refuse (they belong in the dead-letter topic). */
  isPoison?: (id: number) => boolean;
  /** Runs on the fresh database after the migrations. */
  prepare?: (db: pg.Client) => Promise<void>;
  /** Feed the topic, run the replicas, inject the faults. The harness then waits and counts. */
  run: (ctx: ScenarioContext) => Promise<void>;
}

const WORKER_DEFAULTS = {
  FLUSH_ROWS: '1000',
  FLUSH_INTERVAL_MS: '100',
  MAX_PENDING_FLUSHES: '2',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  LOG_LEVEL: 'info',
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What a scenario works with: its database, topics, feed and replicas, and its findings. */
export class ScenarioContext {
  readonly replicas: Replica[] = [];
  readonly checks: Check[] = [];
  readonly feeders: Feeder[] = [];
  private started = 0;
  /** When the last fault ended (server back, replica restarted or killed, lock released). */
  faultEndedAt: number | undefined;

  constructor(
    readonly scenario: Scenario,
    readonly db: FreshDatabase,
    readonly topics: { ticks: string; book: string; callbacks: string; dlq: string },
    readonly kafka: Kafka,
    readonly producer: Producer,
    readonly feed: readonly FeedMessage[],
    readonly seed: number,
  ) {}

  env(): Record<string, string> {
    return {
      ...WORKER_DEFAULTS,
      ...this.scenario.worker,
      DATABASE_URL: this.db.url,
      KAFKA_BROKERS: stack().kafkaBrokers,
      KAFKA_GROUP_ID: `g.${this.topics.ticks}`,
      TOPIC_TICKS: this.topics.ticks,
      TOPIC_BOOK: this.topics.book,
      TOPIC_CALLBACKS: this.topics.callbacks,
      TOPIC_DLQ: this.topics.dlq,
    };
  }

  async startReplica(): Promise<Replica> {
    // Numbered before the await: replicas started together (Promise.all) must not share a log file.
    const name = `${this.scenario.name}-${++this.started}`;
    const r = await Replica.start(name, this.env());
    this.replicas.push(r);
    return r;
  }

  /** Send feed[from, to) in chunks of `chunk`, `gapMs` apart, in the background. */
  send(from: number, to: number, chunk: number, gapMs: number): Feeder {
    const f = new Feeder(this.producer, this.topics.ticks, this.feed.slice(from, to), chunk, gapMs);
    this.feeders.push(f);
    return f;
  }

  check(name: string, ok: boolean, detail = ''): void {
    this.checks.push({ name, ok, detail });
  }

  faultEnded(): void {
    this.faultEndedAt = Date.now();
  }

  /** Rows in the table, or undefined while the database does not answer. */
  async stored(): Promise<number | undefined> {
    return this.query(async (c) => {
      const { rows } = await c.query<{ n: string }>('select count(*) n from data_capture.market_ticks');
      return Number(rows[0]?.n);
    });
  }

  async waitStored(atLeast: number, timeoutMs = 60_000, pollMs = 200): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = (await this.stored()) ?? -1;
      if (n >= atLeast) return n;
      if (this.replicas.length > 0 && !this.replicas.some((r) => r.alive))
        throw new Error(`no replica alive (waiting for ${atLeast} rows, have ${n})`);
      if (Date.now() > deadline)
        throw new Error(`${atLeast} rows not stored within ${timeoutMs} ms (have ${n})`);
      await sleep(pollMs);
    }
  }

  /** One short-lived connection per question: the database may be down between two of them. */
  async query<T>(fn: (c: pg.Client) => Promise<T>): Promise<T | undefined> {
    const c = new pg.Client({ connectionString: this.db.url, connectionTimeoutMillis: 3_000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await fn(c);
    } catch {
      return undefined;
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/**
 * Run one scenario on fresh topics and a fresh database, wait until every sent message is in the
 * table or the dead-letter topic, stop the replicas, then count exactly. Never throws: a failure
 * becomes a failed check in the result.
 */
export async function runScenario(scenario: Scenario, seed: number): Promise<ScenarioResult> {
  stackUp(); // a previous scenario may have left a server down
  const db = await freshDatabase(`faults_${scenario.name.replace(/\W/g, '_')}`);
  const kafka = testKafka('tick-ingest-faults');
  // Idempotent, so a send retried across the broker restart does not put a message in twice.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const name = `faults.${scenario.name}`;
  const topics = {
    ticks: await topic(`${name}.ticks`, scenario.partitions ?? 6),
    book: await topic(`${name}.book`, 1),
    callbacks: await topic(`${name}.callbacks`, 1),
    dlq: await topic(`${name}.dlq`, 1),
  };
  const ctx = new ScenarioContext(
    scenario,
    db,
    topics,
    kafka,
    producer,
    knownFeed(scenario.count, seed),
    seed,
  );
  try {
    await migrate(db.url);
    if (scenario.prepare) {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await scenario.prepare(c).finally(() => c.end());
    }
    await producer.connect();
    try {
      await scenario.run(ctx);
      await Promise.all(ctx.feeders.map((f) => f.done));
    } catch (err) {
      ctx.check('scenario ran to its end', false, err instanceof Error ? err.message : String(err));
    }
    const lastSentAt = Date.now();
    const accountedAt = await waitAccounted(ctx, 120_000);
    await sleep(2_000); // a duplicate would be a straggler: give it time to land
    await finalChecks(ctx);
    // Kafka's content is what the worker is judged against; this check says whether it is the intended feed.
    const inTopic = readTopic(stack().kafkaBrokers, topics.ticks).map((m) => m.id);
    ctx.check(
      'feed intact in Kafka (each id once)',
      feedIntact(inTopic, scenario.count),
      `topic holds ${inTopic.length}`,
    );
    const ids = await storedIds(ctx);
    const dead = readTopic(stack().kafkaBrokers, topics.dlq).map((d) => d.id);
    const ledger = tally(inTopic, ids, dead, scenario.isPoison);
    if (ledger.lost > 0 || ledger.duplicates > 0 || ctx.replicas.some((r) => r.crashed))
      await rescue(ctx, ledger.lost, inTopic, dead);
    const since = ctx.faultEndedAt ?? lastSentAt;
    return {
      name: scenario.name,
      ...ledger,
      recovery_s: accountedAt === undefined ? null : round((accountedAt - since) / 1000),
      checks: ctx.checks,
      logs: ctx.replicas.map((r) => r.logFile),
    };
  } finally {
    for (const r of ctx.replicas) if (r.alive) await r.kill9();
    await producer.disconnect().catch(() => undefined);
    await deleteTopics(kafka, Object.values(topics));
    await db.drop().catch(() => undefined);
  }
}

/** When the table and the dead-letter topic hold as many messages as were sent (or undefined). */
async function waitAccounted(ctx: ScenarioContext, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stored = (await ctx.stored()) ?? 0;
    const dead = await topicSize(ctx.kafka, ctx.topics.dlq).catch(() => 0);
    const sent = await topicSize(ctx.kafka, ctx.topics.ticks).catch(() => ctx.scenario.count);
    if (stored + dead >= sent) return Date.now();
    if (!ctx.replicas.some((r) => r.alive)) {
      ctx.check('every message accounted for', false, 'no replica alive to deliver the rest');
      return undefined;
    }
    await sleep(250);
  }
  ctx.check('every message accounted for', false, `not within ${timeoutMs} ms`);
  return undefined;
}

/**
 * After a failure, do what an operator would: start a fresh replica and count again. This tells a
 * worker that died or wedged (everything arrives after the restart) from a real loss.
 */
async function rescue(
  ctx: ScenarioContext,
  lostBefore: number,
  inTopic: readonly number[],
  dead: readonly number[],
): Promise<void> {
  const r = await ctx.startReplica();
  await waitAccounted(ctx, 60_000);
  await sleep(2_000);
  await r.stop();
  const after = tally(
    inTopic,
    await storedIds(ctx),
    readTopic(stack().kafkaBrokers, ctx.topics.dlq).map((d) => d.id),
    ctx.scenario.isPoison,
  );
  ctx.check(
    'after an operator restarts the worker nothing is lost or duplicated',
    after.lost === 0 && after.duplicates === 0,
    `lost ${lostBefore} -> ${after.lost}, duplicates ${after.duplicates}, dead-lettered ${dead.length} -> ${after.dead_lettered}`,
  );
}

/** What holds for every scenario at its end. */
async function finalChecks(ctx: ScenarioContext): Promise<void> {
  const crashed = ctx.replicas.filter((r) => r.crashed);
  ctx.check(
    'no replica died on its own',
    crashed.length === 0,
    crashed.map((r) => `${r.name} exited ${String(r.exitCode)} (log ${r.logFile})`).join('; '),
  );
  const survivors = ctx.replicas.filter((r) => r.alive);
  const ready = await Promise.all(survivors.map((r) => r.ready()));
  ctx.check(
    'survivors ready at the end',
    survivors.length > 0 && ready.every((x) => x === true),
    survivors.map((r, i) => `${r.name}: ${String(ready[i])}`).join(', '),
  );
  const codes = await Promise.all(survivors.map((r) => r.stop()));
  ctx.check(
    'survivors stop cleanly (exit 0)',
    codes.every((c) => c === 0),
    survivors.map((r, i) => `${r.name}: ${String(codes[i])}`).join(', '),
  );
  const offsets = await ctx.query(async (c) => {
    const { rows } = await c.query<{ n: string | null }>(
      'select sum(next_offset)::text n from data_capture.ingest_offsets where group_id = $1 and topic = $2',
      [`g.${ctx.topics.ticks}`, ctx.topics.ticks],
    );
    return Number(rows[0]?.n ?? 0);
  });
  const inTopic = await topicSize(ctx.kafka, ctx.topics.ticks);
  ctx.check(
    'stored offsets cover the whole topic',
    offsets === inTopic,
    `sum(next_offset) = ${String(offsets)}, messages in the topic ${inTopic}`,
  );
}

function feedIntact(ids: readonly number[], count: number): boolean {
  const seen = new Set(ids);
  return ids.length === count && seen.size === count && ids.every((id) => id >= 1 && id <= count);
}

async function storedIds(ctx: ScenarioContext): Promise<number[]> {
  const ids = await ctx.query(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      'select volume::bigint::text id from data_capture.market_ticks',
    );
    return rows.map((r) => Number(r.id));
  });
  if (!ids) throw new Error('could not read the table back');
  return ids;
}

/** A fresh topic; kafkajs' wait for leaders sometimes fails on a just-created topic, so try again. */
async function topic(prefix: string, partitions: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await freshTopic(prefix, partitions);
    } catch (err) {
      if (attempt === 3) throw err;
      await sleep(500);
    }
  }
}

async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics });
  } catch {
    // Topics are unique per run; leftovers only take disk on a throwaway stack.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
