import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KafkaSource, type SourceHandlers } from '../../src/consumers/kafka-source.js';
import { createMetrics } from '../../src/observability/metrics.js';

/**
 * KafkaSource hands each batch over to the pipeline after eachBatch has returned (so kafkajs
 * fetches while it is decoded). A stand-in consumer (this module's unit test only) drives
 * eachBatch and the group events the way kafkajs does.
 */
function fakeKafka() {
  const listeners = new Map<string, (e: unknown) => void>();
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash', STOP: 'stop' },
    on: (event: string, fn: (e: unknown) => void) => listeners.set(event, fn),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (opts: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      eachBatch = opts.eachBatch;
    },
    disconnect: async () => undefined,
  };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const join = () => listeners.get('join')?.({ payload: { memberAssignment: {} } });
  const resolved: string[] = [];
  const deliver = (partition: number, offsets: number[]) =>
    (eachBatch as (p: EachBatchPayload) => Promise<void>)({
      batch: {
        topic: 'ticks',
        partition,
        highWatermark: String(offsets[offsets.length - 1] ?? 0),
        messages: offsets.map((o) => ({ offset: String(o) }) as KafkaMessage),
      },
      resolveOffset: (o: string) => resolved.push(`${partition}:${o}`),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
  return { kafka, join, deliver, resolved };
}

function recordingHandlers(failOn?: number) {
  const handled: string[] = [];
  const handlers: SourceHandlers = {
    claim: async (_topic, _partition, fetchedFrom) => fetchedFrom,
    rebalanced: () => handled.push('rebalanced'),
    handle: async (_topic, partition, messages) => {
      const first = Number((messages[0] as KafkaMessage).offset);
      if (first === failOn) throw new Error(`cannot handle offset ${first}`);
      handled.push(`${partition}:${messages.map((m) => m.offset).join(',')}`);
    },
  };
  return { handlers, handled };
}

async function started(failOn?: number) {
  const k = fakeKafka();
  const source = new KafkaSource(
    k.kafka,
    { groupId: 'g', topics: ['ticks'], sessionTimeoutMs: 6000 },
    pino({ level: 'silent' }),
    createMetrics(),
  );
  const h = recordingHandlers(failOn);
  await source.start(h.handlers);
  k.join();
  return { source, ...k, ...h };
}

describe('KafkaSource hands batches over after eachBatch returns', () => {
  it('returns before the batch is handled, handles batches in order, and stop can wait for the last', async () => {
    const s = await started();
    await s.deliver(0, [0, 1, 2]);
    expect(s.resolved).toEqual(['0:2']);
    expect(s.handled).toEqual(['rebalanced']); // not yet: kafkajs may fetch meanwhile
    await s.deliver(1, [5, 6]); // waits for the previous batch first
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', '0:0,1,2', '1:5,6']);
  });

  it('drops a batch handed over before a rejoin: the new generation reads it again from its claim', async () => {
    const s = await started();
    await s.deliver(0, [0, 1]);
    s.join(); // a rebalance before the handed-over batch ran
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', 'rebalanced']);
  });

  it('a batch that fails in the background fails the next eachBatch, as if thrown there', async () => {
    const s = await started(10);
    await s.deliver(0, [10, 11]);
    await expect(s.deliver(0, [12])).rejects.toThrow('cannot handle offset 10');
    await s.deliver(0, [12]); // reported once; the consumer goes on
    await s.source.handled();
    expect(s.handled).toEqual(['rebalanced', '0:12']);
  });
});
