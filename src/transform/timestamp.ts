import { daysFromCivil, daysInMonth } from './civil.js';
import { localToUtc } from './zone-offset.js';

/**
 * Timestamps to µs since the epoch, parsed by character position, fraction kept as digits
 * (truncated to µs, never rounded). Two forms:
 * - ISO-8601 with Z or an offset: `2026-11-24T13:00:00.123456789-03:00` (T or space; offset ±HH:MM, ±HHMM or ±HH);
 * - ProfitDLL local time `24/11/2026 10:00:00.123` in the exchange time zone.
 */

export interface TimestampFailure {
  readonly reason: string;
}
const UNPARSEABLE: TimestampFailure = {
  reason:
    "is not a timestamp (expected ISO-8601 with Z or an offset, or ProfitDLL's dd/MM/yyyy HH:mm:ss.SSS)",
};
const BAD_DATE: TimestampFailure = { reason: 'is not a valid calendar date and time' };
const OUT_OF_RANGE: TimestampFailure = { reason: 'is out of the supported range' };
const SKIPPED_LOCAL: TimestampFailure = {
  reason: 'is a local time skipped by a clock change in the exchange time zone',
};

/** Whole seconds whose µs stay exact in a double (years 1685..2255). */
const MAX_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e6) - 1;

/** Value of `len` decimal digits at `at`, or -1 if any is not a digit. */
function digits(s: string, at: number, len: number): number {
  let v = 0;
  for (let k = at; k < at + len; k++) {
    const c = s.charCodeAt(k) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Digits of a `.d{1,9}` fraction at `at`: 0 if there is no '.', -1 if malformed. */
function fractionLength(s: string, at: number): number {
  if (s.charCodeAt(at) !== 46) return 0;
  let k = at + 1;
  while (k < s.length && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) k++;
  const n = k - at - 1;
  return n === 0 || n > 9 ? -1 : n;
}

/** µs of `n` fraction digits at `at`: digits past the sixth are truncated. */
function fractionMicros(s: string, at: number, n: number): number {
  let micros = 0;
  for (let k = 0; k < 6; k++) micros = micros * 10 + (k < n ? s.charCodeAt(at + k) - 48 : 0);
  return micros;
}

function wallSeconds(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  sec: number,
): number | TimestampFailure {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59)
    return BAD_DATE;
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

// Timestamps arrive in time order: consecutive ones mostly differ in the fraction only. The last
// accepted one is kept, and a timestamp equal to it around the fraction has its whole seconds.
let lastText = '';
let lastEnd = 0;
let lastZone = '';
let lastUtc = 0;

/** Whether s and lastText agree on the 19 characters of date and time and on what follows the fraction. */
function sameSecondAsLast(s: string, end: number, timeZone: string): boolean {
  if (timeZone !== lastZone || s.length - end !== lastText.length - lastEnd) return false;
  for (let k = 0; k < 19; k++) if (s.charCodeAt(k) !== lastText.charCodeAt(k)) return false;
  for (let k = end, j = lastEnd; k < s.length; k++, j++)
    if (s.charCodeAt(k) !== lastText.charCodeAt(j)) return false;
  return true;
}

/** µs since the epoch of an ISO-8601 or ProfitDLL timestamp, or why it is not one. */
export function parseTimestamp(s: string, timeZone: string): number | TimestampFailure {
  if (s.length < 19) return UNPARSEABLE;
  const fracLen = fractionLength(s, 19);
  if (fracLen < 0) return UNPARSEABLE;
  const micros = fractionMicros(s, 20, fracLen);
  const end = fracLen === 0 ? 19 : 20 + fracLen;
  if (sameSecondAsLast(s, end, timeZone)) return lastUtc * 1e6 + micros;
  const profitDll = s.charCodeAt(2) === 47; // '/'
  let y: number;
  let mo: number;
  let d: number;
  if (profitDll) {
    if (s.charCodeAt(5) !== 47 || s.charCodeAt(10) !== 32) return UNPARSEABLE;
    d = digits(s, 0, 2);
    mo = digits(s, 3, 2);
    y = digits(s, 6, 4);
  } else {
    const sep = s.charCodeAt(10);
    if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 116 && sep !== 32))
      return UNPARSEABLE;
    y = digits(s, 0, 4);
    mo = digits(s, 5, 2);
    d = digits(s, 8, 2);
  }
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return UNPARSEABLE;
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return UNPARSEABLE;

  const wall = wallSeconds(y, mo, d, h, mi, sec);
  if (typeof wall !== 'number') return wall;
  if (Math.abs(wall) > MAX_SECONDS) return OUT_OF_RANGE;

  let utc: number;
  if (profitDll) {
    if (end !== s.length) return UNPARSEABLE;
    const local = localToUtc(timeZone, wall);
    if (local === null) return SKIPPED_LOCAL;
    utc = local;
  } else {
    const offset = zoneSuffix(s, end);
    if (offset === null) return UNPARSEABLE;
    utc = wall - offset;
  }
  if (Math.abs(utc) > MAX_SECONDS) return OUT_OF_RANGE;
  lastText = s;
  lastEnd = end;
  lastZone = timeZone;
  lastUtc = utc;
  return utc * 1e6 + micros;
}

/** Offset in seconds of a `Z`, `±HH:MM`, `±HHMM` or `±HH` suffix filling the rest of `s`, or null. */
function zoneSuffix(s: string, at: number): number | null {
  const c = s.charCodeAt(at);
  const rest = s.length - at;
  if ((c === 90 || c === 122) && rest === 1) return 0;
  if (c !== 43 && c !== 45) return null;
  const oh = digits(s, at + 1, 2);
  let om: number;
  if (rest === 3) om = 0;
  else if (rest === 5) om = digits(s, at + 3, 2);
  else if (rest === 6 && s.charCodeAt(at + 3) === 58) om = digits(s, at + 4, 2);
  else return null;
  if (oh < 0 || om < 0 || oh > 23 || om > 59) return null;
  const offset = oh * 3600 + om * 60;
  return c === 45 ? -offset : offset;
}
