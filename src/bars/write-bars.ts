/**
 * What every bar writer (the flush's merge, the recompute of `tick-ingest bars`) shares: the
 * per-symbol locks it takes first, the columns it writes, and its counts.
 */
import type pg from 'pg';
import { lockSymbols, run, type Statement } from '../db.js';
import { TIMEFRAMES, type Timeframe } from './timeframes.js';

/** Advisory-lock namespace of the bar writers (the two-int form cannot collide with bigint locks). */
const LOCK_NAMESPACE = 'tick-ingest bars';

/** The columns of data_capture.ohlcv_bars a bar writer inserts, in this order. */
export const BAR_COLUMNS = `bar_time, symbol, timeframe, exchange, open, high, low, close, volume, volume_sum,
        trade_count, vwap, turnover, open_time, open_tick_id, open_trade_id, close_time, close_tick_id, close_trade_id`;

/**
 * The order a bar's open and close are defined by, (tick_time, trade_id nulls last, id), as a
 * SQL row without nulls: a row comparison (or first/last) with a null component yields null, so
 * a missing trade number becomes (true, 0), after every (false, n). Open = first, close = last.
 */
export const tickOrder = (time: string, tradeId: string, id: string) =>
  `row(${time}, ${tradeId} is null, coalesce(${tradeId}, 0), ${id})`;

export type UpsertCounts = Record<Timeframe, number>;

export const zeroCounts = (): UpsertCounts =>
  Object.fromEntries(TIMEFRAMES.map((t) => [t.name, 0])) as UpsertCounts;

/**
 * How every bar writer starts: nothing to do without symbols, else lock them until the
 * transaction ends, so two writers of a symbol never overwrite each other (docs/bars.md, Locks),
 * then write, filling in the upserts per timeframe.
 */
export async function writeBars(
  client: pg.ClientBase,
  symbols: readonly string[],
  write: (counts: UpsertCounts) => Promise<void>,
): Promise<UpsertCounts> {
  const counts = zeroCounts();
  if (symbols.length === 0) return counts;
  await run(client, lockBars(symbols));
  await write(counts);
  return counts;
}

/** The lock a bar writer takes first, per symbol, until its transaction ends (docs/bars.md, Locks). */
export function lockBars(symbols: readonly string[]): Statement<void> {
  return lockSymbols(LOCK_NAMESPACE, symbols);
}

/** An ISO instant for a bound that needs no microsecond precision (it has slack). */
export function usToIso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
