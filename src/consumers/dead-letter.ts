import type { IHeaders, Message, Producer } from 'kafkajs';
import type { Metrics } from '../observability/metrics.js';
import type { SourceRef } from '../records.js';

export interface DeadLetter {
  source: SourceRef;
  /** Short and bounded: a metrics label. */
  code: string;
  message: string;
}

/** What the pipeline needs of a dead-letter queue. */
export interface DeadLetters {
  /** Resolves once every letter is acknowledged by all replicas; then the offsets may move past them. */
  send(letters: readonly DeadLetter[]): Promise<void>;
}

// Per-record overhead of a record batch entry, roughly (varints, attributes, header framing).
const RECORD_OVERHEAD = 64;

/**
 * The dead-letter topic: the message goes there unchanged (same key and value bytes), with headers
 * saying where it came from and why. Letters go out in produce requests of at most `maxRequestBytes`;
 * a request the broker still finds too large (a topic with a smaller max.message.bytes) is split in
 * halves, and a single letter too large for the topic goes without its value (the headers name the
 * source offset, where the message still is), so a batch of large invalid messages never wedges.
 */
export class DeadLetterQueue implements DeadLetters {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly metrics: Metrics,
    private readonly maxRequestBytes: number,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const failedAt = new Date().toISOString();
    const messages = letters.map((l) => toMessage(l, failedAt));
    for (const group of bySize(messages, this.maxRequestBytes)) await this.sendSplitting(group);
    for (const l of letters) this.metrics.deadLettered.inc({ topic: l.source.topic, reason: l.code });
  }

  private async sendSplitting(messages: Message[]): Promise<void> {
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages });
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      if (messages.length === 1) {
        const m = messages[0] as Message;
        const size = m.value ? (m.value as Buffer).length : 0;
        await this.producer.send({
          topic: this.topic,
          acks: -1,
          messages: [{ key: m.key, value: null, headers: { ...m.headers, 'x-value-omitted': String(size) } }],
        });
        return;
      }
      const mid = messages.length >> 1;
      await this.sendSplitting(messages.slice(0, mid));
      await this.sendSplitting(messages.slice(mid));
    }
  }
}

function toMessage({ source, code, message }: DeadLetter, failedAt: string): Message {
  return {
    key: source.key,
    value: source.value,
    headers: {
      'x-source-topic': source.topic,
      'x-source-partition': String(source.partition),
      'x-source-offset': source.offset,
      'x-error-code': code,
      'x-error': message,
      'x-failed-at': failedAt,
    } satisfies IHeaders,
  };
}

/** Consecutive groups of messages whose estimated size stays within `limit` (a larger message goes alone). */
export function bySize(messages: readonly Message[], limit: number): Message[][] {
  const groups: Message[][] = [];
  let group: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = messageSize(m);
    if (group.length > 0 && bytes + size > limit) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(m);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function messageSize(m: Message): number {
  let n =
    RECORD_OVERHEAD + (m.key ? (m.key as Buffer).length : 0) + (m.value ? (m.value as Buffer).length : 0);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += k.length + Buffer.byteLength(String(v));
  return n;
}

function isTooLarge(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  return false;
}
