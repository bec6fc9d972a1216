import type pg from 'pg';
import { RoundTrip } from '../../src/db.js';
import type { TickColumns } from '../../src/records.js';
import { tickCount } from '../../src/tick-columns.js';
import { checkTrades, type TradeDecision } from '../../src/trades/index.js';

/** What the trade step did to a batch: its decision, and the open holes it left (when it changed any). */
export type TradeStepResult = Omit<TradeDecision, 'write'> & { openGaps: number | undefined };

/**
 * The trade step as the flush runs it, inside the caller's transaction: lock and read in one
 * round trip, decide, record; every tick kept when none has a trade number.
 */
export async function recordTrades(
  client: pg.ClientBase,
  ticks: TickColumns,
  timeZone: string,
): Promise<TradeStepResult> {
  const check = checkTrades(ticks, timeZone);
  if (!check) {
    const keep = new Array<boolean>(tickCount(ticks)).fill(true);
    return { keep, duplicates: 0, gapsOpened: 0, gapsFilled: 0, gapsSplit: 0, openGaps: undefined };
  }
  const read = new RoundTrip();
  read.add(check.lock);
  const stored = read.add(check.read);
  await read.send(client);
  const { write, ...decision } = check.decide(stored());
  const record = new RoundTrip();
  const openGaps = write ? record.add(write) : undefined;
  await record.send(client);
  return { ...decision, openGaps: openGaps?.() };
}
