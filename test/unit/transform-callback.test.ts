import { describe, expect, it } from 'vitest';
import {
  type CallbackRow,
  type DecodeContext,
  type Decoded,
  decodeCallback,
} from '../../src/transform/index.js';

const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: Date.parse('2026-11-24T14:00:00Z') * 1000,
  pastWindowUs: 31 * 86_400_000_000,
  futureWindowUs: 300_000_000,
};
const CALLBACK_TIME = '24/11/2026 10:00:00.250';
const CALLBACK_UTC = '2026-11-24 13:00:00.250000+00';
const trade = { symbol: 'PETR4', price: '30.12', volume: 100, aggressor: 'BUY' };
const depth = {
  symbol: 'PETR4',
  bids: [{ price: 30.12, volume: 100 }],
  asks: [{ price: 30.13, volume: 200 }],
};

const envelope = (type: unknown, payload: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type, callbackTime: CALLBACK_TIME, payload, ...extra });
const decode = (text: string) => decodeCallback(Buffer.from(text), ctx);

function ok(d: Decoded): { callback: CallbackRow; ticks: number; books: number } {
  if (!d.ok) throw new Error(`expected ok, got ${JSON.stringify(d.error)}`);
  expect(d.callbacks).toHaveLength(1);
  return { callback: d.callbacks[0] as CallbackRow, ticks: d.ticks.length, books: d.books.length };
}

describe('decodeCallback: routing and statuses', () => {
  it.each([
    ['TRADE with a valid trade', envelope('TRADE', trade), 'PROCESSED', null, 1, 0],
    ['lower-case type', envelope('trade', trade), 'PROCESSED', null, 1, 0],
    ['full PRICE_DEPTH', envelope('PRICE_DEPTH', depth), 'PROCESSED', null, 0, 1],
    [
      'TRADE with a bad price',
      envelope('TRADE', { ...trade, price: -1 }),
      'FAILED',
      'TRADE payload invalid: price is negative: "-1"',
      0,
      0,
    ],
    [
      'TRADE without symbol',
      envelope('TRADE', { ...trade, symbol: undefined }),
      'FAILED',
      'TRADE payload invalid: symbol is missing',
      0,
      0,
    ],
    [
      'crossed PRICE_DEPTH',
      envelope('PRICE_DEPTH', { ...depth, asks: [{ price: 30, volume: 1 }] }),
      'FAILED',
      'PRICE_DEPTH payload invalid: crossed book: best bid 30.12 > best ask 30',
      0,
      0,
    ],
    [
      'PRICE_DEPTH with an empty side',
      envelope('PRICE_DEPTH', { ...depth, bids: [] }),
      'FAILED',
      'PRICE_DEPTH payload invalid: bids is empty (a snapshot needs both sides)',
      0,
      0,
    ],
    [
      'incremental PRICE_DEPTH',
      envelope('PRICE_DEPTH', { symbol: 'PETR4', side: 'bid', position: 3, price: 30.1, volume: 5 }),
      'SKIPPED',
      'incremental PRICE_DEPTH update (payload lacks bids or asks): stored only, not a full snapshot',
      0,
      0,
    ],
    [
      'STATE',
      envelope('STATE', { conn: 2, result: 4 }),
      'SKIPPED',
      'STATE callback: stored only, nothing consumes it yet',
      0,
      0,
    ],
    [
      'ORDER',
      envelope('ORDER', { id: 'x' }),
      'SKIPPED',
      'ORDER callback: stored only, nothing consumes it yet',
      0,
      0,
    ],
    [
      'OFFER_BOOK',
      envelope('OFFER_BOOK', {}),
      'SKIPPED',
      'OFFER_BOOK callback: stored only, nothing consumes it yet',
      0,
      0,
    ],
  ])('%s → %s', (_name, text, status, errorMessage, ticks, books) => {
    const r = ok(decode(text));
    expect(r.callback.status).toBe(status);
    expect(r.callback.errorMessage).toBe(errorMessage);
    expect(r.callback.callbackTime).toBe(CALLBACK_UTC);
    expect(r.callback.callbackTimeUs).toBe(Date.parse('2026-11-24T13:00:00.250Z') * 1000);
    expect([r.ticks, r.books]).toEqual([ticks, books]);
  });

  it('a TRADE without tickTime takes callbackTime; with one, its own', () => {
    const a = decode(envelope('TRADE', trade));
    expect(a.ok && a.ticks[0]?.tickTime).toBe(CALLBACK_UTC);
    const b = decode(envelope('TRADE', { ...trade, tickTime: '2026-11-24T12:59:59.999999Z' }));
    expect(b.ok && b.ticks[0]?.tickTime).toBe('2026-11-24 12:59:59.999999+00');
  });

  it('a full PRICE_DEPTH without snapshotTime takes callbackTime', () => {
    const d = decode(envelope('PRICE_DEPTH', depth));
    expect(d.ok && d.books[0]?.snapshotTime).toBe(CALLBACK_UTC);
  });

  it('keeps the payload as JSON, values as received', () => {
    const payload = { symbol: 'PE"TR\\4\t', price: 30.12, n: [1, 2.5, 1e-7], ok: true, none: null };
    expect(ok(decode(envelope('STATE', payload))).callback.payload).toBe(JSON.stringify(payload));
  });

  it('keeps 18-significant-digit numbers in the payload exactly', () => {
    const text = `{"type":"TRADE","callbackTime":"${CALLBACK_TIME}","payload":{"symbol":"PETR4","price":1234567890.12345678,"volume":1,"aggressor":"SELL","seq":123456789012345678901234567890,"tiny":1e-400,"note":"é\\n😀"}}`;
    const d = decode(text);
    expect(ok(d).callback.payload).toBe(
      '{"symbol":"PETR4","price":1234567890.12345678,"volume":1,"aggressor":"SELL","seq":123456789012345678901234567890,"tiny":1e-400,"note":"é\\n😀"}',
    );
    expect(d.ok && d.ticks[0]?.price).toBe('1234567890.12345678');
  });

  it('keeps numbers beyond the exponent range of a double in the payload', () => {
    const text = `{"type":"STATE","callbackTime":"${CALLBACK_TIME}","payload":{"big":1e400,"tiny":-2.5E-400}}`;
    expect(ok(decode(text)).callback.payload).toBe('{"big":1e400,"tiny":-2.5E-400}');
  });
});

describe('decodeCallback: invalid envelope', () => {
  it.each([
    ['not JSON', '{type:TRADE}', 'not_json', undefined],
    ['array', '[]', 'not_object', undefined],
    ['missing type', JSON.stringify({ callbackTime: CALLBACK_TIME, payload: {} }), 'missing_field', 'type'],
    ['unknown type', envelope('QUOTE', {}), 'invalid_field', 'type'],
    ['type as number', envelope(3, {}), 'invalid_field', 'type'],
    ['missing callbackTime', JSON.stringify({ type: 'STATE', payload: {} }), 'missing_field', 'callbackTime'],
    [
      'bad callbackTime',
      envelope('STATE', {}, { callbackTime: '31/02/2026 10:00:00.000' }),
      'invalid_field',
      'callbackTime',
    ],
    [
      'future callbackTime',
      envelope('STATE', {}, { callbackTime: '2027-01-01T00:00:00Z' }),
      'invalid_field',
      'callbackTime',
    ],
    [
      'missing payload',
      JSON.stringify({ type: 'STATE', callbackTime: CALLBACK_TIME }),
      'missing_field',
      'payload',
    ],
    ['payload as string', envelope('STATE', '{"a":1}'), 'invalid_field', 'payload'],
    ['payload as array', envelope('STATE', [1]), 'invalid_field', 'payload'],
    [
      'payload nested too deep',
      envelope('STATE', {}).replace('{}', `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
      'not_json',
      undefined,
    ],
    [
      'payload nested too deep, lossless path',
      envelope('STATE', {}).replace(
        '{}',
        `{"n":1234567890123456789,"a":${'['.repeat(100)}${']'.repeat(100)}}`,
      ),
      'not_json',
      undefined,
    ],
    ['NUL in the payload', envelope('TRADE', { ...trade, note: 'a\u0000b' }), 'nul_byte', undefined],
  ])('%s → %s', (_name, text, code, field) => {
    const d = decode(text);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.error.code).toBe(code);
    expect(d.error.field).toBe(field);
  });
});
