import type pg from 'pg';
import { withClient } from '../db.js';
import { splitByLocalDay } from './local-days.js';
import { recomputeBars } from './recompute.js';
import { TIMEFRAMES } from './timeframes.js';
import { type UpsertCounts, zeroCounts } from './write-bars.js';

export interface RebuildRange {
  /** ISO instants; ticks with from <= tick_time <= to select the buckets to rebuild. */
  from?: string;
  to?: string;
  symbol?: string;
}

/** Each symbol's tick extent within the range, in epoch microseconds (exact: extract() is numeric). */
const EXTENTS_SQL = `
select symbol,
       (extract(epoch from min(tick_time)) * 1000000)::bigint::text as from_us,
       (extract(epoch from max(tick_time)) * 1000000)::bigint::text as to_us
  from data_capture.market_ticks
 where ($1::timestamptz is null or tick_time >= $1::timestamptz)
   and ($2::timestamptz is null or tick_time <= $2::timestamptz)
   and ($3::text is null or symbol = $3::text)
 group by symbol
 order by symbol`;

/**
 * Recompute, from market_ticks, every bar whose bucket holds a tick of the range: one
 * transaction per symbol and local day, the builder's own statement and locks. Bars are never
 * deleted: ticks are kept 30 days, bars 2 years, so a bar without ticks is history, not an error.
 */
export async function rebuildBars(
  pool: pg.Pool,
  range: RebuildRange,
  timeZone: string,
  onProgress: (symbol: string, day: string, counts: UpsertCounts) => void = () => undefined,
): Promise<UpsertCounts> {
  const total = zeroCounts();
  const { rows } = await pool.query<{ symbol: string; from_us: string; to_us: string }>(EXTENTS_SQL, [
    range.from ?? null,
    range.to ?? null,
    range.symbol ?? null,
  ]);
  await withClient(pool, async (client) => {
    for (const r of rows) {
      for (const [fromUs, toUs] of splitByLocalDay(Number(r.from_us), Number(r.to_us), timeZone)) {
        const counts = await recomputeBars(client, [{ symbol: r.symbol, fromUs, toUs }], timeZone);
        for (const tf of TIMEFRAMES) total[tf.name] += counts[tf.name];
        onProgress(r.symbol, new Date(fromUs / 1000).toISOString(), counts);
      }
    }
  });
  return total;
}
