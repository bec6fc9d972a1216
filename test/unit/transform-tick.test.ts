import { describe, expect, it } from 'vitest';
import { type DecodeContext, type Decoded, decodeTick, type TickRow } from '../../src/transform/index.js';

const NOW_US = Date.parse('2026-11-24T14:00:00Z') * 1000;
const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: NOW_US,
  futureWindowUs: 300_000_000,
  pastWindowUs: 31 * 86_400_000_000,
};

const base = {
  symbol: 'PETR4',
  exchange: 'B3',
  price: '30.12',
  volume: 100,
  aggressor: 'BUY',
  tickTime: '2026-11-24T10:00:00.123456-03:00',
  tradeId: 123456,
};
const json = (fields: Record<string, unknown>) => JSON.stringify({ ...base, ...fields });
const without = (field: string) => JSON.stringify({ ...base, [field]: undefined });
const decode = (text: string | Buffer | null) =>
  decodeTick(typeof text === 'string' ? Buffer.from(text) : text, ctx);

function tick(d: Decoded): TickRow {
  if (!d.ok) throw new Error(`expected ok, got ${JSON.stringify(d.error)}`);
  expect(d.books).toEqual([]);
  expect(d.callbacks).toEqual([]);
  expect(d.ticks).toHaveLength(1);
  return d.ticks[0] as TickRow;
}

describe('decodeTick: valid', () => {
  it('decodes the realistic message', () => {
    expect(tick(decode(json({})))).toEqual({
      symbol: 'PETR4',
      exchange: 'B3',
      price: '30.12',
      volume: '100',
      aggressor: 'BUY',
      tickTime: '2026-11-24 13:00:00.123456+00',
      tickTimeUs: Date.parse('2026-11-24T13:00:00Z') * 1000 + 123456,
      source: 'ProfitDLL',
      tradeId: '123456',
    });
  });

  it.each([
    ['decimal string', { price: '30.12' }, 'price', '30.12'],
    ['JSON number', { price: 30.12 }, 'price', '30.12'],
    ['number with trailing zeros', { price: '30.120' }, 'price', '30.12'],
    ['exponent number', { price: 1e-7 }, 'price', '0.0000001'],
    ['raw exponent literal', '{"price":1E-7}', 'price', '0.0000001'],
    ['exponent string', { price: '3.012e1' }, 'price', '30.12'],
    [
      '18 significant digits as a number, exact',
      '{"price":1234567890.12345678}',
      'price',
      '1234567890.12345678',
    ],
    ['18 significant digits as a string', { price: '9999999999.99999999' }, 'price', '9999999999.99999999'],
    [
      '17 digits that a double would round',
      '{"volume":12345678.123456789e1}',
      'volume',
      '123456781.23456789',
    ],
    ['fractional volume', { volume: '0.5' }, 'volume', '0.5'],
    ['lower-case aggressor is normalised', { aggressor: 'sell' }, 'aggressor', 'SELL'],
    ['mixed-case aggressor', { aggressor: 'Neutral' }, 'aggressor', 'NEUTRAL'],
    ['exchange defaults to B3', { exchange: undefined }, 'exchange', 'B3'],
    ['exchange null means default', { exchange: null }, 'exchange', 'B3'],
    ['source given', { source: 'replay' }, 'source', 'replay'],
    ['tradeId as a string of digits', { tradeId: '0042' }, 'tradeId', '42'],
    ['tradeId beyond 2^53, exact', '{"tradeId":9007199254740993}', 'tradeId', '9007199254740993'],
    ['tradeId the largest bigint', '{"tradeId":9223372036854775807}', 'tradeId', '9223372036854775807'],
    ['tradeId absent', { tradeId: undefined }, 'tradeId', null],
    ['symbol of 50 characters', { symbol: 'S'.repeat(50) }, 'symbol', 'S'.repeat(50)],
    ['symbol of 50 code points, 100 UTF-16 units', { symbol: '😀'.repeat(50) }, 'symbol', '😀'.repeat(50)],
    ['unknown fields ignored', { spread: 'whatever', nested: { a: [1, 2] } }, 'symbol', 'PETR4'],
    [
      'ProfitDLL local time',
      { tickTime: '24/11/2026 10:00:00.123' },
      'tickTime',
      '2026-11-24 13:00:00.123000+00',
    ],
    [
      'ISO 9 digits truncated',
      { tickTime: '2026-11-24T13:00:00.999999999Z' },
      'tickTime',
      '2026-11-24 13:00:00.999999+00',
    ],
    [
      'just inside the future window',
      { tickTime: '2026-11-24T14:05:00Z' },
      'tickTime',
      '2026-11-24 14:05:00.000000+00',
    ],
  ])('%s', (_name, input, field, expected) => {
    // Raw literals are appended to the message text so they reach the decoder unparsed (a repeated key wins).
    const message = typeof input === 'string' ? json({}).replace(/}$/, `,${input.slice(1)}`) : json(input);
    expect(tick(decode(message))[field as keyof TickRow]).toBe(expected);
  });
});

describe('decodeTick: invalid', () => {
  it.each([
    ['null value (tombstone)', null, 'empty_value', undefined],
    ['empty value', Buffer.alloc(0), 'empty_value', undefined],
    ['not JSON', 'PETR4;30.12;100', 'not_json', undefined],
    ['truncated JSON', '{"symbol":"PETR4"', 'not_json', undefined],
    [
      'nested too deep for the lossless parser',
      `{"a":${'['.repeat(200_000)}1234567890123456789`,
      'not_json',
      undefined,
    ],
    [
      'nested too deep, with a surrogate escape to check',
      json({}).replace(/}$/, `,"a":${'['.repeat(20_000)}"\\ud83d\\ude00"${']'.repeat(20_000)}}`),
      'not_json',
      undefined,
    ],
    ['JSON array', '[1,2,3]', 'not_object', undefined],
    ['JSON string', '"PETR4"', 'not_object', undefined],
    ['JSON null', 'null', 'not_object', undefined],
    ['huge bare number', '12345678901234567890', 'not_object', undefined],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'bad_unicode', undefined],
    [
      'lone surrogate escape',
      json({ symbol: 'PETR4' }).replace('PETR4', 'PE\\ud800TR4'),
      'bad_unicode',
      undefined,
    ],
    ['raw NUL byte', Buffer.from(json({ symbol: 'PE\u0000TR4' })), 'nul_byte', undefined],
    ['escaped NUL', json({ symbol: 'PE\u0000TR4' }), 'nul_byte', undefined],
    ['escaped NUL in an unknown field', json({ note: 'a\u0000b' }), 'nul_byte', undefined],
    ['missing symbol', without('symbol'), 'missing_field', 'symbol'],
    ['symbol null', json({ symbol: null }), 'missing_field', 'symbol'],
    ['symbol as number', json({ symbol: 4 }), 'invalid_field', 'symbol'],
    ['empty symbol', json({ symbol: '' }), 'invalid_field', 'symbol'],
    ['over-long symbol', json({ symbol: 'S'.repeat(51) }), 'invalid_field', 'symbol'],
    ['over-long exchange', json({ exchange: 'X'.repeat(21) }), 'invalid_field', 'exchange'],
    ['over-long source', json({ source: 'X'.repeat(51) }), 'invalid_field', 'source'],
    ['missing price', without('price'), 'missing_field', 'price'],
    ['negative price', json({ price: -30.12 }), 'invalid_field', 'price'],
    ['negative price string', json({ price: '-1' }), 'invalid_field', 'price'],
    ['zero price', json({ price: 0 }), 'invalid_field', 'price'],
    ['zero price string', json({ price: '0.00' }), 'invalid_field', 'price'],
    ['zero volume', json({ volume: 0 }), 'invalid_field', 'volume'],
    ['NaN string', json({ price: 'NaN' }), 'invalid_field', 'price'],
    ['NaN literal', '{"symbol":"PETR4","price":NaN}', 'not_json', undefined],
    ['Infinity string', json({ price: 'Infinity' }), 'invalid_field', 'price'],
    [
      'overflowing literal (Infinity as a double)',
      json({}).replace('"30.12"', '1e400'),
      'invalid_field',
      'price',
    ],
    ['abc', json({ price: 'abc' }), 'invalid_field', 'price'],
    ['price as boolean', json({ price: true }), 'invalid_field', 'price'],
    ['price as object', json({ price: { value: 1 } }), 'invalid_field', 'price'],
    ['huge price', json({ price: '12345678901' }), 'invalid_field', 'price'],
    ['huge price number', json({}).replace('"30.12"', '123456789012345678'), 'invalid_field', 'price'],
    ['9 decimals', json({ price: '30.123456789' }), 'invalid_field', 'price'],
    ['9 decimals as a number', json({}).replace('"30.12"', '30.123456789'), 'invalid_field', 'price'],
    ['bad aggressor', json({ aggressor: 'BUYER' }), 'invalid_field', 'aggressor'],
    ['aggressor as number', json({ aggressor: 1 }), 'invalid_field', 'aggressor'],
    ['missing aggressor', without('aggressor'), 'missing_field', 'aggressor'],
    ['missing tickTime', without('tickTime'), 'missing_field', 'tickTime'],
    ['bad timestamp', json({ tickTime: '2026-11-24 1pm' }), 'invalid_field', 'tickTime'],
    ['timestamp without offset', json({ tickTime: '2026-11-24T13:00:00' }), 'invalid_field', 'tickTime'],
    ['epoch number as timestamp', json({ tickTime: 1764000000000 }), 'invalid_field', 'tickTime'],
    ['future timestamp', json({ tickTime: '2026-11-24T14:05:00.000001Z' }), 'invalid_field', 'tickTime'],
    ['past the past window', json({ tickTime: '2026-10-24T13:59:59Z' }), 'invalid_field', 'tickTime'],
    ["ProfitDLL's zero date", json({ tickTime: '30/12/1899 00:00:00.000' }), 'invalid_field', 'tickTime'],
    ['31/02', json({ tickTime: '31/02/2026 10:00:00.000' }), 'invalid_field', 'tickTime'],
    ['tradeId fractional', json({ tradeId: 1.5 }), 'invalid_field', 'tradeId'],
    [
      'tradeId beyond bigint',
      json({}).replace('"tradeId":123456', '"tradeId":9223372036854775808'),
      'invalid_field',
      'tradeId',
    ],
    ['tradeId not a number', json({ tradeId: 'T-1' }), 'invalid_field', 'tradeId'],
    ['tradeId in exponent form', json({ tradeId: 1e21 }), 'invalid_field', 'tradeId'],
    ['tradeId as object', json({ tradeId: {} }), 'invalid_field', 'tradeId'],
  ])('%s → %s', (_name, input, code, field) => {
    const d = decode(input as string | Buffer | null);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.error.code).toBe(code);
    expect(d.error.field).toBe(field);
    expect(d.error.message.length).toBeGreaterThan(5);
    if (field) expect(d.error.message).toContain(field);
  });

  it('names the field and the reason', () => {
    const d = decode(json({ price: '30.123456789' }));
    expect(d).toEqual({
      ok: false,
      error: {
        code: 'invalid_field',
        field: 'price',
        message: 'price has more than 8 fractional digits (not rounded): "30.123456789"',
      },
    });
  });

  it('sees a long number wherever it sits in the message', () => {
    for (let pad = 1; pad <= 40; pad++) {
      const message = `{"symbol":"${'S'.repeat(pad)}","price":1234567890.12345678,"volume":1,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}`;
      expect(tick(decode(message)).price).toBe('1234567890.12345678');
      // A double would read 30.120000000000001 as 30.12: it must be refused, not rounded.
      const d = decode(message.replace('1234567890.12345678', '30.120000000000001'));
      expect(d.ok === false && d.error.field).toBe('price');
      // After other digit runs, one of them a long run of dots and digits that is no number.
      const last = `{"symbol":"PETR4","volume":1.5,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00.123456Z","x":"${'1.'.repeat(pad)}","price":1234567890.12345678}`;
      expect(tick(decode(last)).price).toBe('1234567890.12345678');
    }
  });

  it('an escaped backslash before "u0000" is text, not NUL', () => {
    expect(tick(decode(json({ source: '\\u0000' }))).source).toBe('\\u0000');
  });
});

describe('the time windows are judged against the Kafka timestamp, never the clock', () => {
  const at = (recordTimeUs: number, tickTime: string) =>
    decodeTick(Buffer.from(json({ tickTime })), { ...ctx, recordTimeUs });
  it.each([
    ['a tick a year old in a message of its time', NOW_US - 365 * 86_400e6, '2025-11-24T13:00:00Z', true],
    ['the same tick in a message sent now', NOW_US, '2025-11-24T13:00:00Z', false],
    ['a tick 4 minutes after its message', NOW_US, '2026-11-24T14:04:00Z', true],
    ['a tick 6 minutes after its message', NOW_US, '2026-11-24T14:06:00Z', false],
    ['no Kafka timestamp: no windows', 0, '2020-01-01T00:00:00Z', true],
    ["no Kafka timestamp: ProfitDLL's zero date still refused", 0, '30/12/1899 00:00:00.000', false],
  ])('%s → ok %s', (_name, recordTimeUs, tickTime, ok) => {
    expect(at(recordTimeUs, tickTime).ok).toBe(ok);
  });
});
