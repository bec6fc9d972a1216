import { describe, expect, it } from 'vitest';
import {
  JsonNumber,
  type JsonValue,
  parseLossless,
  stringifyLossless,
} from '../../src/transform/lossless-json.js';

/** Numbers back to doubles, for comparing with JSON.parse. */
function asDoubles(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(asDoubles);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asDoubles(x)]));
  return v;
}

describe('parseLossless', () => {
  it.each([
    '{}',
    '[]',
    ' { "a" : [ 1 , -2.5e3 , true , false , null , "x" ] } ',
    '{"s":"tab\\tquote\\"slash\\\\u\\u00e9 emoji \\ud83d\\ude00"}',
    '{"nested":{"deep":[[[{"k":0}]]]}}',
    '"just a string"',
    '0',
    '{"a":1,"a":2}',
  ])('agrees with JSON.parse on %s', (text) => {
    expect(asDoubles(parseLossless(text))).toEqual(JSON.parse(text));
  });

  it('keeps number text and round-trips it', () => {
    const text = '{"p":1234567890.12345678,"big":123456789012345678901234567890,"e":1E-400,"neg":-0.0}';
    const v = parseLossless(text) as Record<string, JsonNumber>;
    expect(v.p?.text).toBe('1234567890.12345678');
    expect(stringifyLossless(v)).toBe(text);
  });

  it('makes "__proto__" an own property, as JSON.parse does', () => {
    const v = parseLossless('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });

  it.each([
    '',
    '{',
    '{"a":}',
    '{"a":1,}',
    '[1,]',
    '[1 2]',
    '{a:1}',
    "{'a':1}",
    '01',
    '1.',
    '.5',
    '-',
    '1e',
    'NaN',
    'Infinity',
    'tru',
    '"unterminated',
    '"bad \\x escape"',
    '"raw\ttab"',
    '{} {}',
  ])('refuses %j like JSON.parse', (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => parseLossless(text)).toThrow();
  });
});
