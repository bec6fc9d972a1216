import { describe, expect, it } from 'vitest';
import { emptyExpected, type LabelledMessage, mixedFeed, type Outcome, tally } from '../../src/feed/mix.js';
import { TradeNumbers, tickMessages } from '../../src/feed/synthetic.js';
import { missingRuns } from '../../src/trades/plan.js';
import { tradingDay } from '../../src/trades/trading-day.js';
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
  const feed = [
    ...mixedFeed(5000, {
      seed: 3,
      invalidFraction: 0.1,
      startUs: START_US,
      stepUs: 500,
      replayFraction: 0.01,
      skipFraction: 0.01,
    }),
  ];

  it("labels every message with what the worker's decoders actually do with it", () => {
    // A replay decodes like the trade it repeats: only the trade numbers tell them apart (next test).
    const base = (o: Outcome): Outcome =>
      o === 'replayed-tick' ? 'tick' : o === 'replayed-trade-callback' ? 'trade-callback' : o;
    const mismatches = feed.filter((m) => decodedOutcome(m) !== base(m.outcome));
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
        'ticks:replayed-tick',
        'callbacks:replayed-trade-callback',
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

  /** The trades of a feed as the worker reads them: (symbol, trading day, trade number), in feed order. */
  function tradesOf(msgs: LabelledMessage[], startUs = START_US) {
    // Read a day after the feed: every time is in the past window.
    const at = { ...ctx, recordTimeUs: startUs + 86_400_000_000 };
    return msgs.flatMap((m) => {
      const d = DECODE[m.kind](Buffer.from(m.value), at);
      return d.ok
        ? d.ticks.map((t) => ({
            m,
            key: `${t.symbol} ${tradingDay(t.tickTimeUs, ctx.timeZone)}`,
            id: t.tradeId,
          }))
        : [];
    });
  }

  it.each([
    { replayFraction: 0.01, skipFraction: 0.01, startUs: START_US },
    { replayFraction: 0.05, skipFraction: 0.002, startUs: Date.UTC(2026, 10, 25, 2, 59, 0) * 1000 }, // over midnight
  ])(
    'numbers trades per symbol and day, with as many replays and holes as it labels ($replayFraction, $skipFraction)',
    (opts) => {
      const msgs = [...mixedFeed(20_000, { seed: 5, stepUs: 5000, ...opts })];
      const expected = msgs.reduce(tally, emptyExpected());
      const numbers = new Map<string, Set<bigint>>();
      let repeats = 0;
      for (const t of tradesOf(msgs, opts.startUs)) {
        expect(t.id).not.toBeNull();
        const set = numbers.get(t.key) ?? new Set<bigint>();
        numbers.set(t.key, set);
        const n = BigInt(t.id as string);
        const replayed = t.m.outcome.startsWith('replayed');
        // A replay repeats a trade sent earlier; a fresh trade never does.
        expect(set.has(n)).toBe(replayed);
        if (replayed) repeats++;
        set.add(n);
      }
      const holes = [...numbers.values()].reduce((sum, set) => {
        const sorted = [...set].sort((a, b) => (a < b ? -1 : 1));
        return sum + missingRuns(sorted, sorted[0] as bigint, sorted[sorted.length - 1] as bigint).length;
      }, 0);
      // Every symbol-day starts at 1: nothing is missing below the first number.
      for (const set of numbers.values()) expect(set.has(1n)).toBe(true);
      expect({ repeats, holes }).toEqual({ repeats: expected.duplicateTrades, holes: expected.holes });
      expect(expected.duplicateTrades).toBeGreaterThan(50);
      expect(expected.holes).toBeGreaterThan(10);
      expect(new Set([...numbers.keys()].map((k) => k.split(' ')[1])).size).toBe(
        opts.startUs === START_US ? 1 : 2,
      );
    },
  );

  it('without replays and skips numbers every symbol-day 1, 2, 3, ... and labels nothing', () => {
    const msgs = [...mixedFeed(3000, { seed: 2, replayFraction: 0, skipFraction: 0 })];
    expect(msgs.filter((m) => m.outcome.startsWith('replayed') || m.opensHole)).toEqual([]);
    const byKey = new Map<string, bigint[]>();
    for (const t of tradesOf(msgs)) byKey.set(t.key, [...(byKey.get(t.key) ?? []), BigInt(t.id as string)]);
    for (const list of byKey.values()) expect(list).toEqual(list.map((_, k) => BigInt(k + 1)));
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
    ['replayed-tick', { duplicateTrades: 1 }],
    ['replayed-trade-callback', { duplicateTrades: 1, callbacks: { PROCESSED: 1, FAILED: 0, SKIPPED: 0 } }],
  ])('counts a %s message', (outcome, delta) => {
    const got = tally(emptyExpected(), { kind: 'callbacks', key: 'K', value: '{}', outcome });
    expect(got).toEqual({ ...emptyExpected(), messages: { ticks: 0, book: 0, callbacks: 1 }, ...delta });
  });

  it('counts a trade that jumps over numbers as one hole', () => {
    const got = tally(emptyExpected(), {
      kind: 'ticks',
      key: 'K',
      value: '{}',
      outcome: 'tick',
      opensHole: true,
    });
    expect([got.marketTicks, got.holes]).toEqual([1, 1]);
  });
});

describe('tickMessages trade numbers', () => {
  const idsOf = (msgs: Iterable<{ value: string }>) =>
    [...msgs].map((m) => JSON.parse(m.value) as { symbol: string; tradeId: number });

  it('numbers each symbol from firstSeq + 1, so calls with disjoint firstSeq ranges never share a number', () => {
    const a = idsOf(tickMessages(300, { seed: 1 }));
    const b = idsOf(tickMessages(300, { seed: 1, firstSeq: 300 }));
    const petr = (list: typeof a) => list.filter((t) => t.symbol === 'PETR4').map((t) => t.tradeId);
    expect(petr(a)).toEqual(petr(a).map((_, k) => k + 1));
    expect(petr(b)).toEqual(petr(b).map((_, k) => k + 301));
    for (const t of b) expect(t.tradeId).toBeGreaterThan(300);
  });

  it('continues one numbering across calls that share a TradeNumbers', () => {
    const trades = new TradeNumbers();
    const first = idsOf(tickMessages(200, { seed: 1, trades }));
    const second = idsOf(tickMessages(200, { seed: 2, trades, firstSeq: 200 }));
    const bySymbol = new Map<string, number[]>();
    for (const t of [...first, ...second])
      bySymbol.set(t.symbol, [...(bySymbol.get(t.symbol) ?? []), t.tradeId]);
    for (const list of bySymbol.values()) expect(list).toEqual(list.map((_, k) => k + 1));
  });
});
