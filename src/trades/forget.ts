import type pg from 'pg';
import type { TickColumns } from '../records.js';
import { textAt, tradeIdAt } from '../tick-columns.js';
import { tradingDay } from './trading-day.js';

/**
 * For a flush that kept ticks (recordTrades said so) but then could not store some of them (the
 * database rejected the rows; they are dead-lettered): their trade numbers become one-number holes,
 * in the same transaction, so they are reported missing and a corrected redelivery is stored, not
 * dropped as a duplicate. `rows` index `ticks`; rows without a trade number are ignored.
 * Returns the holes opened.
 */
export async function forgetTrades(
  client: pg.ClientBase,
  ticks: TickColumns,
  rows: readonly number[],
  timeZone: string,
): Promise<number> {
  const numbered = rows.filter((i) => tradeIdAt(ticks, i) !== null);
  if (numbered.length === 0) return 0;
  const result = await client.query(
    `insert into data_capture.feed_gaps (symbol, trading_day, first_missing, last_missing)
     select s, d, n, n from unnest($1::text[], $2::date[], $3::bigint[]) as u(s, d, n)`,
    [
      numbered.map((i) => textAt(ticks.symbols, i)),
      numbered.map((i) => tradingDay(ticks.timesUs[i] as number, timeZone)),
      numbered.map((i) => tradeIdAt(ticks, i)),
    ],
  );
  return result.rowCount ?? 0;
}
