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

const LONE_SURROGATE = /\p{Surrogate}/u;
/** Nesting limit of accepted messages; ProfitDLL payloads are a few levels deep. */
export const MAX_DEPTH = 64;

/**
 * Checks a Kafka message value and parses it as a JSON object. Rejects (throws Rejection) a null
 * or empty value, invalid UTF-8, NUL raw or escaped, lone surrogate escapes, non-JSON and non-objects.
 * `exactPayload`: the value will be re-serialised, so every number must survive, not only acceptable ones.
 */
export function parseMessage(value: Buffer | null, exactPayload = false): ParsedMessage {
  if (value === null || value.length === 0)
    reject('empty_value', undefined, 'message value is empty (null or zero bytes)');
  const nul = value.indexOf(0);
  if (nul >= 0) reject('nul_byte', undefined, `message value holds a NUL byte at offset ${nul}`);
  if (!isUtf8(value)) reject('bad_unicode', undefined, 'message value is not valid UTF-8');
  const text = value.toString('utf8');
  if (hasNulEscape(text)) reject('nul_byte', undefined, 'message value holds a \\u0000 escape (NUL)');

  // Field values never need the exponent check: a 3-digit exponent with a ≤15-digit mantissa is
  // far outside numeric(18,8) whether read exactly or not. A payload kept as JSON text does.
  const lossless = hasLongNumber(text) || (exactPayload && BIG_EXPONENT.test(text));
  let parsed: JsonValue;
  try {
    parsed = lossless ? parseLossless(text, MAX_DEPTH) : (JSON.parse(text) as JsonValue);
  } catch (err) {
    reject('not_json', undefined, `message value is not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) {
    reject('not_object', undefined, `message value is JSON but not an object (${describe(parsed)})`);
  }
  // Serialising and walking recurse, and so does PostgreSQL's jsonb input: bound the depth, whichever parser ran.
  if (deeperThan(parsed, MAX_DEPTH)) {
    reject('not_json', undefined, `message value is nested deeper than ${MAX_DEPTH} levels`);
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

/**
 * Whether the text may hold a number with 16+ significant digits, which a double cannot keep.
 * Such a number is a run of 16+ digits and dots, so it covers one of every 16 positions: only
 * those are looked at, and a run found there is measured once. A false positive (digits inside
 * a string) only costs the slower lossless parse.
 */
function hasLongNumber(text: string): boolean {
  const n = text.length;
  for (let i = 15; i < n; i += 16) {
    if (!isDigitOrDot(text.charCodeAt(i))) continue;
    let k = i;
    while (k > 0 && isDigitOrDot(text.charCodeAt(k - 1))) k--;
    let digits = 0;
    for (; k < n; k++) {
      const c = text.charCodeAt(k);
      if (isDigit(c)) {
        if (++digits === 16) return true;
      } else if (c !== 46) break;
    }
    // k ends the run: a later long run starts after it, so striding on from k still meets it.
    i = k;
  }
  return false;
}

/** Exponents of 3+ digits overflow a double to Infinity or underflow it towards 0. */
const BIG_EXPONENT = /[eE][+-]?\d{3}/;

const isDigitOrDot = (c: number) => (c >= 48 && c <= 57) || c === 46;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** A `\u0000` escape that is not itself an escaped backslash followed by "u0000". */
function hasNulEscape(text: string): boolean {
  for (let at = text.indexOf('\\u0000'); at >= 0; at = text.indexOf('\\u0000', at + 1)) {
    let backslashes = 1;
    while (at - backslashes >= 0 && text.charCodeAt(at - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 1) return true;
  }
  return false;
}

function deeperThan(v: JsonValue, levels: number): boolean {
  if (typeof v !== 'object' || v === null || v instanceof JsonNumber) return false;
  if (levels === 0) return true;
  if (Array.isArray(v)) {
    for (const child of v) if (deeperThan(child, levels - 1)) return true;
  } else {
    for (const key in v) if (deeperThan(v[key] as JsonValue, levels - 1)) return true;
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
