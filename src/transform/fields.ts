import { isDecimalFailure, parseDecimal } from './decimal.js';
import { JsonNumber, type JsonValue } from './lossless-json.js';
import { describe, type JsonObject } from './message.js';
import { reject } from './rejection.js';
import { parseTimestamp } from './timestamp.js';
import type { Aggressor, DecodeContext } from './types.js';

/**
 * Readers of one field each: return the normalised value or reject naming the field and why.
 * A field that is null counts as absent.
 */

export const present = (v: JsonValue | undefined): v is JsonValue => v !== undefined && v !== null;

/** Length in characters (code points), as PostgreSQL's char_length counts. */
function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function readString(o: JsonObject, field: string, maxChars: number, fallback?: string): string {
  const v = o[field];
  if (!present(v)) {
    if (fallback !== undefined) return fallback;
    return reject('missing_field', field, `${field} is missing`);
  }
  if (typeof v !== 'string')
    return reject('invalid_field', field, `${field} must be a string, got ${describe(v)}`);
  // UTF-16 length bounds the code point count from above, so counting is only needed near the limit.
  if (v.length === 0 || (v.length > maxChars && charLength(v) > maxChars)) {
    return reject('invalid_field', field, `${field} must be 1..${maxChars} characters, got ${charLength(v)}`);
  }
  return v;
}

/** A decimal > 0 fitting numeric(18,8), from a JSON number or a decimal string, as canonical text. */
export function readPositiveDecimal(o: JsonObject, field: string, path = field): string {
  const v = o[field];
  if (!present(v)) return reject('missing_field', path, `${path} is missing`);
  let text: string;
  if (typeof v === 'string') text = v;
  else if (typeof v === 'number')
    text = String(v); // ≤15 significant digits here: the shortest round trip is exact
  else if (v instanceof JsonNumber) text = v.text;
  else return reject('invalid_field', path, `${path} must be a decimal number or string, got ${describe(v)}`);
  const d = parseDecimal(text);
  if (isDecimalFailure(d)) return reject('invalid_field', path, `${path} ${d.reason}: ${clip(text)}`);
  if (d === '0') return reject('invalid_field', path, `${path} must be greater than zero: ${clip(text)}`);
  return d;
}

/** µs since the epoch; `fallbackUs` stands in when the field is absent. */
export function readTime(o: JsonObject, field: string, ctx: DecodeContext, fallbackUs?: number): number {
  const v = o[field];
  if (!present(v)) {
    if (fallbackUs !== undefined) return fallbackUs;
    return reject('missing_field', field, `${field} is missing`);
  }
  if (typeof v !== 'string')
    return reject('invalid_field', field, `${field} must be a timestamp string, got ${describe(v)}`);
  const us = parseTimestamp(v, ctx.timeZone);
  if (typeof us !== 'number') return reject('invalid_field', field, `${field} ${us.reason}: ${clip(v)}`);
  const misfit = timeMisfit(us, ctx);
  if (misfit === 'before 1970') return reject('invalid_field', field, `${field} is before 1970: ${clip(v)}`);
  if (misfit === 'future') {
    const ahead = Math.round((us - ctx.recordTimeUs) / 1e6);
    return reject(
      'invalid_field',
      field,
      `${field} is ${ahead} s after the message's Kafka timestamp (beyond the allowed window): ${clip(v)}`,
    );
  }
  if (misfit === 'past') {
    const behind = Math.round((ctx.recordTimeUs - us) / 86_400e6);
    return reject(
      'invalid_field',
      field,
      `${field} is ${behind} days before the message's Kafka timestamp (beyond the allowed window): ${clip(v)}`,
    );
  }
  return us;
}

/** Why a parsed time (µs) is not acceptable, or null when it is. */
export function timeMisfit(us: number, ctx: DecodeContext): 'before 1970' | 'future' | 'past' | null {
  // Before the Unix epoch is never a market time: ProfitDLL's zero date (30/12/1899) lands here.
  if (us < 0) return 'before 1970';
  if (ctx.recordTimeUs > 0) {
    if (us > ctx.recordTimeUs + ctx.futureWindowUs) return 'future';
    if (us < ctx.recordTimeUs - ctx.pastWindowUs) return 'past';
  }
  return null;
}

/** BUY / SELL / NEUTRAL, any letter case accepted and normalised to upper case. */
export function readAggressor(o: JsonObject): Aggressor {
  const v = o.aggressor;
  if (!present(v)) return reject('missing_field', 'aggressor', 'aggressor is missing');
  if (v === 'BUY' || v === 'SELL' || v === 'NEUTRAL') return v;
  if (typeof v === 'string' && v.length <= 7) {
    const a = v.toUpperCase();
    if (a === 'BUY' || a === 'SELL' || a === 'NEUTRAL') return a;
  }
  return reject('invalid_field', 'aggressor', `aggressor must be BUY, SELL or NEUTRAL, got ${shown(v)}`);
}

const BIGINT_MAX = 9223372036854775807n;

/**
 * Optional exchange trade number (market_ticks.trade_id bigint): a whole number in bigint range,
 * as a JSON number or a string of digits; canonical decimal text, or null when absent.
 */
export function readTradeId(o: JsonObject): string | null {
  const v = o.tradeId;
  if (!present(v)) return null;
  const text =
    typeof v === 'string' ? v : v instanceof JsonNumber ? v.text : typeof v === 'number' ? String(v) : '';
  if (isInteger(text)) {
    const n = BigInt(text);
    if (n <= BIGINT_MAX && n >= -BIGINT_MAX - 1n) return n.toString();
  }
  return reject(
    'invalid_field',
    'tradeId',
    `tradeId must be a whole number in bigint range, got ${typeof v === 'string' ? shown(v) : describe(v)}`,
  );
}

/** Optional sign, then 1..19 digits (any more is beyond bigint in any case). */
function isInteger(s: string): boolean {
  const from = s.charCodeAt(0) === 45 ? 1 : 0;
  if (s.length === from || s.length - from > 19) return false;
  for (let k = from; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A value as error messages show it: strings quoted and clipped, other types named. */
export function shown(v: JsonValue): string {
  return typeof v === 'string' ? clip(v) : describe(v);
}

/** Echoed input in messages stays short. */
export function clip(s: string): string {
  return s.length <= 40 ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, 40))}…`;
}
