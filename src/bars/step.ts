import type pg from 'pg';
import { classifyError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { TouchedSpan } from '../records.js';
import type { BarStep } from '../writers/copy-sink.js';
import { mergeBars } from './merge.js';
import { recomputeBarsInTransaction, type UpsertCounts, usToIso } from './recompute.js';

/**
 * The flush's bar step: merge the batch's own ticks into the bars, or, when rows were written
 * under savepoints (their xmin is a subtransaction's, which the merge cannot see), recompute the
 * touched buckets from all their ticks instead. Either way inside the flush's transaction.
 *
 * A data error of the bars themselves (an aggregate overflowing its column, say) must not wedge
 * the partition: the sink redoes such a batch isolated, and there the bars are given up under a
 * savepoint, logged for `tick-ingest bars`, and the ticks commit.
 */
export function barStep(timeZone: string, metrics: Metrics, log: Logger): BarStep {
  return async (client: pg.ClientBase, spans: readonly TouchedSpan[], isolated: boolean) => {
    const end = metrics.barWriteDuration.startTimer();
    if (!isolated) {
      const counts = await mergeBars(client, spans, timeZone);
      end();
      return counts;
    }
    await client.query('savepoint bars');
    let counts: UpsertCounts | Record<string, never>;
    try {
      counts = await recomputeBarsInTransaction(client, spans, timeZone);
      await client.query('release savepoint bars');
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      await client.query('rollback to savepoint bars');
      metrics.flushErrors.inc({ kind: 'bars' });
      log.error(
        { err: errorMessage(err), spans: spans.map(describeSpan) },
        'bars not written for these spans; the ticks are; repair with `tick-ingest bars --from --to --symbol`',
      );
      counts = {};
    }
    end();
    return counts;
  };
}

function describeSpan(s: TouchedSpan) {
  return { symbol: s.symbol, from: usToIso(s.fromUs), to: usToIso(s.toUs + 999) };
}
