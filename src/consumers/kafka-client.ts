import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import kafkajs, { type KafkaConfig } from 'kafkajs';
import type { Config } from '../config.js';
import { leanFetchDecoding } from './fetched-records.js';

/** The kafkajs client options from the worker's configuration (also used by `tick-ingest produce`). */
export function kafkaConfig(cfg: Config): KafkaConfig {
  quietIdleRequestQueues();
  leanFetchDecoding();
  const sasl = cfg.KAFKA_SASL_MECHANISM
    ? {
        mechanism: cfg.KAFKA_SASL_MECHANISM,
        username: cfg.KAFKA_SASL_USERNAME ?? '',
        password: cfg.KAFKA_SASL_PASSWORD ?? '',
      }
    : undefined;
  return {
    clientId: cfg.KAFKA_CLIENT_ID,
    brokers: cfg.KAFKA_BROKERS,
    logLevel: kafkajs.logLevel.WARN,
    ssl: cfg.KAFKA_SSL
      ? {
          rejectUnauthorized: cfg.KAFKA_SSL_REJECT_UNAUTHORIZED,
          ...(cfg.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(cfg.KAFKA_SSL_CA_FILE, 'utf8')] } : {}),
        }
      : false,
    ...(sasl ? { sasl: sasl as KafkaConfig['sasl'] } : {}),
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  };
}

/**
 * kafkajs 2.2.4 (unmaintained) re-arms a timer with a negative delay after every request while its
 * queue is idle: Node 24 warns (TimeoutNegativeWarning) and the 1 ms timer loops per connection.
 * An idle, unthrottled queue has nothing to check: a new request checks the queue itself.
 */
export function quietIdleRequestQueues(): void {
  const proto = (
    createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
      prototype: IdleCheck & { scheduleCheckPendingRequests(this: IdleCheck): void; [PATCHED]?: true };
    }
  ).prototype;
  if (proto[PATCHED]) return;
  const original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: IdleCheck) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  proto[PATCHED] = true;
}

const PATCHED = Symbol.for('tick-ingest.quietIdleRequestQueues');

interface IdleCheck {
  pending: unknown[];
  throttledUntil: number;
}
