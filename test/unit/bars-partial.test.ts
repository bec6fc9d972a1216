import { describe, expect, it } from 'vitest';
import { fixedScale, type PartialBars, partialBars } from '../../src/bars/partial.js';
import { rng } from '../../src/feed/synthetic.js';
import type { TickColumns, TickIds } from '../../src/records.js';
import { noTickIds } from '../../src/tick-id-blocks.js';
import { type PlainTicks, packTicks, tickIdsOf } from '../support/tick-columns.js';

/** µs since the epoch of 2024-03-04 at `hms` UTC plus `micros`. */
const at = (hms: string, micros = 0) => Date.parse(`2024-03-04T${hms}Z`) * 1000 + micros;

type Tick = [
  symbol: string,
  exchange: string,
  price: string,
  volume: string,
  timeUs: number,
  id: string,
  tradeId?: string | null,
];

/** The rows as the sink hands them to the bars (`ticks`), and as plain arrays for the reference. */
function columns(rows: readonly Tick[]): {
  ticks: TickColumns;
  ids: TickIds;
  plain: PlainTicks;
  idTexts: string[];
} {
  const plain: PlainTicks = {
    symbols: rows.map((r) => r[0]),
    exchanges: rows.map((r) => r[1]),
    prices: rows.map((r) => r[2]),
    volumes: rows.map((r) => r[3]),
    timesUs: rows.map((r) => r[4]),
    tradeIds: rows.map((r) => r[6] ?? null),
  };
  const idTexts = rows.map((r) => r[5]);
  return { ticks: packTicks(plain), ids: tickIdsOf(idTexts), plain, idTexts };
}

/** The partial bars row by row, for readable expectations. */
function rowsOf(p: PartialBars) {
  return p.symbols.map((symbol, r) => ({
    key: `${symbol} ${p.exchanges[r]} ${new Date((p.minutesUs[r] as number) / 1000).toISOString().slice(11, 16)}`,
    ohlc: [p.opens[r], p.highs[r], p.lows[r], p.closes[r]],
    volume: p.volumes[r],
    turnover: p.turnovers[r],
    trades: p.tradeCounts[r],
    open: [p.openTimesUs[r], p.openTickIds[r], p.openTradeIds[r]],
    close: [p.closeTimesUs[r], p.closeTickIds[r], p.closeTradeIds[r]],
  }));
}

describe('partialBars', () => {
  it.each<[string, Tick[], ReturnType<typeof rowsOf>]>([
    [
      'one tick',
      [['PETR4', 'B3', '30.12', '100', at('13:00:10', 5), '7']],
      [
        {
          key: 'PETR4 B3 13:00',
          ohlc: ['30.12', '30.12', '30.12', '30.12'],
          volume: '100.00000000',
          turnover: '3012.0000000000000000',
          trades: 1,
          open: [at('13:00:10', 5), '7', null],
          close: [at('13:00:10', 5), '7', null],
        },
      ],
    ],
    [
      'ties on tick_time: open and close by (tick_time, id), not by row order',
      [
        ['PETR4', 'B3', '30.5', '100', at('13:00:10'), '101'],
        ['PETR4', 'B3', '30.1', '200', at('13:00:05'), '102'],
        ['PETR4', 'B3', '30.9', '50', at('13:00:05'), '103'],
        ['PETR4', 'B3', '30.3', '10', at('13:00:10'), '104'],
      ],
      [
        {
          key: 'PETR4 B3 13:00',
          ohlc: ['30.1', '30.9', '30.1', '30.3'],
          volume: '360.00000000',
          turnover: '10918.0000000000000000',
          trades: 4,
          open: [at('13:00:05'), '102', null],
          close: [at('13:00:10'), '104', null],
        },
      ],
    ],
    [
      'ids compared as numbers: 99 before 100',
      [
        ['PETR4', 'B3', '30', '1', at('13:00:10'), '99'],
        ['PETR4', 'B3', '31', '1', at('13:00:10'), '100'],
      ],
      [
        {
          key: 'PETR4 B3 13:00',
          ohlc: ['30', '31', '30', '31'],
          volume: '2.00000000',
          turnover: '61.0000000000000000',
          trades: 2,
          open: [at('13:00:10'), '99', null],
          close: [at('13:00:10'), '100', null],
        },
      ],
    ],
    [
      'fractional volumes and prices with 8 decimals, summed exactly',
      [
        ['BTC', 'CRYPTO', '350000.12345678', '0.00000001', at('13:00:01'), '1'],
        ['BTC', 'CRYPTO', '350000', '0.004', at('13:00:02'), '2'],
        ['BTC', 'CRYPTO', '349999.99999999', '0.004', at('13:00:03'), '3'],
        ['BTC', 'CRYPTO', '350001', '0.12345678', at('13:00:04'), '4'],
      ],
      [
        {
          key: 'BTC CRYPTO 13:00',
          ohlc: ['350000.12345678', '350001', '349999.99999999', '350001'],
          volume: '0.13145679',
          turnover: '46009.9999567811945678',
          trades: 4,
          open: [at('13:00:01'), '1', null],
          close: [at('13:00:04'), '4', null],
        },
      ],
    ],
    [
      'the largest numeric(18,8) values: sums beyond 64 bits stay exact',
      [
        ['BIG3', 'B3', '9999999999.99999999', '9999999999.99999999', at('13:00:01'), '9223372036854775805'],
        ['BIG3', 'B3', '9999999999.99999999', '9999999999.99999999', at('13:00:01'), '9223372036854775806'],
        ['BIG3', 'B3', '9999999999.99999999', '9999999999.99999999', at('13:00:01'), '9223372036854775807'],
      ],
      [
        {
          key: 'BIG3 B3 13:00',
          ohlc: ['9999999999.99999999', '9999999999.99999999', '9999999999.99999999', '9999999999.99999999'],
          volume: '29999999999.99999997',
          turnover: '299999999999999999400.0000000000000003',
          trades: 3,
          open: [at('13:00:01'), '9223372036854775805', null],
          close: [at('13:00:01'), '9223372036854775807', null],
        },
      ],
    ],
    [
      'several symbols, minutes, a late tick and a second exchange: one row each, in order of first occurrence',
      [
        ['PETR4', 'B3', '30', '100', at('13:00:59', 999_999), '1'],
        ['VALE3', 'B3', '60', '10', at('13:00:30'), '2'],
        ['PETR4', 'B3', '31', '100', at('13:01:00'), '3'],
        ['PETR4', 'B3', '29', '5', at('10:15:00'), '4'],
        ['VALE3', 'B3', '61', '20', at('13:00:31'), '5'],
        ['PETR4', 'B3', '32', '1', at('13:00:00'), '6'],
        ['PETR4', 'BVMF', '33', '2', at('13:00:20'), '7'],
      ],
      [
        {
          key: 'PETR4 B3 13:00',
          ohlc: ['32', '32', '30', '30'],
          volume: '101.00000000',
          turnover: '3032.0000000000000000',
          trades: 2,
          open: [at('13:00:00'), '6', null],
          close: [at('13:00:59', 999_999), '1', null],
        },
        {
          key: 'VALE3 B3 13:00',
          ohlc: ['60', '61', '60', '61'],
          volume: '30.00000000',
          turnover: '1820.0000000000000000',
          trades: 2,
          open: [at('13:00:30'), '2', null],
          close: [at('13:00:31'), '5', null],
        },
        {
          key: 'PETR4 B3 13:01',
          ohlc: ['31', '31', '31', '31'],
          volume: '100.00000000',
          turnover: '3100.0000000000000000',
          trades: 1,
          open: [at('13:01:00'), '3', null],
          close: [at('13:01:00'), '3', null],
        },
        {
          key: 'PETR4 B3 10:15',
          ohlc: ['29', '29', '29', '29'],
          volume: '5.00000000',
          turnover: '145.0000000000000000',
          trades: 1,
          open: [at('10:15:00'), '4', null],
          close: [at('10:15:00'), '4', null],
        },
        {
          key: 'PETR4 BVMF 13:00',
          ohlc: ['33', '33', '33', '33'],
          volume: '2.00000000',
          turnover: '66.0000000000000000',
          trades: 1,
          open: [at('13:00:20'), '7', null],
          close: [at('13:00:20'), '7', null],
        },
      ],
    ],
    [
      'ties in a microsecond with trade numbers: the exchange order decides, not the row order',
      [
        ['WINJ24', 'B3', '130000', '1', at('13:00:10'), '101', '30'],
        ['WINJ24', 'B3', '130005', '2', at('13:00:10'), '102', '20'],
        ['WINJ24', 'B3', '130010', '3', at('13:00:10'), '103', '10'],
      ],
      [
        {
          key: 'WINJ24 B3 13:00',
          ohlc: ['130010', '130010', '130000', '130000'],
          volume: '6.00000000',
          turnover: '780040.0000000000000000',
          trades: 3,
          open: [at('13:00:10'), '103', '10'],
          close: [at('13:00:10'), '101', '30'],
        },
      ],
    ],
    [
      'mixed: numbered ticks first by trade number, then those without one by id',
      [
        ['PETR4', 'B3', '31', '1', at('13:00:10'), '1', null],
        ['PETR4', 'B3', '32', '1', at('13:00:10'), '2', '7'],
        ['PETR4', 'B3', '33', '1', at('13:00:10'), '3', '5'],
        ['PETR4', 'B3', '34', '1', at('13:00:10'), '4', null],
        ['PETR4', 'B3', '35', '1', at('13:00:20'), '5', null],
        ['PETR4', 'B3', '36', '1', at('13:00:20'), '6', '8'],
      ],
      [
        {
          key: 'PETR4 B3 13:00',
          ohlc: ['33', '36', '31', '35'],
          volume: '6.00000000',
          turnover: '201.0000000000000000',
          trades: 6,
          open: [at('13:00:10'), '3', '5'],
          close: [at('13:00:20'), '5', null],
        },
      ],
    ],
    [
      'only ties are reordered: an earlier tick_time opens even with a larger trade number',
      [
        ['VALE3', 'B3', '60', '1', at('13:00:02'), '1', '1'],
        ['VALE3', 'B3', '61', '1', at('13:00:01'), '2', '9'],
        ['VALE3', 'B3', '62', '1', at('13:00:03'), '3', null],
        ['VALE3', 'B3', '63', '1', at('13:00:02', 1), '4', '2'],
      ],
      [
        {
          key: 'VALE3 B3 13:00',
          ohlc: ['61', '63', '60', '62'],
          volume: '4.00000000',
          turnover: '246.0000000000000000',
          trades: 4,
          open: [at('13:00:01'), '2', '9'],
          close: [at('13:00:03'), '3', null],
        },
      ],
    ],
    [
      'trade numbers compared as signed numbers: -12 < -5 < 3 < 99 < 100',
      [
        ['X', 'B3', '1', '1', at('13:00:10'), '1', '100'],
        ['X', 'B3', '2', '1', at('13:00:10'), '2', '-5'],
        ['X', 'B3', '3', '1', at('13:00:10'), '3', '99'],
        ['X', 'B3', '4', '1', at('13:00:10'), '4', '-12'],
        ['X', 'B3', '5', '1', at('13:00:10'), '5', '3'],
      ],
      [
        {
          key: 'X B3 13:00',
          ohlc: ['4', '5', '1', '1'],
          volume: '5.00000000',
          turnover: '15.0000000000000000',
          trades: 5,
          open: [at('13:00:10'), '4', '-12'],
          close: [at('13:00:10'), '1', '100'],
        },
      ],
    ],
    [
      'equal trade numbers (two sources of one symbol) fall back to the id',
      [
        ['Y', 'B3', '2', '1', at('13:00:10'), '8', '42'],
        ['Y', 'B3', '1', '1', at('13:00:10'), '7', '42'],
      ],
      [
        {
          key: 'Y B3 13:00',
          ohlc: ['1', '2', '1', '2'],
          volume: '2.00000000',
          turnover: '3.0000000000000000',
          trades: 2,
          open: [at('13:00:10'), '7', '42'],
          close: [at('13:00:10'), '8', '42'],
        },
      ],
    ],
    [
      'high and low compare decimals, not text: 9.5 < 10.25 < 100',
      [
        ['X', 'B3', '10.25', '1', at('13:00:01'), '1'],
        ['X', 'B3', '9.5', '1', at('13:00:02'), '2'],
        ['X', 'B3', '100', '1', at('13:00:03'), '3'],
        ['X', 'B3', '10.3', '1', at('13:00:04'), '4'],
      ],
      [
        {
          key: 'X B3 13:00',
          ohlc: ['10.25', '100', '9.5', '10.3'],
          volume: '4.00000000',
          turnover: '130.0500000000000000',
          trades: 4,
          open: [at('13:00:01'), '1', null],
          close: [at('13:00:04'), '4', null],
        },
      ],
    ],
  ])('%s', (_name, rows, expected) => {
    const { ticks, ids } = columns(rows);
    expect(rowsOf(partialBars(ticks, ids))).toEqual(expected);
  });

  it('has no rows for no ticks, and refuses ids that do not match the ticks', () => {
    expect(rowsOf(partialBars(columns([]).ticks, noTickIds()))).toEqual([]);
    const { ticks } = columns([['X', 'B3', '1', '1', at('13:00:00'), '1']]);
    expect(() => partialBars(ticks, noTickIds())).toThrow(/1 ticks but 0 ids/);
  });
});

describe('the exact arithmetic underneath', () => {
  it.each(['-1', '1.123456789', '1e5', '', '.5', '1.', '1,5', '1234567890123456', '12a'])(
    'refuses %j, which no numeric(18,8) tick has',
    (text) => {
      const { ticks, ids } = columns([['X', 'B3', '1', text, at('13:00:00'), '1']]);
      expect(() => partialBars(ticks, ids)).toThrow(/not a decimal of numeric\(18,8\)/);
    },
  );

  it.each([
    [0n, 8, '0.00000000'],
    [1n, 8, '0.00000001'],
    [123_456_789n, 8, '1.23456789'],
    [-15n, 2, '-0.15'],
    [10n ** 36n + 3n, 16, '100000000000000000000.0000000000000003'],
  ])('fixedScale(%s, %s) = %s', (scaled, scale, text) => {
    expect(fixedScale(scaled, scale)).toBe(text);
  });
});

/** The partial bars the slow, obvious way: BigInt everywhere, a sort for open and close. */
function referenceBars(ticks: PlainTicks, ids: readonly string[]) {
  const scaled = (text: string) => {
    const [int = '', frac = ''] = text.split('.');
    return BigInt(int + frac.padEnd(8, '0'));
  };
  const fixed = (v: bigint, scale: number) => {
    const digits = v.toString().padStart(scale + 1, '0');
    return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  };
  const order = (i: number, j: number) => {
    const t = (ticks.timesUs[i] as number) - (ticks.timesUs[j] as number);
    if (t !== 0) return t;
    const a = ticks.tradeIds[i] ?? null;
    const b = ticks.tradeIds[j] ?? null;
    if (a === null || b === null) {
      if (a !== b) return a === null ? 1 : -1;
    } else if (BigInt(a) !== BigInt(b)) return BigInt(a) < BigInt(b) ? -1 : 1;
    return BigInt(ids[i] as string) < BigInt(ids[j] as string) ? -1 : 1;
  };
  const groups = new Map<string, number[]>();
  for (let i = 0; i < ticks.symbols.length; i++) {
    const minute = Math.floor((ticks.timesUs[i] as number) / 60e6) * 60e6;
    const key = `${ticks.symbols[i]}\u0000${ticks.exchanges[i]}\u0000${minute}`;
    const rows = groups.get(key);
    if (rows) rows.push(i);
    else groups.set(key, [i]);
  }
  return [...groups.values()].map((rows) => {
    const sorted = [...rows].sort(order);
    const open = sorted[0] as number;
    const close = sorted[sorted.length - 1] as number;
    const price = (i: number) => ticks.prices[i] as string;
    // The first row of the highest (lowest) value, as the worker keeps it.
    const high = rows.reduce((h, i) => (scaled(price(i)) > scaled(price(h)) ? i : h));
    const low = rows.reduce((l, i) => (scaled(price(i)) < scaled(price(l)) ? i : l));
    const volume = rows.reduce((s, i) => s + scaled(ticks.volumes[i] as string), 0n);
    const turnover = rows.reduce((s, i) => s + scaled(price(i)) * scaled(ticks.volumes[i] as string), 0n);
    const first = rows[0] as number;
    return {
      key: `${ticks.symbols[first]} ${ticks.exchanges[first]} ${new Date(Math.floor((ticks.timesUs[first] as number) / 60e6) * 60e3).toISOString().slice(11, 16)}`,
      ohlc: [price(open), price(high), price(low), price(close)],
      volume: fixed(volume, 8),
      turnover: fixed(turnover, 16),
      trades: rows.length,
      open: [ticks.timesUs[open], ids[open], ticks.tradeIds[open] ?? null],
      close: [ticks.timesUs[close], ids[close], ticks.tradeIds[close] ?? null],
    };
  });
}

/** Random ticks: decimals up to numeric(18,8)'s limits, ties in time, signed and missing trade numbers. */
function randomTicks(seed: number, n: number) {
  const rand = rng(seed); // mulberry32: a failing seed can be replayed
  const int = (k: number) => Math.floor(rand() * k);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)] as T;
  const digits = (k: number) => Array.from({ length: k }, () => int(10)).join('');
  const decimal = () => {
    const edge = pick([
      '9999999999.99999999',
      '0.00000001',
      '0.99999999',
      '90071992.54740991',
      '1',
      null,
      null,
      null,
    ]);
    if (edge !== null) return edge;
    const whole = String(BigInt(digits(1 + int(10))));
    const frac = digits(int(9)).replace(/0+$/, '');
    return frac ? `${whole}.${frac}` : whole === '0' ? '0.5' : whole;
  };
  const bigintText = () =>
    pick([
      () => String(int(100)),
      () => String(-int(100)),
      () => '9223372036854775807',
      () => '-9223372036854775808',
      () => String(BigInt(digits(1 + int(19))) * (rand() < 0.3 ? -1n : 1n)),
    ])();
  const symbols = Array.from({ length: 1 + int(60) }, (_, k) => `S${k}`);
  const t0 = Date.parse('2024-03-04T13:00:00Z') * 1000;
  const times = Array.from(
    { length: 1 + int(20) },
    () => t0 + int(4) * 60e6 + pick([0, 1, 59_999_999, int(60e6)]),
  );
  const rows: Tick[] = [];
  const used = new Set<string>();
  for (let k = 0; k < n; k++) {
    let id = String(BigInt(digits(1 + int(19))) % 9223372036854775807n);
    while (used.has(id)) id = String(int(1e9));
    used.add(id);
    rows.push([
      pick(symbols),
      rand() < 0.9 ? 'B3' : 'BVMF',
      decimal(),
      decimal(),
      pick(times),
      id,
      rand() < 0.3 ? null : rand() < 0.3 ? pick(['5', '-5', '42']) : bigintText(),
    ]);
  }
  return columns(rows);
}

describe('partialBars against a BigInt reference', () => {
  it.each(Array.from({ length: 300 }, (_, seed) => seed))('random flush, seed %i', (seed) => {
    const { ticks, ids, plain, idTexts } = randomTicks(seed, 1 + (seed % 7 === 0 ? 2000 : seed % 97));
    expect(rowsOf(partialBars(ticks, ids))).toEqual(referenceBars(plain, idTexts));
  });

  it.each<[string, [price: string, volume: string][]]>([
    ['a fraction product just below 2^53', [['0.94906265', '0.94906266']]],
    ['a fraction product just above 2^53', [['0.94906266', '0.94906266']]],
    [
      'whole products reaching 2^53 over two rows',
      [
        ['90000000', '100000000'],
        ['7199254', '1000'],
      ],
    ],
    [
      'a whole product beyond 2^53 between exact rows',
      [
        ['1', '1'],
        ['9999999999', '9999999999'],
        ['2.5', '3'],
      ],
    ],
    [
      'a price of 2^53 − 1 units of 10^-8',
      [
        ['90071992.54740991', '1'],
        ['0.00000001', '1'],
        ['1', '0.5'],
      ],
    ],
    // 441650591 · 20394401 = 2^53 − 1: the sums fit, the carry into the text does not.
    [
      'a turnover whose last carry passes 2^53',
      [
        ['441650591', '20394401'],
        ['2', '0.5'],
      ],
    ],
    [
      'a volume whose last carry passes 2^53',
      [
        ...Array<[string, string]>(9).fill(['0.00000001', '999999999999999']),
        ['0.00000001', '7199254741000'],
        ['0.00000001', '0.5'],
        ['0.00000001', '0.5'],
      ],
    ],
  ])('stays exact at the limits of plain numbers: %s', (_name, values) => {
    const { ticks, ids, plain, idTexts } = columns(
      values.map(([p, v], k) => ['X', 'B3', p, v, at('13:00:00', k), String(k + 1)]),
    );
    expect(rowsOf(partialBars(ticks, ids))).toEqual(referenceBars(plain, idTexts));
  });

  it('sums thousands of the largest values exactly, in one bar', () => {
    const rows: Tick[] = Array.from({ length: 5000 }, (_, k) => [
      'BIG3',
      'B3',
      k % 2 ? '9999999999.99999999' : '0.99999999',
      k % 3 ? '9999999999.99999999' : '0.99999999',
      at('13:00:01', k % 5),
      String(1000 + k),
      k % 4 ? null : String(-k),
    ]);
    const { ticks, ids, plain, idTexts } = columns(rows);
    expect(rowsOf(partialBars(ticks, ids))).toEqual(referenceBars(plain, idTexts));
  });
});
