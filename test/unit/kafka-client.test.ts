import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { leanerRecordDecoding, quietIdleRequestQueues } from '../../src/consumers/kafka-client.js';

type Queue = { pending: unknown[]; throttledUntil: number; throttleCheckTimeoutId: NodeJS.Timeout | null };
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests(this: Queue): void };
};

describe("kafkajs's idle request queue", () => {
  it.each([
    ['idle and unthrottled: no timer (kafkajs set one with a negative delay)', [], -1, false],
    ['requests pending: a timer checks them', [{}], -1, true],
    ['throttled: a timer for when the throttle ends', [], Date.now() + 600_000, true],
  ])('%s', (_name, pending, throttledUntil, timer) => {
    quietIdleRequestQueues();
    const q: Queue = { pending, throttledUntil, throttleCheckTimeoutId: null };
    RequestQueue.prototype.scheduleCheckPendingRequests.call(q);
    expect(q.throttleCheckTimeoutId !== null).toBe(timer);
    if (q.throttleCheckTimeoutId) clearTimeout(q.throttleCheckTimeoutId);
  });
});

describe("kafkajs's record decoding, with fewer objects", () => {
  const req = createRequire(import.meta.url);
  type Long = { value: bigint };
  const Long = req('kafkajs/src/utils/long.js') as { fromValue(v: unknown): Long };
  const Encoder = req('kafkajs/src/protocol/encoder.js') as new () => {
    writeVarLong(v: Long): unknown;
    buffer: Buffer;
  };
  const Decoder = req('kafkajs/src/protocol/decoder.js') as new (
    b: Buffer,
  ) => { readVarLong(): Long; offset: number };
  leanerRecordDecoding();

  /** Encode `values` back to back as kafkajs does, read them back with the (patched) decoder. */
  function roundTrip(values: bigint[]): bigint[] {
    const e = new Encoder();
    for (const v of values) e.writeVarLong(Long.fromValue(v));
    const d = new Decoder(e.buffer);
    const out = values.map(() => d.readVarLong().value);
    expect(d.offset).toBe(e.buffer.length);
    return out;
  }

  it('reads every varlong as kafkajs wrote it: short ones by Numbers, long ones by its own path', () => {
    const edges = [0n, 1n, -1n, 63n, -64n, 64n, 2n ** 48n - 1n, -(2n ** 48n), 2n ** 48n, 2n ** 53n + 1n];
    const extremes = [2n ** 63n - 1n, -(2n ** 63n), 1_764_000_000_000n, -1_764_000_000_000n];
    let seed = 17n;
    const random = Array.from({ length: 2000 }, (_, k) => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
      // Of every width, signed: shift the 64 random bits right by 0..63.
      return BigInt.asIntN(64, seed >> BigInt(k % 64));
    });
    const values = [...edges, ...extremes, ...random];
    expect(roundTrip(values)).toEqual(values);
  });

  it("text to Long: the same value each time, also when remembered, and never another text's", () => {
    const texts = ['1764000000000', '42', '1764000000000', '-9223372036854775808', '42', '7', '8', '9', '42'];
    expect(texts.map((t) => Long.fromValue(t).value)).toEqual(texts.map((t) => BigInt(t)));
  });
});
