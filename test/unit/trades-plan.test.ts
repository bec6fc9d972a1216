import { describe, expect, it } from 'vitest';
import { rng } from '../../src/feed/synthetic.js';
import type { TickColumns } from '../../src/records.js';
import { tickCount } from '../../src/tick-columns.js';
import { gapFilter, gapLines } from '../../src/trades/command.js';
import type { GapRow } from '../../src/trades/gaps.js';
import { groupKey, groupTrades, missingRuns, planTrades, type StoredTrades } from '../../src/trades/plan.js';
import { tradingDay } from '../../src/trades/trading-day.js';
import { emptyTicks, type PlainTicks, packTicks } from '../support/tick-columns.js';

const SP = 'America/Sao_Paulo';
// 2026-11-24 13:00 UTC = 10:00 in São Paulo.
const T0 = Date.UTC(2026, 10, 24, 13, 0, 0) * 1000;

/** A batch of ticks: [symbol, trade number or null, µs offset from T0]. */
function ticks(rows: [string, number | string | null, number?][]): TickColumns {
  const c = emptyTicks();
  for (const [symbol, id, dt] of rows) {
    c.symbols.push(symbol);
    c.exchanges.push('B3');
    c.prices.push('10');
    c.volumes.push('100');
    c.timesUs.push(T0 + (dt ?? 0));
    c.tradeIds.push(id === null ? null : String(id));
  }
  return packTicks(c);
}

const DAY = '2026-11-24';
const stored = (first: number, last: number, holes: [number, number, string?][] = []): StoredTrades => ({
  first: BigInt(first),
  last: BigInt(last),
  holes: holes.map(([a, b, id], k) => ({
    id: id ?? `h${k}`,
    first: BigInt(a),
    last: BigInt(b),
    detectedAt: '2026-11-24 13:00:00+00',
  })),
});

const ranges = (list: { first: bigint; last: bigint }[]) => list.map((h) => `${h.first}-${h.last}`);

describe('tradingDay', () => {
  it.each([
    [Date.UTC(2026, 10, 24, 13, 0, 0), SP, '2026-11-24'],
    [Date.UTC(2026, 10, 25, 2, 59, 59), SP, '2026-11-24'], // 23:59:59 local
    [Date.UTC(2026, 10, 25, 3, 0, 0), SP, '2026-11-25'], // local midnight
    [Date.UTC(2026, 10, 25, 2, 59, 59), 'UTC', '2026-11-25'],
    [Date.UTC(2018, 10, 4, 2, 59, 59), SP, '2018-11-03'], // the night São Paulo skipped midnight (DST)
    [Date.UTC(2018, 10, 4, 3, 0, 0), SP, '2018-11-04'],
  ])('%s ms in %s is %s', (ms, zone, day) => {
    expect(tradingDay(ms * 1000, zone)).toBe(day);
  });
});

describe('missingRuns', () => {
  it.each([
    { sorted: [], from: 1, to: 5, runs: ['1-5'] },
    { sorted: [1, 2, 3], from: 1, to: 3, runs: [] },
    { sorted: [3], from: 1, to: 5, runs: ['1-2', '4-5'] },
    { sorted: [1, 5, 9], from: 1, to: 9, runs: ['2-4', '6-8'] },
    { sorted: [10], from: 4, to: 10, runs: ['4-9'] },
  ])('$sorted in $from..$to: $runs', ({ sorted, from, to, runs }) => {
    const got = missingRuns(sorted.map(BigInt), BigInt(from), BigInt(to)).map(([a, b]) => `${a}-${b}`);
    expect(got).toEqual(runs);
  });
});

describe('groupTrades', () => {
  it('groups numbered ticks by symbol and trading day in the exchange zone, leaving unnumbered ones out', () => {
    const beforeMidnight = Date.UTC(2026, 10, 25, 2, 59, 59) * 1000 - T0;
    const afterMidnight = Date.UTC(2026, 10, 25, 3, 0, 1) * 1000 - T0;
    const groups = groupTrades(
      ticks([
        ['PETR4', 7, 0],
        ['VALE3', 1, 0],
        ['PETR4', null, 0],
        ['PETR4', 3, beforeMidnight],
        ['PETR4', 1, afterMidnight],
      ]),
      SP,
    );
    expect(
      groups.map((g) => [g.symbol, g.day, g.rows, g.numbers.map(String), String(g.min), String(g.max)]),
    ).toEqual([
      ['PETR4', '2026-11-24', [0, 3], ['7', '3'], '3', '7'],
      ['VALE3', '2026-11-24', [1], ['1'], '1', '1'],
      ['PETR4', '2026-11-25', [4], ['1'], '1', '1'],
    ]);
  });

  it('keeps numbers beyond 2^53 exact', () => {
    const [g] = groupTrades(ticks([['X', '9223372036854775807']]), SP);
    expect(g?.max).toBe(9223372036854775807n);
  });
});

/** Plan a batch against the stored state of PETR4 on DAY. */
function plan(batch: [string, number | null][], state?: StoredTrades) {
  const t = ticks(batch);
  const map = new Map<string, StoredTrades>();
  if (state) map.set(groupKey('PETR4', DAY), state);
  return planTrades(tickCount(t), groupTrades(t, SP), map);
}

describe('planTrades', () => {
  it.each([
    {
      what: 'a first batch in order: all kept, the range recorded, no holes',
      batch: [1, 2, 3],
      state: undefined,
      keep: [true, true, true],
      sequence: '1-3',
      opened: [],
      closed: [],
    },
    {
      what: 'repeats within the batch: only the first of each is kept',
      batch: [1, 2, 1, 2, 3],
      state: undefined,
      keep: [true, true, false, false, true],
      sequence: '1-3',
      opened: [],
      closed: [],
    },
    {
      what: 'a first batch with a jump: the numbers jumped over are a hole',
      batch: [1, 2, 6, 7],
      state: undefined,
      keep: [true, true, true, true],
      sequence: '1-7',
      opened: ['3-5'],
      closed: [],
    },
    {
      what: 'out of order within the batch: only what is still missing at the end is a hole',
      batch: [1, 4, 2, 6],
      state: undefined,
      keep: [true, true, true, true],
      sequence: '1-6',
      opened: ['3-3', '5-5'],
      closed: [],
    },
    {
      what: 'a later batch continuing the range',
      batch: [4, 5],
      state: stored(1, 3),
      keep: [true, true],
      sequence: '1-5',
      opened: [],
      closed: [],
    },
    {
      what: 'a replay of stored trades: all dropped, nothing changes',
      batch: [1, 2, 3],
      state: stored(1, 3),
      keep: [false, false, false],
      sequence: null,
      opened: [],
      closed: [],
    },
    {
      what: 'a replay overlapping new trades, with a jump after the stored range',
      batch: [2, 3, 4, 8],
      state: stored(1, 3),
      keep: [false, false, true, true],
      sequence: '1-8',
      opened: ['5-7'],
      closed: [],
    },
    {
      what: 'a backfill filling a hole exactly',
      batch: [5, 6, 7],
      state: stored(1, 10, [[5, 7, 'h9']]),
      keep: [true, true, true],
      sequence: null,
      opened: [],
      closed: ['h9'],
      filled: 1,
    },
    {
      what: 'a backfill filling a hole partly: the remainders are new holes of the same detection',
      batch: [5, 8, 9],
      state: stored(1, 20, [[4, 10, 'h9']]),
      keep: [true, true, true],
      sequence: null,
      opened: ['4-4', '6-7', '10-10'],
      closed: ['h9'],
      split: 1,
    },
    {
      what: 'a backfill overlapping stored trades and a hole: only the missing ones are kept',
      batch: [3, 4, 5, 6],
      state: stored(1, 10, [[5, 5, 'h1']]),
      keep: [false, false, true, false],
      sequence: null,
      opened: [],
      closed: ['h1'],
      filled: 1,
    },
    {
      what: 'numbers below the stored range: a hole up to it',
      batch: [2, 3],
      state: stored(7, 9),
      keep: [true, true],
      sequence: '2-9',
      opened: ['4-6'],
      closed: [],
    },
  ])('$what', ({ batch, state, keep, sequence, opened, closed, filled, split }) => {
    const p = plan(
      batch.map((n) => ['PETR4', n]),
      state,
    );
    expect(p.keep).toEqual(keep);
    expect(p.duplicates).toBe(keep.filter((k) => !k).length);
    expect(p.sequences.map((s) => `${s.first}-${s.last}`)).toEqual(sequence ? [sequence] : []);
    expect(ranges(p.opened)).toEqual(opened);
    expect(p.closed).toEqual(closed);
    expect(p.gapsFilled).toBe(filled ?? 0);
    expect(p.gapsSplit).toBe(split ?? 0);
    expect(p.gapsOpened).toBe(p.opened.filter((h) => h.splitFrom === null).length);
  });

  it('gives remainders the detection time and id of the hole they remain of, and new holes neither', () => {
    const p = plan(
      [
        ['PETR4', 6],
        ['PETR4', 30],
      ],
      stored(1, 20, [[5, 7, 'h3']]),
    );
    expect(p.opened.map((h) => [`${h.first}-${h.last}`, h.detectedAt, h.splitFrom])).toEqual([
      ['21-29', null, null],
      ['5-5', '2026-11-24 13:00:00+00', 'h3'],
      ['7-7', '2026-11-24 13:00:00+00', 'h3'],
    ]);
  });

  it('keeps ticks without a trade number, and keeps symbols apart', () => {
    const p = plan(
      [
        ['PETR4', null],
        ['PETR4', 2],
        ['VALE3', 2],
        ['PETR4', null],
      ],
      stored(1, 3),
    );
    expect(p.keep).toEqual([true, false, true, true]);
    expect(p.sequences.map((s) => [s.symbol, `${s.first}-${s.last}`])).toEqual([['VALE3', '2-2']]);
  });
});

describe('tick-ingest gaps', () => {
  const row = (over: Partial<GapRow>): GapRow => ({
    id: '1',
    symbol: 'PETR4',
    tradingDay: DAY,
    firstMissing: '5',
    lastMissing: '7',
    missing: '3',
    afterTime: '2026-11-24 10:00:00.004000',
    beforeTime: '2026-11-24 10:00:00.008000',
    detectedAt: '2026-11-24T13:00:00Z',
    filledAt: null,
    splitFrom: null,
    ...over,
  });

  it('lists one hole per line, open or when filled, and sums what is still missing', () => {
    expect(
      gapLines([
        row({}),
        row({
          id: '2',
          firstMissing: '9',
          lastMissing: '9',
          missing: '1',
          beforeTime: null,
          filledAt: '2026-11-24T14:00:00Z',
        }),
      ]),
    ).toEqual([
      'symbol  trading_day  first_missing  last_missing  missing  after_time                  before_time                 detected_at           filled_at             split_from',
      'PETR4   2026-11-24   5              7             3        2026-11-24 10:00:00.004000  2026-11-24 10:00:00.008000  2026-11-24T13:00:00Z  open',
      'PETR4   2026-11-24   9              9             1        2026-11-24 10:00:00.004000                              2026-11-24T13:00:00Z  2026-11-24T14:00:00Z',
      '2 holes listed, 1 open (3 trade numbers missing)',
    ]);
    expect(gapLines([])).toEqual(['0 holes listed, 0 open (0 trade numbers missing)']);
  });

  it.each([
    [{}, { open: false }],
    [
      { symbol: 'PETR4', day: '2026-02-28', open: true },
      { symbol: 'PETR4', day: '2026-02-28', open: true },
    ],
  ])('takes the flags %j as the filter %j', (flags, filter) => {
    expect(gapFilter(flags)).toEqual(filter);
  });

  it.each(['2026-02-30', '2026-13-01', '24/11/2026', '2026-1-5'])('refuses --day %s by name', (day) => {
    expect(() => gapFilter({ day })).toThrow(/--day/);
  });
});

/** The groups and plan the slow, obvious way, in BigInt, for the randomized comparison below. */
function referencePlan(t: PlainTicks, zone: string, state: ReadonlyMap<string, StoredTrades>) {
  const groups = new Map<string, { symbol: string; day: string; rows: number[] }>();
  // Columns only indexed, never mapped: they may become typed arrays.
  for (let i = 0; i < t.tradeIds.length; i++) {
    if (t.tradeIds[i] === null) continue;
    const symbol = t.symbols[i] as string;
    const day = tradingDay(t.timesUs[i] as number, zone);
    const key = groupKey(symbol, day);
    const g = groups.get(key);
    if (g) g.rows.push(i);
    else groups.set(key, { symbol, day, rows: [i] });
  }
  const num = (i: number) => BigInt(t.tradeIds[i] as string);
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  /** Runs of from..to missing from `present` (a set of numbers within it). */
  const missing = (present: bigint[], from: bigint, to: bigint) => {
    const runs: [bigint, bigint][] = [];
    let next = from;
    for (const n of [...present].sort(cmp)) {
      if (n > next) runs.push([next, n - 1n]);
      next = n + 1n;
    }
    if (next <= to) runs.push([next, to]);
    return runs;
  };
  const keep = Array.from({ length: t.tradeIds.length }, () => true);
  const sequences: string[] = [];
  const closed: string[] = [];
  const opened: string[] = [];
  let gapsOpened = 0;
  let gapsFilled = 0;
  let gapsSplit = 0;
  const summary = [...groups.values()].map((g) => {
    const numbers = g.rows.map(num);
    const sorted = [...numbers].sort(cmp);
    return [g.symbol, g.day, g.rows, numbers.map(String), String(sorted[0]), String(sorted.at(-1))];
  });
  for (const g of groups.values()) {
    const s = state.get(groupKey(g.symbol, g.day));
    const holeOf = (n: bigint) => s?.holes.find((h) => h.first <= n && n <= h.last);
    const isStored = (n: bigint) => s !== undefined && s.first <= n && n <= s.last && holeOf(n) === undefined;
    const fresh: bigint[] = [];
    const hits = new Map<string, bigint[]>();
    for (const i of g.rows) {
      const n = num(i);
      if (fresh.includes(n) || isStored(n)) {
        keep[i] = false;
        continue;
      }
      fresh.push(n);
      const h = holeOf(n);
      if (h) hits.set(h.id, [...(hits.get(h.id) ?? []), n]);
    }
    const below = s ? fresh.filter((n) => n < s.first) : [];
    const above = s ? fresh.filter((n) => n > s.last) : fresh;
    const sorted = (xs: bigint[]) => [...xs].sort(cmp);
    const jumps = s
      ? [
          ...(below.length ? missing(below, sorted(below)[0] as bigint, s.first - 1n) : []),
          ...(above.length ? missing(above, s.last + 1n, sorted(above).at(-1) as bigint) : []),
        ]
      : missing(above, sorted(above)[0] as bigint, sorted(above).at(-1) as bigint);
    for (const [a, b] of jumps) opened.push(`${g.symbol} ${g.day} ${a}-${b} new`);
    gapsOpened += jumps.length;
    for (const [id, ns] of hits) {
      const hole = s?.holes.find((h) => h.id === id) as StoredTrades['holes'][number];
      const rest = missing(ns, hole.first, hole.last);
      closed.push(id);
      for (const [a, b] of rest) opened.push(`${g.symbol} ${g.day} ${a}-${b} ${hole.detectedAt} ${id}`);
      if (rest.length) gapsSplit++;
      else gapsFilled++;
    }
    const all = sorted(fresh);
    const first = s ? (sorted(below)[0] ?? s.first) : (all[0] as bigint);
    const last = s ? (sorted(above).at(-1) ?? s.last) : (all.at(-1) as bigint);
    if (!s || first !== s.first || last !== s.last) sequences.push(`${g.symbol} ${g.day} ${first}-${last}`);
  }
  const duplicates = keep.filter((k) => !k).length;
  return {
    summary,
    plan: { keep, duplicates, sequences, closed, opened, gapsOpened, gapsFilled, gapsSplit },
  };
}

const BIG = 2n ** 63n;
const SAFE = 2n ** 53n;

/**
 * A random batch and stored state: per symbol a base number (small, negative, around ±2^53 or
 * ±2^63), numbers near it with repeats and jumps, some unnumbered ticks, times across local
 * midnight, and a stored range with holes around the same numbers.
 */
function randomCase(seed: number) {
  const rand = rng(seed); // mulberry32: a failing seed can be replayed
  const int = (k: number) => Math.floor(rand() * k);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)] as T;
  const symbols = Array.from({ length: 1 + int(8) }, (_, k) => `S${k}`);
  const spread = pick([3, 20, 1000]);
  const bases = new Map(
    symbols.map((s) => [
      s,
      pick([0n, 1_000_000n, -50n, SAFE - 10n, -SAFE - 5n, BIG - 1n - BigInt(spread), -BIG]),
    ]),
  );
  const clamp = (n: bigint) => (n < -BIG ? -BIG : n >= BIG ? BIG - 1n : n);
  const midnight = Date.UTC(2026, 10, 25, 3, 0, 0) * 1000;
  const c = emptyTicks();
  const n = 1 + int(seed % 5 === 0 ? 3000 : 60);
  for (let k = 0; k < n; k++) {
    const symbol = pick(symbols);
    c.symbols.push(symbol);
    c.exchanges.push('B3');
    c.prices.push('10');
    c.volumes.push('100');
    c.timesUs.push(midnight + (int(4) - 2) * 1e6 + int(1e6));
    const wide = rand() < 0.05 ? BigInt(int(2 ** 30)) * BigInt(int(2 ** 30)) : 0n;
    c.tradeIds.push(
      rand() < 0.1 ? null : String(clamp((bases.get(symbol) as bigint) + BigInt(int(spread)) + wide)),
    );
  }
  const state = new Map<string, StoredTrades>();
  for (const symbol of symbols)
    for (const day of ['2026-11-24', '2026-11-25']) {
      if (rand() < 0.3) continue;
      const base = bases.get(symbol) as bigint;
      const first = clamp(base + BigInt(int(spread)) - BigInt(int(spread)));
      const last = clamp(first + BigInt(int(spread)));
      const holes: StoredTrades['holes'] = [];
      for (let at = first + 1n; at < last && holes.length < 5; at += BigInt(1 + int(spread))) {
        const end = clamp(at + BigInt(int(3)));
        if (end >= last) break;
        holes.push({
          id: `${symbol}-${day}-${holes.length}`,
          first: at,
          last: end,
          detectedAt: `d${int(9)}`,
        });
        at = end + 1n;
      }
      state.set(groupKey(symbol, day), { first, last, holes });
    }
  return { batch: c, state };
}

describe('groupTrades and planTrades against a BigInt reference', () => {
  it.each(Array.from({ length: 400 }, (_, seed) => seed))(
    'random batch and stored state, seed %i',
    (seed) => {
      const { batch, state } = randomCase(seed);
      const groups = groupTrades(packTicks(batch), SP);
      const p = planTrades(batch.tradeIds.length, groups, state);
      const want = referencePlan(batch, SP, state);
      expect(
        groups.map((g) => [g.symbol, g.day, g.rows, g.numbers.map(String), String(g.min), String(g.max)]),
      ).toEqual(want.summary);
      expect({
        keep: p.keep,
        duplicates: p.duplicates,
        sequences: p.sequences.map((s) => `${s.symbol} ${s.day} ${s.first}-${s.last}`),
        closed: p.closed,
        opened: p.opened.map(
          (h) =>
            `${h.symbol} ${h.day} ${h.first}-${h.last} ${h.splitFrom === null ? 'new' : `${h.detectedAt} ${h.splitFrom}`}`,
        ),
        gapsOpened: p.gapsOpened,
        gapsFilled: p.gapsFilled,
        gapsSplit: p.gapsSplit,
      }).toEqual(want.plan);
      // The plan's numbers are bigints, whatever form they took inside.
      for (const x of [...p.sequences, ...p.opened])
        expect([typeof x.first, typeof x.last]).toEqual(['bigint', 'bigint']);
    },
  );
});
