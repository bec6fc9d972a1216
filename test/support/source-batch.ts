import type { KafkaMessage } from 'kafkajs';
import { packFetched } from '../../src/consumers/fetched-records.js';
import type { SourceBatch } from '../../src/records.js';

/** A message as tests write it: what the pipeline reads of a Kafka message. */
export type PlainMessage = Pick<KafkaMessage, 'offset' | 'timestamp' | 'key' | 'value'>;

/** Messages of one partition packed as the Kafka source hands them over, continuing at `fromOffset`. */
export function sourceBatch(
  topic: string,
  partition: number,
  messages: readonly PlainMessage[],
  fromOffset = messages[0]?.offset ?? '0',
): SourceBatch {
  return {
    topic,
    partition,
    fromOffset,
    ...packFetched(messages.map((m) => ({ ...m, attributes: 0, headers: {} }))),
  };
}
