import pg from 'pg';
import { rng } from '../../src/feed/synthetic.js';
import { stack } from '../support/stack.js';
import { readTopic } from './feed.js';
import { type Scenario, type ScenarioContext, sleep } from './harness.js';
import type { Replica } from './replica.js';
import { startKafka, startPostgres, stopKafka, stopPostgres } from './stack.js';

/**
 * The faults. Each scenario feeds a known set of ticks, injects its fault while the worker is busy,
 * and records what it observed as checks; the harness then waits, counts and compares.
 */

/**
 * kill -9 at random points of a drain: each replica is killed once the table reaches a random row
 * count (between 5% and 85% of the feed) and made a commit of its own, so every kill lands
 * mid-drain, between or inside flushes.
 */
const workerKill: Scenario = {
  name: 'worker-kill',
  count: 100_000,
  worker: { FLUSH_ROWS: '500' },
  async run(ctx) {
    const random = rng(ctx.seed);
    const targets = Array.from({ length: 4 }, () => Math.floor((0.05 + random() * 0.8) * ctx.scenario.count));
    targets.sort((a, b) => a - b);
    await ctx.send(0, ctx.scenario.count, 5_000, 0).done;
    const at: number[] = [];
    for (const target of targets) {
      const from = (await ctx.stored()) ?? 0;
      const r = await ctx.startReplica();
      // At least one commit of its own, so no kill lands on a replica that never wrote.
      await ctx.waitStored(Math.max(target, from + 1), 60_000, 20);
      await r.kill9();
      at.push((await ctx.stored()) ?? -1);
    }
    ctx.check(
      `${targets.length} kills mid-drain`,
      at.every((n) => n < ctx.scenario.count),
      `targets ${targets.join(', ')}; rows stored after each kill: ${at.join(', ')}`,
    );
    await ctx.startReplica();
    ctx.faultEnded();
  },
};

/** Probe /readyz through a database outage: after the health interval it must say 503 throughout. */
async function outage(ctx: ScenarioContext, r: Replica, mode: 'fast' | 'immediate'): Promise<void> {
  const stoppedAt = Date.now();
  stopPostgres(mode);
  const probes: Array<{ afterMs: number; ready: boolean | undefined }> = [];
  while (Date.now() - stoppedAt < 9_000) {
    probes.push({ afterMs: Date.now() - stoppedAt, ready: await r.ready() });
    await sleep(250);
  }
  // The worker checks the database every 5 s (sooner when a flush fails).
  const late = probes.filter((p) => p.afterMs > 5_500);
  ctx.check(
    `readyz 503 while the database is down (${mode})`,
    late.length > 0 && late.every((p) => p.ready === false),
    `first 503 after ${probes.find((p) => p.ready === false)?.afterMs ?? 'never'} ms; ` +
      `late probes not 503: ${late.filter((p) => p.ready !== false).length}/${late.length}`,
  );
  startPostgres();
  const back = Date.now();
  const before = (await ctx.stored()) ?? 0;
  let ready = await r.ready();
  while (ready !== true && Date.now() - back < 30_000) {
    await sleep(250);
    ready = await r.ready();
  }
  ctx.check(
    `readyz 200 after the database is back (${mode})`,
    ready === true,
    `after ${Date.now() - back} ms`,
  );
  ctx.faultEnded();
  if (ctx.feeders.some((f) => f.sent < ctx.scenario.count)) await ctx.waitStored(before + 1);
}

const dbRestart: Scenario = {
  name: 'db-restart',
  count: 40_000,
  async run(ctx) {
    const r = await ctx.startReplica();
    const feed = ctx.send(0, ctx.scenario.count, 200, 100);
    await ctx.waitStored(2_000);
    await outage(ctx, r, 'fast');
    await ctx.waitStored(Math.min(feed.sent, ctx.scenario.count - 1));
    await outage(ctx, r, 'immediate');
  },
};

const kafkaRestart: Scenario = {
  name: 'kafka-restart',
  count: 40_000,
  async run(ctx) {
    const r = await ctx.startReplica();
    const feed = ctx.send(0, ctx.scenario.count, 200, 100);
    await ctx.waitStored(5_000);
    await feed.hold();
    await stopKafka();
    const downAt = Date.now();
    await sleep(6_000);
    ctx.check('worker alive while the broker is down', r.alive, `exit ${String(r.exitCode)}`);
    startKafka();
    ctx.check('broker restarted', true, `down for ${((Date.now() - downAt) / 1000).toFixed(1)} s`);
    ctx.faultEnded();
    feed.release();
  },
};

/** Two replicas share the group; a third joins, then one of the first is killed, all mid-stream. */
const rebalance: Scenario = {
  name: 'rebalance',
  count: 40_000,
  partitions: 6,
  async run(ctx) {
    const [a] = await Promise.all([ctx.startReplica(), ctx.startReplica()]);
    ctx.send(0, ctx.scenario.count, 200, 100);
    await ctx.waitStored(8_000);
    const c = await ctx.startReplica();
    await ctx.waitStored(20_000);
    await a?.kill9();
    ctx.faultEnded();
    await ctx.waitStored(ctx.scenario.count, 90_000).catch(() => undefined);
    const owners = await ctx.query(async (db) => {
      const { rows } = await db.query<{ owner: string }>(
        'select distinct owner from data_capture.ingest_offsets where topic = $1',
        [ctx.topics.ticks],
      );
      return rows.map((row) => row.owner);
    });
    ctx.check(
      'the joiner took partitions',
      owners?.some((o) => o.endsWith(`:${c.pid}`)) === true,
      `owners: ${owners?.join(', ')}`,
    );
    ctx.check(
      "the killed replica's partitions moved",
      owners?.every((o) => !o.endsWith(`:${a?.pid}`)) === true,
      `killed pid ${a?.pid}`,
    );
  },
};

/** 1% of ticks pass validation but break a CHECK constraint: bisection isolates them to the DLQ. */
const poisonRow: Scenario = {
  name: 'poison-row',
  count: 20_000,
  isPoison: (id) => id % 100 === 77,
  prepare: async (db) => {
    await db.query(
      'alter table data_capture.market_ticks add constraint poison check (mod(volume, 100) <> 77)',
    );
  },
  async run(ctx) {
    await ctx.startReplica();
    await ctx.send(0, ctx.scenario.count, 1_000, 50).done;
    const poison = ctx.feed.length / 100;
    const deadline = Date.now() + 90_000;
    let dead = readTopic(stack().kafkaBrokers, ctx.topics.dlq);
    while (dead.length < poison && Date.now() < deadline) {
      await sleep(500);
      dead = readTopic(stack().kafkaBrokers, ctx.topics.dlq);
    }
    const codes = [...new Set(dead.map((d) => d.errorCode))];
    ctx.check(
      'dead letters say check_violation (x-error-code db_23514)',
      dead.length > 0 && codes.length === 1 && codes[0] === 'db_23514',
      `codes: ${codes.join(', ')}`,
    );
  },
};

/** An exclusive lock holds every COPY for 12 s while the feed keeps coming. */
const slowDb: Scenario = {
  name: 'slow-db',
  count: 100_000,
  worker: { FLUSH_ROWS: '2000' },
  async run(ctx) {
    const rssLimit = 512 << 20;
    await ctx.send(0, 20_000, 5_000, 0).done;
    const r = await ctx.startReplica();
    await ctx.waitStored(5_000);
    const lock = new pg.Client({ connectionString: ctx.db.url });
    await lock.connect();
    await lock.query('begin');
    await lock.query('lock table data_capture.market_ticks in access exclusive mode');
    const lockedAt = Date.now();
    ctx.send(20_000, ctx.scenario.count, 5_000, 0);
    const samples: Array<{ t: number; rss: number; paused: number; consumed: number; buffered: number }> = [];
    while (Date.now() - lockedAt < 12_000) {
      samples.push({
        t: Date.now() - lockedAt,
        rss: r.rssBytes() ?? 0,
        paused: (await r.metric('tick_ingest_fetch_paused')) ?? -1,
        consumed: (await r.metric('tick_ingest_messages_consumed_total')) ?? -1,
        buffered: (await r.metric('tick_ingest_buffer_rows')) ?? -1,
      });
      await sleep(250);
    }
    await lock.query('commit');
    await lock.end();
    ctx.faultEnded();
    const peakRss = Math.max(...samples.map((s) => s.rss));
    const peakBuffered = Math.max(...samples.map((s) => s.buffered));
    const tail = samples.filter((s) => s.t >= 7_000);
    const consumedInTail = (tail.at(-1)?.consumed ?? 0) - (tail[0]?.consumed ?? 0);
    const consumedAtEnd = tail.at(-1)?.consumed ?? 0;
    ctx.check(
      'fetching paused while the table is locked',
      tail.length > 0 && tail.every((s) => s.paused === 1),
      `paused in ${samples.filter((s) => s.paused === 1).length}/${samples.length} samples`,
    );
    ctx.check(
      'nothing more taken from Kafka in the last 5 s of the lock',
      consumedInTail === 0 && consumedAtEnd < ctx.scenario.count,
      `consumed ${consumedInTail} in the last 5 s; ${consumedAtEnd} of ${ctx.scenario.count} taken`,
    );
    ctx.check(
      'memory bounded during the lock',
      peakRss > 0 && peakRss < rssLimit,
      `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (limit ${rssLimit / 2 ** 20}), peak buffered rows ${peakBuffered}`,
    );
  },
};

export const SCENARIOS: Scenario[] = [workerKill, dbRestart, kafkaRestart, rebalance, poisonRow, slowDb];
