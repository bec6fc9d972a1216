/**
 * Calendar maths in the exchange's time zone, for cutting a rebuild into local days: a 1d bar
 * (the coarsest) never straddles two pieces, so no bucket is recomputed twice. The database's
 * time_bucket stays the authority on bucket bounds; these cuts only size the work.
 */
import { zoneOffset } from '../transform/zone-offset.js';

const US_PER_MINUTE = 60_000_000;
const US_PER_DAY = 86_400_000_000;

/** UTC offset of `timeZone` at the instant `us`, in microseconds (local = utc + offset). */
export function zoneOffsetUs(us: number, timeZone: string): number {
  return zoneOffset(timeZone, Math.floor(us / 1_000_000)) * 1_000_000;
}

/**
 * The first instant of the local day containing `us`. Where local midnight does not exist
 * (a DST start at 00:00, as São Paulo had until 2019) that is the instant the clocks jumped,
 * which is also what time_bucket('1 day', ts, zone) returns.
 */
export function localDayStartUs(us: number, timeZone: string): number {
  const local = us + zoneOffsetUs(us, timeZone);
  const midnightLocal = local - (((local % US_PER_DAY) + US_PER_DAY) % US_PER_DAY);
  // Local midnight back to UTC with the offset in force at midnight (which may differ from now's).
  const first = midnightLocal - zoneOffsetUs(us, timeZone);
  const second = midnightLocal - zoneOffsetUs(first, timeZone);
  for (const candidate of [first, second])
    if (candidate + zoneOffsetUs(candidate, timeZone) === midnightLocal) return candidate;
  // Midnight was skipped: the day starts at the jump, between the two candidates.
  let lo = Math.min(first, second);
  let hi = Math.max(first, second);
  while (hi - lo > US_PER_MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / US_PER_MINUTE) * US_PER_MINUTE;
    if (mid + zoneOffsetUs(mid, timeZone) < midnightLocal) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The first instant of the local day after the one containing `us`. */
export function nextLocalDayStartUs(us: number, timeZone: string): number {
  const start = localDayStartUs(us, timeZone);
  // 26 hours past the start is always inside the next day (days last 23 to 25 hours).
  return localDayStartUs(start + 26 * 3_600_000_000, timeZone);
}

/** [fromUs, toUs] (inclusive) cut at local midnights into [from, to] pieces. */
export function splitByLocalDay(fromUs: number, toUs: number, timeZone: string): [number, number][] {
  const out: [number, number][] = [];
  for (let from = fromUs; from <= toUs; ) {
    const next = nextLocalDayStartUs(from, timeZone);
    out.push([from, Math.min(toUs, next - 1)]);
    from = next;
  }
  return out;
}
