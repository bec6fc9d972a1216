import { afterAll, describe, expect, it } from 'vitest';
import type { CopyRows } from '../../src/copy-rows.js';
import { packBytes, unpackBytes } from '../../src/packed.js';
import { TABLES } from '../../src/records.js';
import type { BatchContext } from '../../src/transform/decode-batch.js';
import { type DecodedBatch, decodeBatch, type TopicKind } from '../../src/transform/decode-batch.js';
import { DecodeThread } from '../../src/transform/decode-thread.js';
import { linesOf } from '../support/copy-rows.js';
import { plainTicks } from '../support/tick-columns.js';

const NOW_US = Date.parse('2026-11-24T14:00:00Z') * 1000;
const ctx: BatchContext = {
  timeZone: 'America/Sao_Paulo',
  futureWindowUs: 300_000_000,
  pastWindowUs: 31 * 86_400_000_000,
};
/** Every message's Kafka timestamp: NOW. */
const at = (values: readonly unknown[]) => Float64Array.from(values, () => NOW_US / 1000);
const pack = (values: readonly (Buffer | null)[]) => packBytes(values.length, (i) => values[i] ?? null);

const tick = (symbol: string, tickTime = '2026-11-24T10:00:00.123456-03:00') =>
  Buffer.from(
    JSON.stringify({ symbol, price: '30.12', volume: 100, aggressor: 'BUY', tickTime, tradeId: 1 }),
  );
const book = Buffer.from(
  JSON.stringify({
    symbol: 'PETR4',
    bids: [{ price: '30.10', volume: 100 }],
    asks: [{ price: '30.12', volume: 200 }],
    snapshotTime: '2026-11-24T10:00:00-03:00',
  }),
);
const callback = (type: string, payload: unknown) =>
  Buffer.from(JSON.stringify({ type, callbackTime: '2026-11-24T10:00:00-03:00', payload }));

/** What a decoded batch says, row by row (table by table), in a form a table can state. */
function rows(d: DecodedBatch) {
  return TABLES.flatMap((table, t) => {
    const r = d.rows[t] as CopyRows;
    return linesOf(r, table === 'market_ticks').map((line, i) => ({ table, message: r.messages[i], line }));
  });
}

describe('decodeBatch', () => {
  const cases: [
    string,
    TopicKind,
    (Buffer | null)[],
    { tables: string[]; messages: number[]; invalid: [number, string][] },
  ][] = [
    ['no messages', 'ticks', [], { tables: [], messages: [], invalid: [] }],
    [
      'two ticks',
      'ticks',
      [tick('PETR4'), tick('VALE3')],
      { tables: ['market_ticks', 'market_ticks'], messages: [0, 1], invalid: [] },
    ],
    [
      'invalid messages keep their index, valid ones around them still decode',
      'ticks',
      [null, tick('PETR4'), Buffer.from('not json'), tick('')],
      {
        tables: ['market_ticks'],
        messages: [1],
        invalid: [
          [0, 'empty_value'],
          [2, 'not_json'],
          [3, 'invalid_field'],
        ],
      },
    ],
    ['a book snapshot', 'book', [book], { tables: ['order_book_snapshots'], messages: [0], invalid: [] }],
    [
      'a TRADE callback lands a callback row and a tick',
      'callbacks',
      [callback('TRADE', { symbol: 'PETR4', price: '30.12', volume: 100, aggressor: 'SELL' })],
      { tables: ['market_ticks', 'profitdll_callbacks'], messages: [0, 0], invalid: [] },
    ],
  ];

  it.each(cases)('%s', (_name, kind, values, want) => {
    const d = decodeBatch(kind, values, at(values), ctx);
    expect(rows(d).map((r) => r.table)).toEqual(want.tables);
    expect(rows(d).map((r) => r.message)).toEqual(want.messages);
    expect(d.invalid.map((b) => [b.message, b.code])).toEqual(want.invalid);
    for (const b of d.invalid) expect(b.text.length).toBeGreaterThan(0);
    for (const { line } of rows(d)) expect(line.endsWith('\n')).toBe(true);
  });

  it('reports each tick for the bars and each callback status, in row order', () => {
    const d = decodeBatch(
      'ticks',
      [tick('PETR4'), tick('VALE3', '2026-11-24T10:01:00Z')],
      [NOW_US / 1000, NOW_US / 1000],
      ctx,
    );
    expect(plainTicks(d.ticks)).toEqual({
      symbols: ['PETR4', 'VALE3'],
      exchanges: ['B3', 'B3'],
      prices: ['30.12', '30.12'],
      volumes: ['100', '100'],
      timesUs: [
        Date.parse('2026-11-24T13:00:00Z') * 1000 + 123456,
        Date.parse('2026-11-24T10:01:00Z') * 1000,
      ],
      tradeIds: ['1', '1'],
    });
    const trade = { symbol: 'PETR4', price: '30.12', volume: 100, aggressor: 'SELL' };
    const c = decodeBatch(
      'callbacks',
      [callback('STATE', { state: 1 }), callback('TRADE', trade)],
      [NOW_US / 1000, NOW_US / 1000],
      ctx,
    );
    expect(c.callbackStatuses).toEqual(['SKIPPED', 'PROCESSED']);
    expect(plainTicks(c.ticks)).toMatchObject({ symbols: ['PETR4'], tradeIds: [null] });
  });
});

describe('DecodeThread', () => {
  const thread = new DecodeThread();
  afterAll(() => thread.stop());

  it('answers exactly what decodeBatch answers on this thread, null and empty values included', async () => {
    await thread.start();
    const values = [
      tick('PETR4'),
      null,
      Buffer.alloc(0),
      Buffer.from('{"symbol":'),
      tick('WINZ26'),
      tick('VALE3'),
    ];
    expect(await thread.decode('ticks', pack(values), at(values), ctx)).toEqual(
      decodeBatch('ticks', values, at(values), ctx),
    );
  });

  it('keeps the answers of concurrent batches apart', async () => {
    const a = [tick('PETR4'), tick('VALE3')];
    const b = [book];
    const [da, db] = await Promise.all([
      thread.decode('ticks', pack(a), at(a), ctx),
      thread.decode('book', pack(b), at(b), ctx),
    ]);
    expect(da).toEqual(decodeBatch('ticks', a, at(a), ctx));
    expect(db).toEqual(decodeBatch('book', b, at(b), ctx));
  });

  it('hands the values back (moved to the thread and back, not copied): the same bytes, in the same object', async () => {
    const values = [tick('PETR4'), null, Buffer.alloc(0), tick('VALE3')];
    const packed = pack(values);
    const decoding = thread.decode('ticks', packed, at(values), ctx);
    expect(packed.data.byteLength).toBe(0); // away while it is decoded
    await decoding;
    expect(unpackBytes(packed)).toEqual(values);
  });

  it('fails the batches it holds when stopped, and starts a new thread for the next batch', async () => {
    const pending = thread.decode('ticks', pack([tick('PETR4')]), at([0]), ctx);
    const failed = expect(pending).rejects.toThrow('decode thread stopped');
    await thread.stop();
    await failed;
    const values = [tick('VALE3')];
    expect(await thread.decode('ticks', pack(values), at(values), ctx)).toEqual(
      decodeBatch('ticks', values, at(values), ctx),
    );
  });
});
