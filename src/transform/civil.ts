/**
 * Proleptic Gregorian calendar arithmetic on integers (H. Hinnant's algorithms), so times never
 * pass through a JS Date (milliseconds only, and two-digit years mapped to 19xx).
 */

export function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : (MONTH_DAYS[m - 1] ?? 0);
}

/** Days since 1970-01-01 of a civil date (month 1..12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of a day count since 1970-01-01. */
export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

// Messages arrive in time order: consecutive rows usually share the second, so its text is reused.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** µs since the epoch → 'YYYY-MM-DD HH:MM:SS.ffffff+00' (PostgreSQL timestamptz input, UTC). */
export function formatUtcMicros(us: number): string {
  const sec = Math.floor(us / 1e6);
  return `${utcSecondPrefix(sec)}${String(us - sec * 1e6).padStart(6, '0')}+00`;
}

/** Seconds since the epoch → 'YYYY-MM-DD HH:MM:SS.', what formatUtcMicros writes before the µs. */
export function utcSecondPrefix(sec: number): string {
  if (sec !== cachedSecond) {
    const days = Math.floor(sec / 86400);
    const sod = sec - days * 86400;
    const { y, m, d } = civilFromDays(days);
    const hh = Math.floor(sod / 3600);
    const mi = Math.floor((sod % 3600) / 60);
    cachedPrefix = `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)} ${pad2(hh)}:${pad2(mi)}:${pad2(sod % 60)}.`;
    cachedSecond = sec;
  }
  return cachedPrefix;
}
