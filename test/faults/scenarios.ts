import kafkajs from 'kafkajs';
import pg from 'pg';
import { rng } from '../../src/feed/synthetic.js';
import { stack } from '../support/stack.js';
import {
  invalidMixFeed,
  isInvalidInMix,
  isInvalidInOversize,
  oversizeFeed,
  readTopic,
  topicSize,
} from './feed.js';
import { type Scenario, type ScenarioContext, sleep } from './harness.js';
import type { Replica } from './replica.js';
import { startKafka, startPostgres, stopKafka, stopPostgres } from './stack.js';
import { PgProxy } from './tcp-proxy.js';

/**
 * The faults. Each scenario feeds a known set of ticks, injects its fault while the worker is busy,
 * and records what it observed as checks; the harness then waits, counts and compares.
 */

/**
 * Stop replicas at random points of a drain, one after another: each is stopped (kill -9 or a
 * graceful SIGTERM) once the table reaches a random row count and made a commit of its own, so
 * every stop lands mid-drain, between or inside flushes; a last replica drains the rest. Checks
 * that every stop landed before the drain ended. The row counts are 5-85 % of the rows the feed
 * must leave for a kill, 5-60 % for a graceful stop, which first commits what it has read (up to
 * MAX_PENDING_FLUSHES + 1 batches, about 15k rows here).
 */
async function stopsMidDrain(ctx: ScenarioContext, stops: number, how: 'kill -9' | 'SIGTERM'): Promise<void> {
  const random = rng(ctx.seed);
  const rows = ctx.validCount;
  const span = how === 'kill -9' ? 0.8 : 0.55;
  const targets = Array.from({ length: stops }, () => Math.floor((0.05 + random() * span) * rows));
  targets.sort((a, b) => a - b);
  await ctx.send(0, ctx.scenario.count, 5_000, 0).done;
  const at: number[] = [];
  const after: number[] = [];
  const exits: Array<number | string> = [];
  for (const target of targets) {
    const from = (await ctx.stored()) ?? 0;
    const r = await ctx.startReplica();
    // At least one commit of its own, so no stop lands on a replica that never wrote.
    await ctx.waitStored(Math.max(target, from + 1), 60_000, 20);
    at.push((await ctx.stored()) ?? -1);
    if (how === 'kill -9') await r.kill9();
    else exits.push(await r.stop());
    after.push((await ctx.stored()) ?? -1);
  }
  ctx.check(
    `${stops} × ${how} mid-drain`,
    after.every((n) => n >= 0 && n < rows),
    `targets ${targets.join(', ')}; rows when stopped: ${at.join(', ')}; after the exit: ${after.join(', ')} (of ${rows})`,
  );
  if (how === 'SIGTERM')
    ctx.check(
      'each stopped replica exited 0',
      exits.every((c) => c === 0),
      `exit codes ${exits.join(', ')}`,
    );
  await ctx.startReplica();
  ctx.faultEnded();
}

/** kill -9 at random points of a drain. */
const workerKill: Scenario = {
  name: 'worker-kill',
  count: 100_000,
  worker: { FLUSH_ROWS: '500' },
  run: (ctx) => stopsMidDrain(ctx, 4, 'kill -9'),
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
    const size = await topicSize(ctx.kafka, ctx.topics.ticks).catch((err: Error) => err);
    ctx.check(
      'broker restarted and answers',
      typeof size === 'number',
      `down for ${((Date.now() - downAt) / 1000).toFixed(1)} s; ${typeof size === 'number' ? `topic holds ${size}` : size.message}`,
    );
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
    // The ownership checks below read the end state: the rows must all be in first.
    await ctx
      .waitStored(ctx.scenario.count, 90_000)
      .catch((err: Error) => ctx.check('every row stored within 90 s of the kill', false, err.message));
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

/** Poll `fn` every `pollMs` until it returns true or `timeoutMs` passes; says whether it did. */
async function until(
  fn: () => Promise<boolean> | boolean,
  timeoutMs: number,
  pollMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await sleep(pollMs);
  }
}

/**
 * Log lines of a replica at warn or above (pino levels: warn 40, error 50) whose message or error
 * matches `re`.
 */
function loud(r: Replica, re: RegExp): Array<Record<string, unknown>> {
  return r
    .logLines()
    .filter(
      (l) => Number(l.level) >= 40 && (re.test(String(l.msg ?? '')) || re.test(JSON.stringify(l.err ?? ''))),
    );
}

/**
 * PostgreSQL commits, the answer never arrives: a proxy cuts the worker's connection right after a
 * COMMIT went through, three times during a 60k drain. The retry must find its batch committed and
 * drop it; rows and bars (checked for every scenario) are each written once.
 */
const commitReplyLost: Scenario = {
  name: 'commit-reply-lost',
  count: 60_000,
  async run(ctx) {
    const proxy = await PgProxy.start(ctx.db.url);
    ctx.cleanups.push(() => proxy.close());
    const random = rng(ctx.seed);
    // One cut early, one mid-way, one late in the drain (by rows stored), seeded.
    const targets = [0.1, 0.4, 0.7].map((f) => Math.floor((f + random() * 0.15) * ctx.scenario.count));
    await ctx.send(0, ctx.scenario.count, 5_000, 0).done;
    await ctx.startReplica({ DATABASE_URL: proxy.url(ctx.db.url) });
    const rowsAtCut: number[] = [];
    for (const target of targets) {
      await ctx.waitStored(target, 60_000, 10);
      proxy.cutNextCommit();
      const cut = await until(() => proxy.cut.length > rowsAtCut.length, 30_000, 10);
      rowsAtCut.push(cut ? ((await ctx.stored()) ?? -1) : -1);
    }
    ctx.check(
      `${targets.length} COMMIT answers cut mid-drain`,
      proxy.cut.length === targets.length && rowsAtCut.every((n) => n >= 0 && n < ctx.scenario.count),
      `targets ${targets.join(', ')}; rows stored after each cut: ${rowsAtCut.join(', ')}; ` +
        `cut COMMITs no. ${proxy.cut.join(', ')} of ${proxy.commitsSeen}`,
    );
    ctx.faultEnded();
  },
};

/**
 * The decode thread dies mid-drain (the worker's fault switch TICK_INGEST_FAULT_DECODE_EXIT_AFTER,
 * off by default: the thread exits after answering that many batches, once per process). The
 * batches it held must be read again, none skipped.
 */
const handoffFailure: Scenario = {
  name: 'handoff-failure',
  count: 40_000,
  worker: { TICK_INGEST_FAULT_DECODE_EXIT_AFTER: '150' },
  async run(ctx) {
    const r = await ctx.startReplica();
    ctx.send(0, ctx.scenario.count, 200, 100);
    let storedAtDeath = -1;
    const died = await until(async () => {
      if (loud(r, /decode thread/i).length === 0) return false;
      storedAtDeath = (await ctx.stored()) ?? -1;
      return true;
    }, 60_000);
    ctx.check(
      'the decode thread died holding a batch, mid-drain (the failed hand-over logged)',
      died && storedAtDeath >= 0 && storedAtDeath < ctx.scenario.count,
      died ? `rows when it was logged: ${storedAtDeath}` : 'no such log line within 60 s',
    );
    ctx.faultEnded();
  },
};

/**
 * The ticks topic is deleted and created again while the worker is stopped: the offsets stored
 * with the rows are past the new topic's end. The 5,000 messages sent to the new topic must all
 * land (OFFSET_OUT_OF_RANGE=earliest, the default), loudly: a warning and
 * tick_ingest_offset_resets_total.
 */
const topicRecreated: Scenario = {
  name: 'topic-recreated',
  count: 15_000,
  async run(ctx) {
    const first = await ctx.startReplica();
    await ctx.send(0, 10_000, 2_000, 0).done;
    await ctx.waitStored(10_000);
    const code = await first.stop();
    ctx.check('the first replica stopped cleanly before the topic went', code === 0, `exit ${String(code)}`);
    await ctx.recreateTicksTopic();
    await ctx.send(10_000, ctx.scenario.count, 1_000, 0).done;
    const r = await ctx.startReplica();
    ctx.faultEnded();
    // Read before the harness stops the replica: its metrics go with it.
    let resets: number | undefined;
    await until(
      async () => {
        resets = await r.metric('tick_ingest_offset_resets_total');
        return (resets ?? 0) > 0 && ((await ctx.stored()) ?? 0) >= ctx.scenario.count;
      },
      60_000,
      500,
    );
    ctx.check(
      'offset resets counted (tick_ingest_offset_resets_total > 0)',
      (resets ?? 0) > 0,
      `tick_ingest_offset_resets_total = ${String(resets)}`,
    );
    const warned = loud(r, /offset/i);
    ctx.check(
      'the reset was logged at warn or above',
      warned.length > 0,
      warned
        .slice(0, 2)
        .map((l) => String(l.msg))
        .join('; ') || 'no warning about offsets',
    );
  },
};

/**
 * One message in ten is invalid (ProfitDLL's zero date, far past, future against its own Kafka
 * timestamp, not JSON, negative price, 31 February) and the worker is killed three times mid-drain:
 * each message must end exactly once in the table or the DLQ, whatever the clock says on a re-read.
 * A dead letter sent again after a kill is counted apart (dead_letter_repeats) and reported.
 */
const invalidWithKills: Scenario = {
  name: 'invalid-with-kills',
  count: 60_000,
  feed: invalidMixFeed,
  isPoison: isInvalidInMix,
  worker: { FLUSH_ROWS: '500' },
  run: (ctx) => stopsMidDrain(ctx, 3, 'kill -9'),
};

/**
 * The dead-letter topic takes at most 200 KB per produce (topic max.message.bytes) and nine
 * messages in ten are invalid and 16 KiB long: one Kafka batch's dead letters are several times
 * that. The worker must split them, not retry one oversized send forever.
 */
const dlqOversize: Scenario = {
  name: 'dlq-oversize',
  count: 2_000,
  feed: oversizeFeed,
  isPoison: isInvalidInOversize,
  dlqConfig: { 'max.message.bytes': String(200 << 10) },
  async run(ctx) {
    const limit = await topicConfig(ctx, ctx.topics.dlq, 'max.message.bytes');
    ctx.check(
      'the DLQ topic takes at most 200 KiB per batch',
      limit === String(200 << 10),
      `max.message.bytes = ${limit}`,
    );
    await ctx.send(0, ctx.scenario.count, 40, 0).done;
    const invalidBytes = ctx.feed
      .filter((_, i) => isInvalidInOversize(i + 1))
      .reduce((n, m) => n + m.value.length, 0);
    const partitions = ctx.scenario.partitions ?? 6;
    // Preloaded: a replica's first fetch of a partition (up to 1 MiB) already holds > 200 KiB of them.
    ctx.check(
      'a partition holds far more invalid bytes than one DLQ produce may carry',
      invalidBytes / partitions > 4 * (200 << 10),
      `${(invalidBytes / 2 ** 20).toFixed(1)} MiB of invalid messages over ${partitions} partitions`,
    );
    await ctx.startReplica();
  },
};

/**
 * The network to PostgreSQL goes silent for 30 s (a proxy stops forwarding, every socket stays
 * open), then comes back. With the worker's timeouts at 5 s, /readyz must say not ready during
 * the stall and ready after it; everything lands once.
 */
const dbBlackhole: Scenario = {
  name: 'db-blackhole',
  count: 30_000,
  worker: { DB_QUERY_TIMEOUT_MS: '5000', DB_STATEMENT_TIMEOUT_MS: '5000', FLUSH_DEADLINE_MS: '5000' },
  async run(ctx) {
    const proxy = await PgProxy.start(ctx.db.url);
    ctx.cleanups.push(() => proxy.close());
    const r = await ctx.startReplica({ DATABASE_URL: proxy.url(ctx.db.url) });
    ctx.send(0, ctx.scenario.count, 200, 100);
    await ctx.waitStored(4_000);
    proxy.stall();
    const stalledAt = Date.now();
    const probes: Array<{ afterMs: number; ready: boolean | undefined }> = [];
    let early: number | undefined;
    while (Date.now() - stalledAt < 30_000) {
      probes.push({ afterMs: Date.now() - stalledAt, ready: await r.ready() });
      // A commit already on its way may land in the first second; after that nothing can.
      if (early === undefined && Date.now() - stalledAt > 1_000) early = (await ctx.stored()) ?? -1;
      await sleep(250);
    }
    const before = (await ctx.stored()) ?? 0;
    ctx.check(
      'nothing was written during the stall (the fault held)',
      early === before,
      `rows 1 s into the stall ${String(early)}, at its end ${before}`,
    );
    proxy.resume();
    const back = Date.now();
    ctx.faultEnded();
    // A query times out after 5 s and a flush is late after 5 s; the health check runs every 5 s.
    const late = probes.filter((p) => p.afterMs > 12_000);
    ctx.check(
      'readyz not ready during the stall (every probe from 12 s on)',
      late.length > 0 && late.every((p) => p.ready !== true),
      `first not-ready after ${probes.find((p) => p.ready !== true)?.afterMs ?? 'never'} ms; ` +
        `late probes ready: ${late.filter((p) => p.ready === true).length}/${late.length}`,
    );
    const readyAgain = await until(async () => (await r.ready()) === true, 30_000, 250);
    ctx.check(
      'readyz 200 within 30 s after the network is back',
      readyAgain,
      `after ${Date.now() - back} ms`,
    );
    await ctx.waitStored(before + 1, 60_000);
  },
};

/**
 * Two replicas; one is frozen (SIGSTOP) while it holds rows, past its session timeout, until the
 * group gave every partition to the other and that one wrote. Thawed (SIGCONT), the zombie still
 * holds its old rows and claims: its flush must be fenced (or its rows dropped on the rejoin),
 * never written a second time.
 */
const zombieReplica: Scenario = {
  name: 'zombie-replica',
  count: 40_000,
  partitions: 6,
  worker: { FLUSH_INTERVAL_MS: '500' },
  async run(ctx) {
    const [a, b] = await Promise.all([ctx.startReplica(), ctx.startReplica()]);
    if (!a || !b) throw new Error('two replicas expected');
    ctx.cleanups.push(async () => a.thaw());
    ctx.send(0, ctx.scenario.count, 200, 100);
    await ctx.waitStored(6_000);
    let held = 0;
    const holding = await until(
      async () => {
        held = (await a.metric('tick_ingest_buffer_rows')) ?? 0;
        if (held > 0) a.freeze();
        return held > 0;
      },
      20_000,
      10,
    );
    ctx.check('the frozen replica held rows not yet committed', holding, `tick_ingest_buffer_rows = ${held}`);
    const frozenAt = Date.now();
    const storedAtFreeze = (await ctx.stored()) ?? 0;
    let owners: string[] = [];
    const taken = await until(
      async () => {
        owners =
          (await ctx.query(async (db) => {
            const { rows } = await db.query<{ owner: string }>(
              'select owner from data_capture.ingest_offsets where topic = $1',
              [ctx.topics.ticks],
            );
            return rows.map((row) => row.owner);
          })) ?? [];
        const stored = (await ctx.stored()) ?? 0;
        return owners.length === 6 && owners.every((o) => o.endsWith(`:${b.pid}`)) && stored > storedAtFreeze;
      },
      45_000,
      500,
    );
    // Past the session timeout (6 s) in any case, so the zombie's membership is surely gone.
    await sleep(Math.max(0, frozenAt + 12_000 - Date.now()));
    const storedAtThaw = (await ctx.stored()) ?? 0;
    ctx.check(
      'while the zombie was frozen the other replica took every partition and wrote',
      taken,
      `owners ${owners.join(', ')} (other replica pid ${b.pid}); rows ${storedAtFreeze} -> ${storedAtThaw}`,
    );
    const thawedAt = Date.now();
    a.thaw();
    ctx.faultEnded();
    const evidence = await until(() => loud(a, /fenc|dropped|void/i).length > 0, 20_000, 500);
    ctx.check(
      "the zombie's rows were fenced or dropped (logged)",
      evidence,
      loud(a, /fenc|dropped|void/i)
        .slice(0, 2)
        .map((l) => `${String(l.msg)} (${Number(l.time) - thawedAt} ms after the thaw)`)
        .join('; ') || 'nothing logged',
    );
  },
};

/** Graceful stops (SIGTERM) while rows are flowing, three times: nothing lost, nothing doubled. */
const sigtermMidDrain: Scenario = {
  name: 'sigterm-mid-drain',
  count: 100_000,
  run: (ctx) => stopsMidDrain(ctx, 3, 'SIGTERM'),
};

async function topicConfig(ctx: ScenarioContext, topic: string, name: string): Promise<string | undefined> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const res = await admin.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
      includeSynonyms: false,
    });
    return res.resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
  } finally {
    await admin.disconnect();
  }
}

export const SCENARIOS: Scenario[] = [
  workerKill,
  dbRestart,
  kafkaRestart,
  rebalance,
  poisonRow,
  slowDb,
  commitReplyLost,
  handoffFailure,
  topicRecreated,
  invalidWithKills,
  dlqOversize,
  dbBlackhole,
  zombieReplica,
  sigtermMidDrain,
];
