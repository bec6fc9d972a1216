import { describe, expect, it } from 'vitest';
import {
  joinTicks,
  pickTicks,
  TickColumnsBuilder,
  tradeIdAt,
  tradeNumberAt,
  transferables,
} from '../../src/tick-columns.js';
import { type PlainTicks, packTicks, plainTicks } from '../support/tick-columns.js';

const columns = (rows: [string, string, string, string, number, string | null][]): PlainTicks => ({
  symbols: rows.map((r) => r[0]),
  exchanges: rows.map((r) => r[1]),
  prices: rows.map((r) => r[2]),
  volumes: rows.map((r) => r[3]),
  timesUs: rows.map((r) => r[4]),
  tradeIds: rows.map((r) => r[5]),
});

const cases: [string, PlainTicks][] = [
  ['no ticks', columns([])],
  ['one symbol running', columns([0, 1, 2].map((k) => ['PETR4', 'B3', `30.1${k}`, '100', k, String(k)]))],
  [
    'symbols alternating, a text back after others, trade numbers missing or past 2^53',
    columns([
      ['PETR4', 'B3', '30.12', '100', 1, '7'],
      ['VALE3', 'B3', '61.5', '200', 2, null],
      ['PETR4', 'B3', '30.12', '100', 3, '9223372036854775807'],
      ['WINZ26', 'BMF', '128500', '1', 4, null],
      ['VALE3', 'B3', '61.5', '100', 5, '-9007199254740992'],
    ]),
  ],
  [
    'many rows, few distinct texts',
    columns(Array.from({ length: 100 }, (_, k) => [`S${k % 7}`, 'B3', String(k % 13), '1', k, String(k)])),
  ],
];

describe('tick columns: each distinct text once, numbers in typed arrays', () => {
  it.each(cases)('%s: read back as built', (_name, c) => {
    expect(plainTicks(packTicks(c))).toEqual(c);
  });

  it('each distinct text is kept once', () => {
    const t = packTicks((cases[2] as [string, PlainTicks])[1]);
    expect(t.symbols.texts).toEqual(['PETR4', 'VALE3', 'WINZ26']);
    expect(t.prices.texts).toEqual(['30.12', '61.5', '128500']);
  });

  it('several batches join in order', () => {
    const [a, b, c] = [cases[2], cases[1], cases[3]].map((x) => (x as [string, PlainTicks])[1]) as [
      PlainTicks,
      PlainTicks,
      PlainTicks,
    ];
    const joined = plainTicks(joinTicks([packTicks(a), packTicks(b), packTicks(c)]));
    const keys = Object.keys(a) as (keyof PlainTicks)[];
    expect(joined).toEqual(Object.fromEntries(keys.map((k) => [k, [...a[k], ...b[k], ...c[k]]])));
    const one = packTicks(a);
    expect(joinTicks([one])).toBe(one);
    expect(plainTicks(joinTicks([]))).toEqual(columns([]));
  });

  it('picks rows in the order asked, large trade numbers with their rows', () => {
    const a = (cases[2] as [string, PlainTicks])[1];
    const picked = plainTicks(pickTicks(packTicks(a), [0, 2, 4]));
    const keys = Object.keys(a) as (keyof PlainTicks)[];
    expect(picked).toEqual(Object.fromEntries(keys.map((k) => [k, [0, 2, 4].map((i) => a[k][i])])));
  });

  it.each<[string, number | bigint]>([
    ['0', 0],
    ['-0', 0],
    ['42', 42],
    ['-42', -42],
    ['999999999999999', 999_999_999_999_999],
    ['1000000000000000', 1_000_000_000_000_000],
    ['9007199254740991', 9_007_199_254_740_991],
    ['-9007199254740991', -9_007_199_254_740_991],
    ['9007199254740992', 9_007_199_254_740_992n],
    ['-9007199254740992', -9_007_199_254_740_992n],
    ['9007199254740993', 9_007_199_254_740_993n],
    ['9223372036854775807', 9_223_372_036_854_775_807n],
    ['-9223372036854775808', -9_223_372_036_854_775_808n],
  ])('trade number %s is %s: a Number exactly when it is a safe integer', (text, value) => {
    const b = new TickColumnsBuilder();
    b.add('X', 'B3', '1', '1', 0, null);
    b.add('X', 'B3', '1', '1', 0, text);
    const t = b.build();
    expect(tradeNumberAt(t, 0)).toBeNull();
    expect(tradeIdAt(t, 0)).toBeNull();
    expect(tradeNumberAt(t, 1)).toBe(value);
    expect(tradeIdAt(t, 1)).toBe(text === '-0' ? '0' : text);
  });

  it('hands its typed arrays over to be moved, not copied; large trade numbers go with the message', async () => {
    const b = new TickColumnsBuilder();
    b.add('PETR4', 'B3', '1', '1', 5, null);
    b.add('PETR4', 'B3', '1', '1', 6, '9223372036854775807');
    const t = b.build();
    const buffers = transferables(t);
    expect(buffers).toEqual(
      [t.symbols.at, t.exchanges.at, t.prices.at, t.volumes.at, t.timesUs, t.tradeNumbers].map(
        (a) => a.buffer,
      ),
    );
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<unknown>((resolve) => port2.once('message', resolve));
    port1.postMessage(t, buffers);
    const moved = (await received) as typeof t;
    port1.close();
    expect(t.timesUs.length).toBe(0); // detached: it went with the message
    expect(tradeIdAt(moved, 1)).toBe('9223372036854775807');
    expect([...moved.timesUs]).toEqual([5, 6]);
  });
});
