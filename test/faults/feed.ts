import { execFileSync } from 'node:child_process';
import type { Kafka, Producer } from 'kafkajs';
import { isoLocal, tickMessages } from '../../src/feed/synthetic.js';

/**
 * The known feed: `count` ticks whose volume is their id (1..count), timestamped in the last hour so
 * the worker's future-window check accepts them. A tick's id can be read back from the table
 * (volume) and from the dead-letter topic (the unchanged value).
 */
export interface FeedMessage {
  key: string;
  value: string;
  /** Kafka timestamp (ms since the epoch, as text); default: the producer's clock at send. */
  timestamp?: string;
}

export function knownFeed(count: number, seed: number): FeedMessage[] {
  const startUs = (Date.now() - 3_600_000) * 1000;
  return [...tickMessages(count, { seed, startUs, stepUs: 1_000, uniqueVolumes: true })].map((m) => ({
    key: m.key,
    value: m.value,
  }));
}

/** Which ids of `invalidMixFeed` are invalid: one in ten. */
export const isInvalidInMix = (id: number) => id % 10 === 3;

const DAY_MS = 86_400_000;

/**
 * `knownFeed` with one message in ten made invalid, each kind judged on the message and its Kafka
 * timestamp alone: ProfitDLL's zero date, a time 40 days before its Kafka timestamp (past
 * PAST_WINDOW_MS), a time an hour after its Kafka timestamp (set 2 h back, so the wall clock would
 * call the time valid: a verdict that read the clock would store it), a value cut short (not JSON),
 * a negative price, 31 February. Every value keeps `"volume":<id>` so a dead letter names its id.
 */
export function invalidMixFeed(count: number, seed: number): FeedMessage[] {
  const now = Date.now();
  return knownFeed(count, seed).map((m, i) => {
    const id = i + 1;
    if (!isInvalidInMix(id)) return m;
    const tick = JSON.parse(m.value) as Record<string, unknown>;
    switch (Math.floor(id / 10) % 6) {
      case 0:
        return { ...m, value: JSON.stringify({ ...tick, tickTime: '30/12/1899 00:00:00.000' }) };
      case 1:
        return {
          ...m,
          value: JSON.stringify({ ...tick, tickTime: isoLocal((now - 40 * DAY_MS) * 1000) }),
          timestamp: String(now),
        };
      case 2:
        return { ...m, timestamp: String(now - 2 * 3_600_000) };
      case 3:
        return { ...m, value: `{"volume":${id},"symbol":"PETR4","price":` };
      case 4:
        return { ...m, value: JSON.stringify({ ...tick, price: '-1.00' }) };
      default:
        return { ...m, value: JSON.stringify({ ...tick, tickTime: '31/02/2026 10:00:00.000' }) };
    }
  });
}

/** Which ids of `oversizeFeed` are invalid: nine in ten. */
export const isInvalidInOversize = (id: number) => id % 10 !== 0;

/** `knownFeed` where nine messages in ten are invalid (negative price) and 16 KiB long. */
export function oversizeFeed(count: number, seed: number): FeedMessage[] {
  const pad = 'x'.repeat(16 << 10);
  return knownFeed(count, seed).map((m, i) => {
    if (!isInvalidInOversize(i + 1)) return m;
    const tick = JSON.parse(m.value) as Record<string, unknown>;
    return { ...m, value: JSON.stringify({ ...tick, price: '-1.00', note: pad }) };
  });
}

/**
 * Sends the feed in chunks, one `send` at a time, pacing `gapMs` between chunks. `hold()` lets the
 * in-flight chunk finish and stops there (so a broker can be stopped with no send half-done and
 * nothing is produced twice); `release()` continues.
 */
export class Feeder {
  private sentCount = 0;
  private held: Promise<void> | undefined;
  private releaseHold: (() => void) | undefined;
  private idle: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly messages: readonly FeedMessage[],
    private readonly chunk: number,
    private readonly gapMs: number,
  ) {
    this.done = this.run();
  }

  get sent(): number {
    return this.sentCount;
  }

  /** Resolves once no send is in flight; sending stays stopped until `release()`. */
  hold(): Promise<void> {
    if (this.sentCount >= this.messages.length) return Promise.resolve();
    this.held = new Promise((r) => (this.releaseHold = r));
    // A failed send ends the feed: surface it instead of waiting forever.
    return Promise.race([new Promise<void>((r) => (this.idle = r)), this.done]);
  }

  release(): void {
    this.releaseHold?.();
    this.held = undefined;
  }

  private async run(): Promise<void> {
    while (this.sentCount < this.messages.length) {
      if (this.held) {
        this.idle?.();
        await this.held;
      }
      const part = this.messages.slice(this.sentCount, this.sentCount + this.chunk);
      await this.producer.send({ topic: this.topic, acks: -1, messages: part });
      this.sentCount += part.length;
      if (this.gapMs > 0) await new Promise((r) => setTimeout(r, this.gapMs));
    }
    this.idle?.();
  }
}

/** Messages in a topic: the sum of its partitions' high watermarks (the feed never deletes). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The id a feed message carries: its volume, also in a value that is not valid JSON (cut short). */
export function feedId(value: string): number {
  try {
    const volume = (JSON.parse(value) as { volume?: unknown }).volume;
    if (typeof volume === 'number') return volume;
  } catch {
    // Not JSON: the feed's broken messages still start with `{"volume":<id>,`.
  }
  const m = /"volume":(\d+)/.exec(value);
  return m ? Number(m[1]) : -1;
}

export interface TopicRecord {
  /** The feed id in the value (its volume), or -1 when the value is not a feed tick. */
  id: number;
  /** The x-error-code header (dead-letter topic only). */
  errorCode: string;
}

/** A whole topic read to its end with kcat, each message traced back to its feed id. */
export function readTopic(brokers: string, topic: string): TopicRecord[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%h\t%s\n'],
    {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      timeout: 60_000,
    },
  );
  return out
    .split('\n')
    .filter((line) => line.includes('\t'))
    .map((line) => {
      const [headers = '', value = ''] = line.split('\t');
      return {
        id: feedId(value),
        errorCode: /(?:^|,)x-error-code=([^,]*)/.exec(headers)?.[1] ?? '',
      };
    });
}
