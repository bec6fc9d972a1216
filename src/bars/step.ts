import type pg from 'pg';
import { command, RoundTrip, run } from '../db.js';
import { classifyError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { TickColumns, TickIds } from '../records.js';
import { tickCount } from '../tick-columns.js';
import { type BarMerge, mergeBars } from './merge.js';
import { type PartialBars, partialBars } from './partial.js';
import { usToIso } from './write-bars.js';

/**
 * The flush's bar step, run inside its transaction after the COPY: `ticks` are the rows the
 * database accepted (rejected ones left out), `ids` the market_ticks ids the sink gave them, row by
 * row.
 */
export interface BarStep {
  /**
   * The bars as statements for the flush's last round trip (its commit travels with them): a data
   * error of the bars then fails the transaction, and the sink redoes it isolated. Undefined
   * without ticks.
   */
  statements(ticks: TickColumns, ids: TickIds): BarMerge | undefined;
  /**
   * The bars on their own round trips under a savepoint: a data error of the bars (an aggregate
   * overflowing its column, say) must not wedge the partition, so it rolls back the bars only, is
   * logged for `tick-ingest bars` and counted, and the ticks and offsets commit. Resolves to the
   * bars inserted or changed per timeframe.
   */
  isolated(client: pg.ClientBase, ticks: TickColumns, ids: TickIds): Promise<Record<string, number>>;
}

/**
 * The bar step: the batch's partial 1-minute bars computed here from its ticks, merged into
 * every timeframe by one statement that reads no tick (so no tick is read back, and nothing
 * depends on a hypertable's system columns, which compressed chunks do not have).
 * tick_ingest_bar_write_duration_seconds times it from the partial bars to the merge's answer.
 */
export function barStep(timeZone: string, metrics: Metrics, log: Logger): BarStep {
  const timed = (ticks: TickColumns, ids: TickIds) => {
    if (tickCount(ticks) === 0) return undefined;
    const end = metrics.barWriteDuration.startTimer();
    const partial = partialBars(ticks, ids);
    const { lock, merge } = mergeBars(partial, timeZone);
    const read = merge.read;
    return {
      partial,
      lock,
      merge: {
        text: merge.text,
        read: (r: pg.QueryResult) => {
          end();
          return read(r);
        },
      },
    };
  };
  return {
    statements: timed,
    isolated: async (client, ticks, ids) => {
      const bars = timed(ticks, ids);
      if (!bars) return {};
      await run(client, command('savepoint bars'));
      try {
        const trip = new RoundTrip();
        trip.add(bars.lock);
        const counts = trip.add(bars.merge);
        trip.add(command('release savepoint bars'));
        await trip.send(client);
        return counts();
      } catch (err) {
        if (classifyError(err) !== 'data') throw err;
        await run(client, command('rollback to savepoint bars'));
        metrics.flushErrors.inc({ kind: 'bars' });
        log.error(
          { err: errorMessage(err), spans: describeSpans(bars.partial) },
          'bars not written for these spans; the ticks are; repair with `tick-ingest bars --from --to --symbol`',
        );
        return {};
      }
    },
  };
}

/** Per symbol, the minutes the given-up bars cover: what `tick-ingest bars` needs to repair them. */
function describeSpans(p: PartialBars) {
  const spans = new Map<string, { symbol: string; fromUs: number; toUs: number }>();
  p.symbols.forEach((symbol, r) => {
    const minute = p.minutesUs[r] as number;
    const s = spans.get(symbol);
    if (!s) spans.set(symbol, { symbol, fromUs: minute, toUs: minute });
    else {
      s.fromUs = Math.min(s.fromUs, minute);
      s.toUs = Math.max(s.toUs, minute);
    }
  });
  return [...spans.values()].map((s) => ({
    symbol: s.symbol,
    from: usToIso(s.fromUs),
    to: usToIso(s.toUs + 59_999_999),
  }));
}
