import { describe, expect, it } from 'vitest';
import {
  BOOK_COLUMNS,
  bookLine,
  CALLBACK_COLUMNS,
  callbackLine,
  escapeCopyText,
  levelsJson,
  TICK_COLUMNS,
  tickLine,
} from '../../src/transform/copy-format.js';
import type { BookRow, CallbackRow, TickRow } from '../../src/transform/index.js';

describe('escapeCopyText', () => {
  it.each([
    ['PETR4', 'PETR4'],
    ['', ''],
    ['a\tb', 'a\\tb'],
    ['a\nb', 'a\\nb'],
    ['a\r\nb', 'a\\r\\nb'],
    ['back\\slash', 'back\\\\slash'],
    ['\\N', '\\\\N'],
    ['\\.', '\\\\.'],
    ['\b\f\v', '\\b\\f\\v'],
    ['quotes "\' and , ; |', 'quotes "\' and , ; |'],
    ['ação 😀 \u2028', 'ação 😀 \u2028'],
  ])('%j → %j', (input, escaped) => {
    expect(escapeCopyText(input)).toBe(escaped);
  });

  it('returns the very string when nothing needs escaping', () => {
    const s = `PETR${'4'.repeat(3)}`;
    expect(escapeCopyText(s)).toBe(s);
  });
});

const tick: TickRow = {
  symbol: 'PE\tTR4',
  exchange: 'B3',
  price: '30.12',
  volume: '100',
  aggressor: 'BUY',
  tickTime: '2026-11-24 13:00:00.123456+00',
  tickTimeUs: 1_795_957_200_123_456,
  source: 'back\\slash',
  tradeId: '1',
};

describe('line formatters', () => {
  it('tick: columns in TICK_COLUMNS order, escaped, newline-terminated', () => {
    expect(TICK_COLUMNS).toEqual([
      'symbol',
      'exchange',
      'price',
      'volume',
      'aggressor',
      'tick_time',
      'source',
      'trade_id',
    ]);
    expect(tickLine(tick)).toBe(
      'PE\\tTR4\tB3\t30.12\t100\tBUY\t2026-11-24 13:00:00.123456+00\tback\\\\slash\t1\n',
    );
  });

  it('book: sides as jsonb text with exact decimal numbers', () => {
    const book: BookRow = {
      symbol: 'WINZ26',
      exchange: 'B3',
      bids: [
        { price: '1234567890.12345678', volume: '100' },
        { price: '0.00000001', volume: '0.5' },
      ],
      asks: [{ price: '1234567890.12345679', volume: '1' }],
      bestBid: '1234567890.12345678',
      bestAsk: '1234567890.12345679',
      spread: '0.00000001',
      totalBidVolume: '100.5',
      totalAskVolume: '1',
      snapshotTime: '2026-11-24 13:00:00.000001+00',
      snapshotTimeUs: 0,
    };
    expect(BOOK_COLUMNS).toHaveLength(10);
    expect(levelsJson(book.bids)).toBe(
      '[{"price":1234567890.12345678,"volume":100},{"price":0.00000001,"volume":0.5}]',
    );
    expect(bookLine(book).split('\t')).toEqual([
      'WINZ26',
      'B3',
      levelsJson(book.bids),
      '[{"price":1234567890.12345679,"volume":1}]',
      '1234567890.12345678',
      '1234567890.12345679',
      '0.00000001',
      '100.5',
      '1',
      '2026-11-24 13:00:00.000001+00\n',
    ]);
  });

  it.each([
    [null, '\\N'],
    ['why\tit\nfailed \\', 'why\\tit\\nfailed \\\\'],
  ])('callback: error message %j → %j', (errorMessage, field) => {
    const row: CallbackRow = {
      callbackType: 'TRADE',
      payload: '{"s":"a\\"b\\\\c"}',
      callbackTime: '2026-11-24 13:00:00.250000+00',
      callbackTimeUs: 0,
      status: errorMessage === null ? 'PROCESSED' : 'FAILED',
      errorMessage,
    };
    expect(CALLBACK_COLUMNS).toEqual([
      'callback_type',
      'payload',
      'callback_time',
      'status',
      'error_message',
    ]);
    expect(callbackLine(row)).toBe(
      `TRADE\t{"s":"a\\\\"b\\\\\\\\c"}\t2026-11-24 13:00:00.250000+00\t${row.status}\t${field}\n`,
    );
  });
});
