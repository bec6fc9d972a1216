import type { Kafka, Producer } from 'kafkajs';
import pg from 'pg';
import { TIMEFRAMES } from '../../src/bars/timeframes.js';
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
  /** Wall time of the whole scenario, setup and counting included. */
  duration_s: number;
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
  /** Ids that belong in the dead-letter topic: invalid messages, or rows the database must refuse. */
  isPoison?: (id: number) => boolean;
  /** The feed (ids 1..count); default: `knownFeed`, every message a valid tick. */
  feed?: (count: number, seed: number) => FeedMessage[];
  /** Topic configs of the dead-letter topic (e.g. a small max.message.bytes). */
  dlqConfig?: Record<string, string>;
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
  /** Ids read from a ticks topic that was deleted since (see `recreateTicksTopic`): sent, no longer in Kafka. */
  readonly retired: number[] = [];
  /** Run after the replicas are gone, whatever happened (e.g. close a proxy). */
  readonly cleanups: Array<() => Promise<void>> = [];
  private started = 0;
  /** When the last fault ended (server back, replica restarted or killed, lock released). */
  faultEndedAt: number | undefined;

  constructor(
    readonly scenario: Scenario,
    readonly db: FreshDatabase,
    readonly topics: { ticks: string; book: string; callbacks: string; dlq: string },
    readonly kafka: Kafka,
    public producer: Producer,
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

  /** A new replica; `env` overrides settings for this one (e.g. DATABASE_URL through a proxy). */
  async startReplica(env: Record<string, string> = {}): Promise<Replica> {
    // Numbered before the await: replicas started together (Promise.all) must not share a log file.
    const name = `${this.scenario.name}-${++this.started}`;
    const r = await Replica.start(name, { ...this.env(), ...env });
    this.replicas.push(r);
    return r;
  }

  /** Send feed[from, to) in chunks of `chunk`, `gapMs` apart, in the background. */
  send(from: number, to: number, chunk: number, gapMs: number): Feeder {
    const f = new Feeder(this.producer, this.topics.ticks, this.feed.slice(from, to), chunk, gapMs);
    this.feeders.push(f);
    return f;
  }

  /**
   * Delete the ticks topic and create it again, empty, with the same name and partitions (what an
   * operator's cleanup or a cluster rebuild does). Its messages so far are recorded as `retired`;
   * the producer is replaced (an idempotent producer's sequence numbers do not survive the topic).
   */
  async recreateTicksTopic(): Promise<void> {
    await Promise.all(this.feeders.map((f) => f.done));
    for (const m of readTopic(stack().kafkaBrokers, this.topics.ticks)) this.retired.push(m.id);
    await this.producer.disconnect();
    await recreateTopic(this.kafka, this.topics.ticks, this.scenario.partitions ?? 6);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  check(name: string, ok: boolean, detail = ''): void {
    this.checks.push({ name, ok, detail });
  }

  /** Rows the table must end with: the feed's messages that do not belong in the dead-letter topic. */
  get validCount(): number {
    const poison = this.scenario.isPoison;
    return poison ? this.feed.filter((_, i) => !poison(i + 1)).length : this.feed.length;
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
  const startedAt = Date.now();
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
    dlq: await topic(`${name}.dlq`, 1, scenario.dlqConfig),
  };
  const ctx = new ScenarioContext(
    scenario,
    db,
    topics,
    kafka,
    producer,
    (scenario.feed ?? knownFeed)(scenario.count, seed),
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
    const inTopic = [...ctx.retired, ...readTopic(stack().kafkaBrokers, topics.ticks).map((m) => m.id)];
    ctx.check(
      'feed intact in Kafka (each id once)',
      feedIntact(inTopic, scenario.count),
      `topic holds ${inTopic.length - ctx.retired.length}` +
        (ctx.retired.length > 0 ? `, its deleted predecessor held ${ctx.retired.length}` : ''),
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
      duration_s: round((Date.now() - startedAt) / 1000),
      checks: ctx.checks,
      logs: ctx.replicas.map((r) => r.logFile),
    };
  } finally {
    for (const r of ctx.replicas) if (r.alive) await r.kill9();
    for (const c of ctx.cleanups) await c().catch(() => undefined);
    await ctx.producer.disconnect().catch(() => undefined);
    await deleteTopics(kafka, Object.values(topics));
    await db.drop().catch(() => undefined);
  }
}

/**
 * When every sent message is in the table or the dead-letter topic (or undefined). The counts are
 * compared first (cheap); once they add up, the ids are: a dead letter sent twice after a crash must
 * not stand in for a message still missing.
 */
async function waitAccounted(ctx: ScenarioContext, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stored = (await ctx.stored()) ?? 0;
    const dead = await topicSize(ctx.kafka, ctx.topics.dlq).catch(() => 0);
    const inTopic = await topicSize(ctx.kafka, ctx.topics.ticks).catch(() => ctx.scenario.count);
    const sent = inTopic + ctx.retired.length;
    if (stored + dead >= sent) {
      const lost = await lostNow(ctx);
      if (lost === 0) return Date.now();
    }
    if (!ctx.replicas.some((r) => r.alive)) {
      ctx.check('every message accounted for', false, 'no replica alive to deliver the rest');
      return undefined;
    }
    await sleep(stored + dead >= sent ? 1_000 : 250);
  }
  ctx.check('every message accounted for', false, `not within ${timeoutMs} ms`);
  return undefined;
}

/** Messages of the feed in neither the table nor the dead-letter topic right now (undefined: cannot tell). */
async function lostNow(ctx: ScenarioContext): Promise<number | undefined> {
  try {
    const sent = [...ctx.retired, ...readTopic(stack().kafkaBrokers, ctx.topics.ticks).map((m) => m.id)];
    const dead = readTopic(stack().kafkaBrokers, ctx.topics.dlq).map((d) => d.id);
    return tally(sent, await storedIds(ctx), dead, ctx.scenario.isPoison).lost;
  } catch {
    return undefined;
  }
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
  await offsetChecks(ctx);
  await barChecks(ctx);
}

/** The offset stored with the rows equals the topic's end, partition by partition. */
async function offsetChecks(ctx: ScenarioContext): Promise<void> {
  const stored = await ctx.query(async (c) => {
    const { rows } = await c.query<{ partition: number; next: string }>(
      'select partition, next_offset::text next from data_capture.ingest_offsets where group_id = $1 and topic = $2',
      [`g.${ctx.topics.ticks}`, ctx.topics.ticks],
    );
    return new Map(rows.map((r) => [r.partition, r.next]));
  });
  const ends = await topicEnds(ctx.kafka, ctx.topics.ticks);
  // A partition that never held a message needs no stored offset.
  const wrong = ends.filter((e) => (stored?.get(e.partition) ?? (e.high === '0' ? '0' : 'none')) !== e.high);
  ctx.check(
    'stored offsets equal the topic end in every partition',
    stored !== undefined && ends.length > 0 && wrong.length === 0,
    stored === undefined
      ? 'could not read ingest_offsets'
      : wrong
          .map((e) => `p${e.partition}: stored ${stored.get(e.partition) ?? 'none'}, end ${e.high}`)
          .join('; ') || `${ends.length} partitions`,
  );
}

/**
 * The bars agree with the ticks the table holds: each 1m bar has its bucket's tick count and volume
 * (1-minute buckets are the same in every zone in use), and every timeframe's totals are the table's.
 * A batch committed twice into the bars but once into the table shows here.
 */
async function barChecks(ctx: ScenarioContext): Promise<void> {
  const found = await ctx.query(async (c) => {
    const { rows: wrong } = await c.query<{ n: string }>(
      `select count(*) n from (
         select symbol, time_bucket('1 minute', tick_time) b, count(*) c, round(sum(volume), 2) v
           from data_capture.market_ticks group by 1, 2) t
       full join (select symbol, bar_time, trade_count, volume from data_capture.ohlcv_bars where timeframe = '1m') o
         on o.symbol = t.symbol and o.bar_time = t.b
       where o.trade_count is distinct from t.c or o.volume is distinct from t.v`,
    );
    const { rows: ticks } = await c.query<{ n: string; v: string }>(
      'select count(*)::text n, round(coalesce(sum(volume), 0), 2)::text v from data_capture.market_ticks',
    );
    const { rows: totals } = await c.query<{ timeframe: string; n: string; v: string }>(
      `select timeframe, sum(trade_count)::text n, round(sum(volume), 2)::text v
         from data_capture.ohlcv_bars group by timeframe order by timeframe`,
    );
    return { wrong: Number(wrong[0]?.n), ticks: ticks[0], totals };
  });
  if (!found?.ticks) {
    ctx.check('bars equal the ticks', false, 'could not read the bars');
    return;
  }
  const { n, v } = found.ticks;
  const off = found.totals.filter((t) => t.n !== n || t.v !== v);
  ctx.check(
    'bars equal the ticks (1m bar by bar; trade_count and volume totals of every timeframe)',
    found.wrong === 0 && off.length === 0 && (n === '0' || found.totals.length === TIMEFRAMES.length),
    `${found.wrong} 1m bars differ from their ticks; ticks ${n} (volume ${v}); ` +
      found.totals.map((t) => `${t.timeframe} ${t.n} (${t.v})`).join(', '),
  );
}

async function topicEnds(kafka: Kafka, topic: string): Promise<Array<{ partition: number; high: string }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: p.high }));
  } finally {
    await admin.disconnect();
  }
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
async function topic(prefix: string, partitions: number, config?: Record<string, string>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await freshTopic(prefix, partitions, config);
    } catch (err) {
      if (attempt === 3) throw err;
      await sleep(500);
    }
  }
}

/** Delete a topic and create it again under the same name; deletion is asynchronous, so retry the create. */
async function recreateTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic], timeout: 30_000 });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const ends = await admin.fetchTopicOffsets(topic);
        const empty = ends.every((e) => e.high === '0');
        if (meta.topics[0]?.partitions.filter((p) => p.leader >= 0).length === partitions && empty) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`could not recreate ${topic} within 60 s`);
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
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
