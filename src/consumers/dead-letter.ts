import type { IHeaders, Producer } from 'kafkajs';
import type { Metrics } from '../observability/metrics.js';
import type { SourceRef } from '../records.js';

export interface DeadLetter {
  source: SourceRef;
  /** Short and bounded: a metrics label. */
  code: string;
  message: string;
}

/**
 * The dead-letter topic: the message goes there unchanged (same key and value bytes), with headers
 * saying where it came from and why. `send` resolves only when every replica has it (acks = -1),
 * so the caller may then move the source offset past it.
 */
export class DeadLetterQueue {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly metrics: Metrics,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const failedAt = new Date().toISOString();
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map(({ source, code, message }) => ({
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
      })),
    });
    for (const l of letters) this.metrics.deadLettered.inc({ topic: l.source.topic, reason: l.code });
  }
}
