import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import kafkajs, { type KafkaConfig } from 'kafkajs';
import type { Config } from '../config.js';

/** The kafkajs client options from the worker's configuration (also used by `tick-ingest produce`). */
export function kafkaConfig(cfg: Config): KafkaConfig {
  quietIdleRequestQueues();
  leanerRecordDecoding();
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

/** kafkajs's 64-bit integer: a BigInt in `value`; its methods return new ones (it is never changed). */
interface KafkaLong {
  value: bigint;
}
interface LongClass {
  fromNumber(n: number): KafkaLong;
  fromValue(v: unknown): KafkaLong;
  [PATCHED]?: true;
}
interface DecoderProto {
  buffer: Buffer;
  offset: number;
  readVarLong(this: DecoderProto): KafkaLong;
}

/**
 * kafkajs decodes every record's timestamp and offset with 64-bit arithmetic that allocates a
 * BigInt and an object per operation: its varlong reader builds ~10 of them per record, and each
 * record parses its batch's base timestamp and offset from text again. That garbage was the largest
 * share of the worker's allocations (sampled: ~25 % of the main thread's bytes), and what survives it
 * the largest share of its collection work. Same values, fewer objects:
 * - a varlong of at most 7 bytes (49 bits: every timestamp delta and offset delta in practice) is
 *   read in plain Number arithmetic, which is exact there; longer ones take kafkajs's own path;
 * - Long.fromValue of text remembers its last few answers (a Long is never changed, so one can be shared).
 */
export function leanerRecordDecoding(): void {
  const req = createRequire(import.meta.url);
  const Long = req('kafkajs/src/utils/long.js') as LongClass;
  const decoder = (req('kafkajs/src/protocol/decoder.js') as { prototype: DecoderProto }).prototype;
  if (Long[PATCHED]) return;
  const readVarLong = decoder.readVarLong;
  decoder.readVarLong = function (this: DecoderProto) {
    const start = this.offset;
    let unsigned = 0;
    let scale = 1;
    for (let n = 0; ; n++) {
      if (n === 7) {
        this.offset = start;
        return readVarLong.call(this);
      }
      const byte = this.buffer[this.offset++] as number;
      unsigned += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte >= 0x80)) break;
    }
    // Zigzag: even → n / 2, odd → -(n + 1) / 2.
    return Long.fromNumber(unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2);
  };
  const fromValue = Long.fromValue.bind(Long);
  const texts: (string | undefined)[] = new Array(REMEMBERED).fill(undefined);
  const longs: (KafkaLong | undefined)[] = new Array(REMEMBERED).fill(undefined);
  let next = 0;
  Long.fromValue = (v: unknown) => {
    if (typeof v !== 'string') return fromValue(v);
    for (let k = 0; k < REMEMBERED; k++) if (texts[k] === v) return longs[k] as KafkaLong;
    const long = fromValue(v);
    texts[next] = v;
    longs[next] = long;
    next = (next + 1) % REMEMBERED;
    return long;
  };
  Long[PATCHED] = true;
}

/** A record batch's base timestamp and base offset, and room for the values around them. */
const REMEMBERED = 4;
