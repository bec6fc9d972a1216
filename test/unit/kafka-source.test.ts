import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KafkaSource, type SourceHandlers } from '../../src/consumers/kafka-source.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { SourceBatch } from '../../src/records.js';

/**
 * KafkaSource hands each batch over to the pipeline after eachBatch has returned (so kafkajs
 * fetches while it is decoded). A stand-in consumer and admin (this module's unit test only) drive
 * eachBatch and the group events the way kafkajs does, and record seeks.
 */
function fakeKafka(topics = ['ticks']) {
  const listeners = new Map<string, (e: unknown) => void>();
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  const seeks: string[] = [];
  // A seek is pending until kafkajs's next fetch applies it; batches of that partition are stale meanwhile.
  const pendingSeeks = new Set<number>();
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash', STOP: 'stop' },
    on: (event: string, fn: (e: unknown) => void) => listeners.set(event, fn),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      eachBatch = opts.eachBatch;
    },
    seek: ({ partition, offset }: { partition: number; offset: string }) => {
      seeks.push(`${partition}:${offset}`);
      pendingSeeks.add(partition);
    },
    disconnect: async () => undefined,
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    listTopics: async () => topics,
    fetchTopicOffsets: async () => [0, 1, 2].map((partition) => ({ partition, low: '0', high: '1000' })),
  };
  const consumerConfigs: unknown[] = [];
  const kafka = {
    consumer: (config: unknown) => {
      consumerConfigs.push(config);
      return consumer;
    },
    admin: () => admin,
  } as unknown as Kafka;
  const join = () => listeners.get('join')?.({ payload: { memberAssignment: {} } });
  const resolved: string[] = [];
  const deliver = (partition: number, offsets: number[]) =>
    (eachBatch as (p: EachBatchPayload) => Promise<void>)({
      batch: {
        topic: 'ticks',
        partition,
        highWatermark: String((offsets[offsets.length - 1] ?? 0) + 1),
        messages: offsets.map(
          (o) => ({ offset: String(o), timestamp: '0', key: null, value: null }) as KafkaMessage,
        ),
      },
      resolveOffset: (o: string) => resolved.push(`${partition}:${o}`),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => pendingSeeks.has(partition),
    } as unknown as EachBatchPayload);
  const fetchAgain = () => pendingSeeks.clear();
  return { kafka, join, deliver, resolved, seeks, fetchAgain, consumerConfigs };
}

function recordingHandlers(opts: { failOn?: number; claimAt?: (first: string) => string } = {}) {
  const handled: string[] = [];
  const failures: string[] = [];
  const claims: string[] = [];
  const handlers: SourceHandlers = {
    claim: async (_topic, partition, fetchedFrom, marks) => {
      claims.push(`${partition}:${fetchedFrom}[${marks.low},${marks.high})`);
      return opts.claimAt ? opts.claimAt(fetchedFrom) : fetchedFrom;
    },
    rebalanced: () => handled.push('rebalanced'),
    handle: async (batch: SourceBatch) => {
      const first = Number(batch.offsets[0]);
      // Fails once, as a decode thread that died does: read again, it goes through.
      if (first === opts.failOn && failures.length === 0) throw new Error(`cannot handle offset ${first}`);
      handled.push(`${batch.partition}@${batch.fromOffset}:${batch.offsets.join(',')}`);
    },
    failed: (err, batch) =>
      failures.push(`${batch.partition}@${batch.fromOffset}: ${(err as Error).message}`),
  };
  return { handlers, handled, failures, claims };
}

async function started(opts: Parameters<typeof recordingHandlers>[0] = {}) {
  const k = fakeKafka();
  const metrics = createMetrics();
  const source = new KafkaSource(
    k.kafka,
    {
      groupId: 'g',
      topics: ['ticks'],
      sessionTimeoutMs: 6000,
      fetchPartitionBytes: 300_000,
      fetchBytes: 900_000,
    },
    pino({ level: 'silent' }),
    metrics,
  );
  const h = recordingHandlers(opts);
  await source.start(h.handlers);
  k.join();
  return { source, metrics, ...k, ...h };
}

const counter = async (
  metrics: ReturnType<typeof createMetrics>,
  name: 'messagesConsumed' | 'messagesReread',
) => (await metrics[name].get()).values.reduce((n, v) => n + v.value, 0);

describe('KafkaSource hands batches over after eachBatch returns', () => {
  it('claims first (with the watermarks), returns before a batch is handled, handles in order, each from where the last ended', async () => {
    const s = await started();
    await s.deliver(0, [0, 1, 2]);
    expect(s.claims).toEqual(['0:0[0,1000)']);
    expect(s.resolved).toEqual(['0:2']);
    expect(s.handled).toEqual(['rebalanced']); // not yet: kafkajs may fetch meanwhile
    await s.deliver(0, [3, 4]); // waits for the previous batch first
    await s.deliver(1, [5, 6]);
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', '0@0:0,1,2', '0@3:3,4', '1@5:5,6']);
  });

  it('drops a batch handed over before a rejoin: the new generation reads it again from its claim', async () => {
    const s = await started();
    await s.deliver(0, [0, 1]);
    s.join(); // a rebalance before the handed-over batch ran
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', 'rebalanced']);
  });

  it('seeks to the claimed offset when Kafka fetched from elsewhere, and hands nothing over meanwhile', async () => {
    const s = await started({ claimAt: () => '7' });
    await s.deliver(0, [0, 1, 2]);
    await s.source.handled();
    expect(s.seeks).toEqual(['0:7']);
    expect(s.resolved).toEqual([]);
    s.fetchAgain();
    await s.deliver(0, [7, 8]);
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', '0@7:7,8']);
  });

  it('a batch that fails is read again: its partition is sought back to where it started, nothing after it is taken', async () => {
    const s = await started({ failOn: 10 });
    await s.deliver(0, [9]);
    await s.deliver(0, [10, 11]);
    await s.source.handled();
    expect(s.failures).toEqual(['0@10: cannot handle offset 10']);
    expect(s.seeks).toEqual(['0:10']);
    // kafkajs fetched on before the seek took effect: that batch is stale, never taken past the hole.
    await s.deliver(0, [12]);
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', '0@9:9']);
    s.fetchAgain();
    await s.deliver(0, [10, 11, 12]);
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', '0@9:9', '0@10:10,11,12']);
  });

  it('re-read messages are counted apart from new ones', async () => {
    const s = await started({ failOn: 3 });
    await s.deliver(0, [1, 2]);
    await s.deliver(0, [3, 4]);
    await s.source.handled(); // failed: sought back to 3
    s.fetchAgain();
    await s.deliver(0, [3, 4, 5]); // 3 and 4 were handed over before
    await s.source.handled();
    expect(await counter(s.metrics, 'messagesConsumed')).toBe(5);
    expect(await counter(s.metrics, 'messagesReread')).toBe(2);
  });

  it.each([
    { name: 'a batch that repeats the last one and goes on', second: [1, 2, 3, 4], handed: '3,4', reread: 2 },
    { name: 'offsets with holes (compaction)', second: [0, 2, 5, 9], handed: '5,9', reread: 2 },
    { name: 'nothing new', second: [1, 2], handed: undefined, reread: 2 },
    { name: 'all new', second: [3, 7], handed: '3,7', reread: 0 },
  ])('$name: only messages past the position are handed over', async ({ second, handed, reread }) => {
    const s = await started();
    await s.deliver(0, [1, 2]);
    await s.source.handled();
    await s.deliver(0, second);
    await s.source.handled();
    expect(s.handled.slice(2)).toEqual(handed === undefined ? [] : [`0@3:${handed}`]);
    expect(await counter(s.metrics, 'messagesReread')).toBe(reread);
  });

  it('fetches at most the configured bytes per partition and in all', async () => {
    const s = await started();
    expect(s.consumerConfigs).toEqual([
      expect.objectContaining({ maxBytesPerPartition: 300_000, maxBytes: 900_000, groupId: 'g' }),
    ]);
  });

  it('reclaim: the next batch of that partition claims it again', async () => {
    const s = await started();
    await s.deliver(0, [0]);
    await s.source.handled();
    s.source.reclaim('ticks', 0);
    await s.deliver(0, [1]);
    await s.source.handled();
    expect(s.claims).toEqual(['0:0[0,1000)', '0:1[0,1000)']);
    expect(s.handled).toEqual(['rebalanced', '0@0:0', '0@1:1']);
  });
});
