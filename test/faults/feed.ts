import { execFileSync } from 'node:child_process';
import type { Kafka, Producer } from 'kafkajs';
import { tickMessages } from '../../src/feed/synthetic.js';

/**
 * The known feed: `count` ticks whose volume is their id (1..count), timestamped in the last hour so
 * the worker's future-window check accepts them. A tick's id can be read back from the table
 * (volume) and from the dead-letter topic (the unchanged value).
 */
export interface FeedMessage {
  key: string;
  value: string;
}

export function knownFeed(count: number, seed: number): FeedMessage[] {
  const startUs = (Date.now() - 3_600_000) * 1000;
  return [...tickMessages(count, { seed, startUs, stepUs: 1_000, uniqueVolumes: true })].map((m) => ({
    key: m.key,
    value: m.value,
  }));
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
      let volume: unknown;
      try {
        volume = (JSON.parse(value) as { volume?: unknown }).volume;
      } catch {
        volume = undefined;
      }
      return {
        id: typeof volume === 'number' ? volume : -1,
        errorCode: /(?:^|,)x-error-code=([^,]*)/.exec(headers)?.[1] ?? '',
      };
    });
}
