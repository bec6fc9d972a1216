import type pg from 'pg';
import type { Metrics } from '../observability/metrics.js';
import type { TouchedSpan } from '../writers/batch.js';
import type { BarStep } from '../writers/copy-sink.js';
import { mergeBars } from './merge.js';
import { recomputeBarsInTransaction } from './recompute.js';

/**
 * The flush's bar step: merge the batch's own ticks into the bars, or, when rows were written
 * under savepoints (their xmin is a subtransaction's, which the merge cannot see), recompute the
 * touched buckets from all their ticks instead. Either way inside the flush's transaction.
 */
export function barStep(timeZone: string, metrics: Metrics): BarStep {
  return async (client: pg.ClientBase, spans: readonly TouchedSpan[], isolated: boolean) => {
    const end = metrics.barWriteDuration.startTimer();
    const counts = isolated
      ? await recomputeBarsInTransaction(client, spans, timeZone)
      : await mergeBars(client, spans, timeZone);
    end();
    return counts;
  };
}
