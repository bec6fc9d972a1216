import { readFileSync } from 'node:fs';
import kafkajs, { type KafkaConfig } from 'kafkajs';
import type { Config } from '../config.js';

/** The kafkajs client options from the worker's configuration (also used by `tick-ingest produce`). */
export function kafkaConfig(cfg: Config): KafkaConfig {
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
