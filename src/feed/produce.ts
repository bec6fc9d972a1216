import type { Message, Producer } from 'kafkajs';
import {
  type Expected,
  emptyExpected,
  type LabelledMessage,
  type MixOptions,
  mixedFeed,
  tally,
} from './mix.js';
import type { FeedMessage } from './synthetic.js';

export type Topics = Record<FeedMessage['kind'], string>;

export interface ProduceOptions extends MixOptions {
  /** Messages to send; unbounded when absent (then stop with the signal). */
  count?: number;
  /** Messages per second; as fast as the broker takes them when absent or 0. */
  rate?: number;
  /** Most messages in one produce request. */
  batchSize?: number;
}

export interface ProduceProgress {
  sent: number;
  elapsedMs: number;
  expected: Expected;
}

/** How many more messages are due after `elapsedMs` at `rate`/s when `sent` already went out. */
export function messagesDue(
  rate: number | undefined,
  elapsedMs: number,
  sent: number,
  batchSize: number,
): number {
  if (!rate) return batchSize;
  return Math.max(0, Math.min(batchSize, Math.floor((rate * elapsedMs) / 1000) - sent));
}

/** Group a slice of the feed by topic, in feed order within each topic. */
export function toTopicMessages(messages: LabelledMessage[], topics: Topics) {
  const by = new Map<string, Message[]>();
  for (const m of messages) {
    const topic = topics[m.kind];
    const list = by.get(topic) ?? [];
    if (list.length === 0) by.set(topic, list);
    list.push({ key: m.key, value: m.value });
  }
  return [...by].map(([topic, msgs]) => ({ topic, messages: msgs }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Send the mixed feed, one produce request per batch, acknowledged by all in-sync replicas before
 * the next (so a symbol's messages keep their order). Returns what the feed should leave behind.
 */
export async function produceFeed(
  producer: Producer,
  topics: Topics,
  opts: ProduceOptions,
  onProgress: (p: ProduceProgress) => void = () => {},
  signal?: AbortSignal,
): Promise<Expected> {
  const count = opts.count ?? Number.POSITIVE_INFINITY;
  const batchSize = opts.batchSize ?? 10_000;
  const feed = mixedFeed(Number.isFinite(count) ? count : Number.MAX_SAFE_INTEGER, opts);
  const expected = emptyExpected();
  const started = Date.now();
  let sent = 0;
  let lastReport = 0;
  while (sent < count && !signal?.aborted) {
    const due = messagesDue(opts.rate, Date.now() - started, sent, Math.min(batchSize, count - sent));
    if (due === 0) {
      await sleep(10);
      continue;
    }
    const slice: LabelledMessage[] = [];
    for (let i = 0; i < due; i++) {
      const next = feed.next();
      if (next.done) break;
      slice.push(next.value);
    }
    await producer.sendBatch({ topicMessages: toTopicMessages(slice, topics), acks: -1 });
    for (const m of slice) tally(expected, m);
    sent += slice.length;
    if (Date.now() - lastReport >= 1000 && sent < count) {
      lastReport = Date.now();
      onProgress({ sent, elapsedMs: lastReport - started, expected });
    }
  }
  onProgress({ sent, elapsedMs: Date.now() - started, expected });
  return expected;
}
