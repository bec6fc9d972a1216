import { civilFromDays } from '../transform/civil.js';
import { zoneOffset } from '../transform/zone-offset.js';

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * The trading day of a tick: the date of its tick_time (µs since the epoch) in the exchange's time
 * zone, as 'YYYY-MM-DD' (PostgreSQL date input). B3 numbers each instrument's trades per session,
 * and a session never crosses local midnight.
 */
export function tradingDay(timeUs: number, timeZone: string): string {
  const sec = Math.floor(timeUs / 1e6);
  const { y, m, d } = civilFromDays(Math.floor((sec + zoneOffset(timeZone, sec)) / 86400));
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}
