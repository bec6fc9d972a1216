import { describe, expect, it } from 'vitest';
import { type BookRow, type DecodeContext, decodeBook } from '../../src/transform/index.js';

const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: Date.parse('2026-11-24T14:00:00Z') * 1000,
  pastWindowUs: 31 * 86_400_000_000,
  futureWindowUs: 300_000_000,
};
const base = {
  symbol: 'PETR4',
  snapshotTime: '2026-11-24T13:00:00.000001Z',
  bids: [
    { price: '30.12', volume: 100 },
    { price: 30.11, volume: '200.5' },
  ],
  asks: [
    { price: '30.13', volume: 300 },
    { price: '30.15', volume: 400 },
  ],
};
const decode = (fields: Record<string, unknown>) =>
  decodeBook(Buffer.from(JSON.stringify({ ...base, ...fields })), ctx);
const levels = (...prices: (string | number)[]) => prices.map((price) => ({ price, volume: 1 }));

function book(fields: Record<string, unknown>): BookRow {
  const d = decode(fields);
  if (!d.ok) throw new Error(`expected ok, got ${JSON.stringify(d.error)}`);
  expect(d.ticks).toEqual([]);
  expect(d.books).toHaveLength(1);
  return d.books[0] as BookRow;
}

describe('decodeBook: valid', () => {
  it('computes best prices, spread and totals itself', () => {
    expect(book({ bestBid: 1, spread: 99, totalBidVolume: 5 })).toEqual({
      symbol: 'PETR4',
      exchange: 'B3',
      bids: [
        { price: '30.12', volume: '100' },
        { price: '30.11', volume: '200.5' },
      ],
      asks: [
        { price: '30.13', volume: '300' },
        { price: '30.15', volume: '400' },
      ],
      bestBid: '30.12',
      bestAsk: '30.13',
      spread: '0.01',
      totalBidVolume: '300.5',
      totalAskVolume: '700',
      snapshotTime: '2026-11-24 13:00:00.000001+00',
      snapshotTimeUs: Date.parse('2026-11-24T13:00:00Z') * 1000 + 1,
    });
  });

  it('sums and subtracts exactly at 18 significant digits', () => {
    const b = book({
      bids: [
        { price: '1234567890.12345678', volume: '0.00000001' },
        { price: '1', volume: '0.1' },
        { price: '0.5', volume: '0.2' },
      ],
      asks: [{ price: '1234567890.12345679', volume: '9999999999.99999999' }],
    });
    expect(b.spread).toBe('0.00000001');
    expect(b.totalBidVolume).toBe('0.30000001');
    expect(b.totalAskVolume).toBe('9999999999.99999999');
  });

  it('keeps a locked book (best bid = best ask) with spread 0', () => {
    expect(book({ bids: levels('30.12'), asks: levels('30.12') }).spread).toBe('0');
  });

  it('takes ProfitDLL local time', () => {
    expect(book({ snapshotTime: '24/11/2026 10:00:00.123' }).snapshotTime).toBe(
      '2026-11-24 13:00:00.123000+00',
    );
  });
});

describe('decodeBook: invalid', () => {
  it.each([
    ['crossed book', { bids: levels('30.14'), asks: levels('30.13') }, 'invalid_book', 'bids[0].price'],
    ['empty bids', { bids: [] }, 'invalid_book', 'bids'],
    ['empty asks', { asks: [] }, 'invalid_book', 'asks'],
    ['missing asks', { asks: undefined }, 'missing_field', 'asks'],
    ['bids not an array', { bids: { price: 1, volume: 1 } }, 'invalid_field', 'bids'],
    ['bids ascending', { bids: levels('30.11', '30.12') }, 'invalid_book', 'bids[1].price'],
    ['asks descending', { asks: levels('30.15', '30.13') }, 'invalid_book', 'asks[1].price'],
    ['two bid levels at one price', { bids: levels('30.12', '30.12') }, 'invalid_book', 'bids[1].price'],
    ['level not an object', { bids: [[30.12, 100]] }, 'invalid_field', 'bids[0]'],
    ['level price zero', { asks: [{ price: 0, volume: 1 }] }, 'invalid_field', 'asks[0].price'],
    ['level volume negative', { asks: [{ price: 31, volume: -1 }] }, 'invalid_field', 'asks[0].volume'],
    ['level volume missing', { asks: [{ price: 31 }] }, 'missing_field', 'asks[0].volume'],
    ['missing snapshotTime', { snapshotTime: undefined }, 'missing_field', 'snapshotTime'],
    ['future snapshotTime', { snapshotTime: '2026-11-24T15:00:00Z' }, 'invalid_field', 'snapshotTime'],
    ['missing symbol', { symbol: undefined }, 'missing_field', 'symbol'],
  ])('%s', (_name, fields, code, field) => {
    const d = decode(fields);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.error.code).toBe(code);
    expect(d.error.field).toBe(field);
  });

  it('says why a side is out of order', () => {
    const d = decode({ bids: levels('30.11', '30.12') });
    expect(d.ok === false && d.error.message).toBe(
      'bids must be strictly descending (best, highest, first): 30.12 follows 30.11',
    );
  });
});
