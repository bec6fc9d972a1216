import { describe, expect, it } from 'vitest';
import { localDayStartUs, splitByLocalDay, zoneOffsetUs } from '../../src/bars/local-days.js';
import { MERGE_GAP_US, mergeInto, SpanSet } from '../../src/bars/spans.js';
import type { TouchedSpan } from '../../src/writers/batch.js';

const SP = 'America/Sao_Paulo';
const us = (iso: string) => Date.parse(iso) * 1000;
const span = (symbol: string, fromUs: number, toUs: number, exchange = 'B3'): TouchedSpan => ({
  symbol,
  exchange,
  fromUs,
  toUs,
});

describe('mergeInto keeps one symbol’s spans sorted and disjoint', () => {
  const cases = [
    { name: 'into nothing', list: [], add: [10, 20], out: [[10, 20]] },
    { name: 'overlapping merge', list: [[10, 20]], add: [15, 30], out: [[10, 30]] },
    { name: 'contained changes nothing', list: [[10, 50]], add: [20, 30], out: [[10, 50]] },
    {
      name: 'within the gap merge',
      list: [[0, 10]],
      add: [10 + MERGE_GAP_US, 10 + MERGE_GAP_US],
      out: [[0, 10 + MERGE_GAP_US]],
    },
    {
      name: 'farther apart stay apart, sorted',
      list: [[5 * MERGE_GAP_US, 6 * MERGE_GAP_US]],
      add: [0, 1],
      out: [
        [0, 1],
        [5 * MERGE_GAP_US, 6 * MERGE_GAP_US],
      ],
    },
    {
      name: 'a span bridging two merges all three',
      list: [
        [0, 10],
        [3 * MERGE_GAP_US, 4 * MERGE_GAP_US],
      ],
      add: [5, 3 * MERGE_GAP_US],
      out: [[0, 4 * MERGE_GAP_US]],
    },
  ];
  it.each(cases)('$name', ({ list, add, out }) => {
    const merged = mergeInto(
      list.map(([f, t]) => span('X', f as number, t as number)),
      span('X', add[0] as number, add[1] as number),
    );
    expect(merged.map((s) => [s.fromUs, s.toUs])).toEqual(out);
  });
});

describe('SpanSet coalesces across flushes per (symbol, exchange)', () => {
  it('merges what overlaps, keeps symbols and exchanges apart, and empties on take', () => {
    const set = new SpanSet();
    expect(set.isEmpty).toBe(true);
    set.add([span('PETR4', 100, 200), span('VALE3', 100, 150)]);
    set.add([span('PETR4', 150, 400), span('PETR4', 100, 120, 'OTHER')]);
    expect(set.isEmpty).toBe(false);
    const taken = set.take().map((s) => [s.symbol, s.exchange, s.fromUs, s.toUs]);
    expect(taken.sort()).toEqual(
      [
        ['PETR4', 'B3', 100, 400],
        ['PETR4', 'OTHER', 100, 120],
        ['VALE3', 'B3', 100, 150],
      ].sort(),
    );
    expect(set.isEmpty).toBe(true);
    expect(set.take()).toEqual([]);
  });

  it('does not alias the caller’s span objects', () => {
    const set = new SpanSet();
    const mine = span('X', 1, 2);
    set.add([mine]);
    set.add([span('X', 0, 3)]);
    expect(mine).toEqual(span('X', 1, 2));
  });
});

describe('local days in the exchange zone', () => {
  const cases = [
    {
      name: 'São Paulo (UTC-3, no DST since 2019): day starts 03:00Z',
      at: '2024-03-04T15:00:00Z',
      start: '2024-03-04T03:00:00Z',
    },
    {
      name: 'just before local midnight belongs to the previous day',
      at: '2024-03-05T02:59:59.999Z',
      start: '2024-03-04T03:00:00Z',
    },
    {
      name: 'local midnight exactly starts its day',
      at: '2024-03-05T03:00:00Z',
      start: '2024-03-05T03:00:00Z',
    },
    { name: 'DST (UTC-2) day starts 02:00Z', at: '2018-12-10T12:00:00Z', start: '2018-12-10T02:00:00Z' },
    {
      name: 'DST start 2018-11-04: midnight skipped, the day starts at the jump (03:00Z)',
      at: '2018-11-04T15:00:00Z',
      start: '2018-11-04T03:00:00Z',
    },
    {
      name: 'DST end 2019-02-17: the 25-hour day 2019-02-16 starts 02:00Z',
      at: '2019-02-17T02:30:00Z',
      start: '2019-02-16T02:00:00Z',
    },
    {
      name: 'the day after the DST end starts 03:00Z',
      at: '2019-02-17T12:00:00Z',
      start: '2019-02-17T03:00:00Z',
    },
  ];
  it.each(cases)('$name', ({ at, start }) => {
    expect(new Date(localDayStartUs(us(at), SP) / 1000).toISOString()).toBe(new Date(start).toISOString());
  });

  it.each([
    { at: '2024-03-04T15:00:00Z', tz: SP, hours: -3 },
    { at: '2018-12-10T12:00:00Z', tz: SP, hours: -2 },
    { at: '2024-03-04T15:00:00Z', tz: 'UTC', hours: 0 },
    { at: '2024-03-04T15:00:00.123456Z', tz: 'Asia/Kolkata', hours: 5.5 },
  ])('offset of $tz at $at is $hours h', ({ at, tz, hours }) => {
    expect(zoneOffsetUs(us(at), tz)).toBe(hours * 3_600_000_000);
  });

  it('splitByLocalDay cuts at local midnights, keeps the ends and microseconds', () => {
    const from = us('2024-03-04T13:00:00Z') + 7;
    const to = us('2024-03-06T04:00:00Z') + 9;
    expect(splitByLocalDay(from, to, SP)).toEqual([
      [from, us('2024-03-05T03:00:00Z') - 1],
      [us('2024-03-05T03:00:00Z'), us('2024-03-06T03:00:00Z') - 1],
      [us('2024-03-06T03:00:00Z'), to],
    ]);
    expect(splitByLocalDay(from, from, SP)).toEqual([[from, from]]);
  });
});
