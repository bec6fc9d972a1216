import { describe, expect, it } from 'vitest';
import { type DecodeContext, decodeBook, decodeCallback, decodeTick } from '../../src/transform/index.js';

const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: Date.parse('2026-11-24T14:00:00Z') * 1000,
  pastWindowUs: 31 * 86_400_000_000,
  futureWindowUs: 300_000_000,
};

const SEEDS: [string, typeof decodeTick, string][] = [
  [
    'tick',
    decodeTick,
    '{"symbol":"PETR4","exchange":"B3","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00.123456-03:00","tradeId":123456}',
  ],
  [
    'book',
    decodeBook,
    '{"symbol":"PETR4","snapshotTime":"24/11/2026 10:00:00.123","bids":[{"price":30.12,"volume":100},{"price":"30.11","volume":1e2}],"asks":[{"price":30.13,"volume":5}]}',
  ],
  [
    'callback',
    decodeCallback,
    '{"type":"TRADE","callbackTime":"24/11/2026 10:00:00.250","payload":{"symbol":"PETR4","price":1234567890.12345678,"volume":1,"aggressor":"SELL","n":[{"x":"\\u00e9"}]}}',
  ],
];

// Bytes that matter to the parsers: structure, digits, signs, exponents, escapes, NUL, invalid UTF-8.
const ALPHABET = Buffer.from('{}[]":,.-+eE0123456789\\u/ TZ\x00\xff\xc3nulltruefalse');

/** Deterministic pseudo-random generator (LCG), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('decoders on mutated input', () => {
  it.each(SEEDS)('%s: never throw, always answer ok or a coded error', (_name, decode, seed) => {
    const random = rng(42);
    const original = Buffer.from(seed);
    const codes = new Set<string>();
    for (let n = 0; n < 5000; n++) {
      const b = Buffer.from(original);
      const edits = 1 + Math.floor(random() * 4);
      let value: Buffer = b;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * value.length);
        const byte = ALPHABET[Math.floor(random() * ALPHABET.length)] as number;
        const op = random();
        if (op < 0.5) value[at] = byte;
        else if (op < 0.75)
          value = Buffer.concat([value.subarray(0, at), Buffer.of(byte), value.subarray(at)]);
        else value = Buffer.concat([value.subarray(0, at), value.subarray(at + 1)]);
      }
      const d = decode(value, ctx);
      if (d.ok) expect(d.ticks.length + d.books.length + d.callbacks.length).toBeGreaterThan(0);
      else {
        expect(d.error.message.length).toBeGreaterThan(0);
        codes.add(d.error.code);
      }
    }
    expect(codes.size).toBeGreaterThan(3);
  });
});
