import { describe, expect, it } from 'vitest';
import { emptyExpected, type LabelledMessage, mixedFeed, type Outcome, tally } from '../../src/feed/mix.js';
import { decodeBook, decodeCallback, decodeTick } from '../../src/transform/index.js';
import type { DecodeContext, Decoded } from '../../src/transform/types.js';

const START_US = Date.UTC(2026, 10, 24, 13, 0, 0) * 1000;
const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: START_US + 3600 * 1_000_000,
  pastWindowUs: 31 * 86_400_000_000,
  futureWindowUs: 300_000_000,
};

const DECODE = { ticks: decodeTick, book: decodeBook, callbacks: decodeCallback };

/** The outcome the real decoders give a message, in the feed's vocabulary. */
function decodedOutcome(m: LabelledMessage): Outcome {
  const d: Decoded = DECODE[m.kind](Buffer.from(m.value), ctx);
  if (!d.ok) return 'dead-letter';
  const cb = d.callbacks[0];
  if (!cb) return d.ticks.length ? 'tick' : 'book';
  if (cb.status === 'FAILED') return 'failed-callback';
  if (cb.status === 'SKIPPED') return 'skipped-callback';
  return d.ticks.length ? 'trade-callback' : 'depth-callback';
}

describe('mixedFeed', () => {
  const feed = [...mixedFeed(5000, { seed: 3, invalidFraction: 0.1, startUs: START_US, stepUs: 500 })];

  it("labels every message with what the worker's decoders actually do with it", () => {
    const mismatches = feed.filter((m) => decodedOutcome(m) !== m.outcome);
    expect(mismatches.slice(0, 3)).toEqual([]);
  });

  it('produces every outcome, on every topic it belongs to', () => {
    const seen = new Set(feed.map((m) => `${m.kind}:${m.outcome}`));
    expect([...seen].sort()).toEqual(
      [
        'book:book',
        'book:dead-letter',
        'callbacks:dead-letter',
        'callbacks:depth-callback',
        'callbacks:failed-callback',
        'callbacks:skipped-callback',
        'callbacks:trade-callback',
        'ticks:dead-letter',
        'ticks:tick',
      ].sort(),
    );
  });

  it('keys each message by its symbol, the field the worker partitions on', () => {
    const keyed = feed.filter((m) => m.outcome !== 'dead-letter' && m.kind !== 'callbacks');
    for (const m of keyed) expect(JSON.parse(m.value).symbol).toBe(m.key);
  });

  it.each([
    { invalidFraction: 0, weights: { ticks: 70, book: 20, callbacks: 10 } },
    { invalidFraction: 0.05, weights: { ticks: 70, book: 20, callbacks: 10 } },
    { invalidFraction: 0.2, weights: { ticks: 1, book: 0, callbacks: 0 } },
    { invalidFraction: 0.02, weights: { ticks: 0, book: 0, callbacks: 1 } },
  ])('follows weights $weights and invalid fraction $invalidFraction', (opts) => {
    const msgs = [...mixedFeed(20_000, { ...opts, startUs: START_US })];
    const total = opts.weights.ticks + opts.weights.book + opts.weights.callbacks;
    for (const kind of ['ticks', 'book', 'callbacks'] as const) {
      const share = msgs.filter((m) => m.kind === kind).length / msgs.length;
      expect(share).toBeCloseTo(opts.weights[kind] / total, 1);
    }
    const bad = msgs.filter((m) => m.outcome === 'dead-letter' || m.outcome === 'failed-callback').length;
    expect(bad / msgs.length).toBeCloseTo(opts.invalidFraction, 1);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = [...mixedFeed(200, { seed: 9 })].map((m) => m.value);
    const b = [...mixedFeed(200, { seed: 9 })].map((m) => m.value);
    const c = [...mixedFeed(200, { seed: 10 })].map((m) => m.value);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('tally', () => {
  it.each<[Outcome, Partial<ReturnType<typeof emptyExpected>>]>([
    ['tick', { marketTicks: 1 }],
    ['book', { bookSnapshots: 1 }],
    ['trade-callback', { marketTicks: 1, callbacks: { PROCESSED: 1, FAILED: 0, SKIPPED: 0 } }],
    ['depth-callback', { bookSnapshots: 1, callbacks: { PROCESSED: 1, FAILED: 0, SKIPPED: 0 } }],
    ['failed-callback', { callbacks: { PROCESSED: 0, FAILED: 1, SKIPPED: 0 } }],
    ['skipped-callback', { callbacks: { PROCESSED: 0, FAILED: 0, SKIPPED: 1 } }],
    ['dead-letter', { deadLetters: 1 }],
  ])('counts a %s message', (outcome, delta) => {
    const got = tally(emptyExpected(), { kind: 'callbacks', key: 'K', value: '{}', outcome });
    expect(got).toEqual({ ...emptyExpected(), messages: { ticks: 0, book: 0, callbacks: 1 }, ...delta });
  });
});
