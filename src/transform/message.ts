import { isUtf8 } from 'node:buffer';
import { JsonNumber, type JsonValue, parseLossless, stringifyLossless } from './lossless-json.js';
import { reject } from './rejection.js';

export type JsonObject = { [key: string]: JsonValue };

/** A message value checked and parsed: the top-level object and how its numbers were read. */
export interface ParsedMessage {
  object: JsonObject;
  /** Numbers are JsonNumber (source text) rather than doubles. */
  lossless: boolean;
}

/**
 * Numbers a double may not hold exactly: 16+ significant digits (a run of 16 digits and dots
 * starting with a digit is a superset), or a 3-digit exponent (overflow to Infinity, underflow to 0).
 * False positives (such text inside strings) only cost the slower lossless parse.
 */
const NEEDS_LOSSLESS = /\d[\d.]{15}|[eE][+-]?\d{3}/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Checks a Kafka message value and parses it as a JSON object. Rejects (throws Rejection) a null
 * or empty value, invalid UTF-8, NUL raw or escaped, lone surrogate escapes, non-JSON and non-objects.
 */
export function parseMessage(value: Buffer | null): ParsedMessage {
  if (value === null || value.length === 0)
    reject('empty_value', undefined, 'message value is empty (null or zero bytes)');
  const nul = value.indexOf(0);
  if (nul >= 0) reject('nul_byte', undefined, `message value holds a NUL byte at offset ${nul}`);
  if (!isUtf8(value)) reject('bad_unicode', undefined, 'message value is not valid UTF-8');
  const text = value.toString('utf8');
  if (hasNulEscape(text)) reject('nul_byte', undefined, 'message value holds a \\u0000 escape (NUL)');

  const lossless = NEEDS_LOSSLESS.test(text);
  let parsed: JsonValue;
  try {
    parsed = lossless ? parseLossless(text) : (JSON.parse(text) as JsonValue);
  } catch (err) {
    reject('not_json', undefined, `message value is not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) {
    reject('not_object', undefined, `message value is JSON but not an object (${describe(parsed)})`);
  }
  if ((text.includes('\\ud') || text.includes('\\uD')) && !wellFormed(parsed)) {
    reject('bad_unicode', undefined, 'message value holds a lone UTF-16 surrogate escape');
  }
  return { object: parsed, lossless };
}

/** JSON text of a parsed value, numbers exactly as received. */
export function jsonText(value: JsonValue, lossless: boolean): string {
  return lossless ? stringifyLossless(value) : JSON.stringify(value);
}

export function isPlainObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

export function describe(v: JsonValue | undefined): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return isPlainObject(v) ? 'an object' : 'a number';
  return `a ${typeof v}`;
}

/** A `\u0000` escape that is not itself an escaped backslash followed by "u0000". */
function hasNulEscape(text: string): boolean {
  for (let at = text.indexOf('\\u0000'); at >= 0; at = text.indexOf('\\u0000', at + 1)) {
    let backslashes = 1;
    while (at - backslashes >= 0 && text.charCodeAt(at - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 1) return true;
  }
  return false;
}

function wellFormed(v: JsonValue): boolean {
  if (typeof v === 'string') return !LONE_SURROGATE.test(v);
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) return v.every(wellFormed);
  if (!isPlainObject(v)) return true;
  for (const key of Object.keys(v))
    if (LONE_SURROGATE.test(key) || !wellFormed(v[key] as JsonValue)) return false;
  return true;
}
