/**
 * Reading the worker's /metrics the way Prometheus does, reduced to the figures the demo shows.
 * Pure: text in, numbers out.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parse the Prometheus text exposition format (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      if (l[1] !== undefined)
        labels[l[1]] = (l[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples, optionally grouped by one label. */
export function sumBy(samples: Sample[], name: string, label?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = label ? (s.labels[label] ?? '') : '';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

export interface WorkerFigures {
  rowsByTable: Record<string, number>;
  consumed: number;
  lag: number;
  deadLettered: number;
  barsUpserted: number;
  bufferRows: number;
  residentBytes: number;
  duplicateTrades: number;
  feedGapsOpen: number;
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

export function workerFigures(samples: Sample[]): WorkerFigures {
  return {
    rowsByTable: sumBy(samples, 'tick_ingest_rows_written_total', 'table'),
    consumed: total(sumBy(samples, 'tick_ingest_messages_consumed_total')),
    lag: total(sumBy(samples, 'tick_ingest_consumer_lag')),
    deadLettered: total(sumBy(samples, 'tick_ingest_dead_lettered_total')),
    barsUpserted: total(sumBy(samples, 'tick_ingest_bars_upserted_total')),
    bufferRows: total(sumBy(samples, 'tick_ingest_buffer_rows')),
    residentBytes: total(sumBy(samples, 'tick_ingest_process_resident_memory_bytes')),
    duplicateTrades: total(sumBy(samples, 'tick_ingest_duplicate_trades_total')),
    feedGapsOpen: total(sumBy(samples, 'tick_ingest_feed_gaps_open')),
  };
}

/** Rows per second per table between two scrapes `seconds` apart. */
export function rowRates(
  before: WorkerFigures,
  after: WorkerFigures,
  seconds: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [table, n] of Object.entries(after.rowsByTable)) {
    out[table] = seconds > 0 ? (n - (before.rowsByTable[table] ?? 0)) / seconds : 0;
  }
  return out;
}
