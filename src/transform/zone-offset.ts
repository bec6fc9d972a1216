/**
 * UTC offsets of an IANA time zone from Intl (whole seconds only: fractions never go near a Date),
 * cached per 15-minute bucket, since formatToParts costs microseconds and ticks arrive in time order.
 */

import { daysFromCivil } from './civil.js';

const BUCKET_SECONDS = 900;
const MAX_CACHED_BUCKETS = 4096;

interface Zone {
  format: Intl.DateTimeFormat;
  buckets: Map<number, number>;
}
const zones = new Map<string, Zone>();

function zone(timeZone: string): Zone {
  let z = zones.get(timeZone);
  if (!z) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    z = { format, buckets: new Map() };
    zones.set(timeZone, z);
  }
  return z;
}

/** Offset (local − UTC, seconds) at a UTC instant, straight from Intl. */
function intlOffset(format: Intl.DateTimeFormat, utcSec: number): number {
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const p of format.formatToParts(utcSec * 1000)) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') mo = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') mi = Number(p.value);
    else if (p.type === 'second') s = Number(p.value);
  }
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - utcSec;
}

/** Offset (local − UTC, seconds) of `timeZone` at a UTC instant. */
export function zoneOffset(timeZone: string, utcSec: number): number {
  const z = zone(timeZone);
  const bucket = Math.floor(utcSec / BUCKET_SECONDS);
  const cached = z.buckets.get(bucket);
  if (cached !== undefined) return cached;
  const start = intlOffset(z.format, bucket * BUCKET_SECONDS);
  // A transition inside the bucket: answer for this instant only.
  if (intlOffset(z.format, bucket * BUCKET_SECONDS + BUCKET_SECONDS - 1) !== start)
    return intlOffset(z.format, utcSec);
  if (z.buckets.size >= MAX_CACHED_BUCKETS) z.buckets.clear();
  z.buckets.set(bucket, start);
  return start;
}

/**
 * The UTC instant of a local wall-clock time (given as seconds since the epoch as if it were UTC).
 * An ambiguous time (clocks going back) is its earlier instant; a time skipped by a transition is null.
 */
export function localToUtc(timeZone: string, wallSec: number): number | null {
  const before = zoneOffset(timeZone, wallSec - 86400);
  const after = zoneOffset(timeZone, wallSec + 86400);
  const a = wallSec - before;
  const b = wallSec - after;
  const aValid = zoneOffset(timeZone, a) === before;
  const bValid = before === after ? aValid : zoneOffset(timeZone, b) === after;
  if (aValid && bValid) return Math.min(a, b);
  if (aValid) return a;
  if (bValid) return b;
  return null;
}
