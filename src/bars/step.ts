import type pg from 'pg';
import { classifyError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { TickColumns } from '../records.js';
import { mergeBars } from './merge.js';
import { type PartialBars, partialBars } from './partial.js';
import { usToIso } from './write-bars.js';

/**
 * The flush's bar step, run inside its transaction after the COPY: `ticks` are the rows the
 * database accepted (rejected ones left out), `ids[i]` the market_ticks.id the sink gave row i.
 * Resolves to the bars inserted or changed per timeframe.
 */
export type BarStep = (
  client: pg.ClientBase,
  ticks: TickColumns,
  ids: readonly string[],
) => Promise<Record<string, number>>;

/**
 * The bar step: the batch's partial 1-minute bars computed here from its ticks, merged into
 * every timeframe by one statement that reads no tick (so no tick is read back, and nothing
 * depends on a hypertable's system columns, which compressed chunks do not have).
 *
 * A data error of the bars themselves (an aggregate overflowing its column, say) must not wedge
 * the partition: the merge runs under a savepoint, and such an error rolls back the bars only,
 * is logged for `tick-ingest bars` and counted; the ticks and offsets commit.
 */
export function barStep(timeZone: string, metrics: Metrics, log: Logger): BarStep {
  return async (client, ticks, ids) => {
    if (ticks.symbols.length === 0) return {};
    const end = metrics.barWriteDuration.startTimer();
    try {
      const partial = partialBars(ticks, ids);
      await client.query('savepoint bars');
      try {
        const counts = await mergeBars(client, partial, timeZone);
        await client.query('release savepoint bars');
        return counts;
      } catch (err) {
        if (classifyError(err) !== 'data') throw err;
        await client.query('rollback to savepoint bars');
        metrics.flushErrors.inc({ kind: 'bars' });
        log.error(
          { err: errorMessage(err), spans: describeSpans(partial) },
          'bars not written for these spans; the ticks are; repair with `tick-ingest bars --from --to --symbol`',
        );
        return {};
      }
    } finally {
      end();
    }
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
