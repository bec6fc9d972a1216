import type pg from 'pg';
import { classifyError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { TickColumns, TouchedSpan } from '../records.js';
import { recomputeBarsInTransaction, usToIso } from './recompute.js';

/**
 * The flush's bar step: the buckets the stored ticks touch are recomputed from their ticks, inside
 * the flush's transaction, under a savepoint. A data error of the bars themselves (an aggregate
 * overflowing its column, say) must not wedge the partition: the bars are given up, logged for
 * `tick-ingest bars`, and the ticks commit.
 */
export function barStep(timeZone: string, metrics: Metrics, log: Logger) {
  return async (client: pg.ClientBase, ticks: TickColumns, _ids: readonly string[]) => {
    const end = metrics.barWriteDuration.startTimer();
    const spans = touchedSpans(ticks);
    await client.query('savepoint bars');
    let counts: Record<string, number>;
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

/** Per symbol and minute, the time span the ticks cover. */
function touchedSpans(ticks: TickColumns): TouchedSpan[] {
  const spans = new Map<string, TouchedSpan>();
  for (let i = 0; i < ticks.symbols.length; i++) {
    const symbol = ticks.symbols[i] as string;
    const t = ticks.timesUs[i] as number;
    const key = `${symbol}\u0000${Math.floor(t / 60_000_000)}`;
    const span = spans.get(key);
    if (!span) spans.set(key, { symbol, exchange: ticks.exchanges[i] as string, fromUs: t, toUs: t });
    else {
      if (t < span.fromUs) span.fromUs = t;
      if (t > span.toUs) span.toUs = t;
    }
  }
  return [...spans.values()];
}

function describeSpan(s: TouchedSpan) {
  return { symbol: s.symbol, from: usToIso(s.fromUs), to: usToIso(s.toUs + 999) };
}
