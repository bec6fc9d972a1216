import type { Expected } from '../feed/mix.js';
import type { WorkerFigures } from './scrape.js';

/** The demo's screen: the live progress lines and the closing report. Pure: figures in, lines out. */

const n = (v: number) => Math.round(v).toLocaleString('en-US');

export interface ProgressView {
  elapsedS: number;
  sent: number;
  target: number;
  sendRate: number;
  worker: WorkerFigures | undefined;
  rowRates: Record<string, number>;
}

/** Four lines under 80 columns, so redrawing them in place never meets a wrapped line. */
export function progressLines(v: ProgressView): string[] {
  const bar = '#'.repeat(Math.round((16 * v.sent) / Math.max(1, v.target))).padEnd(16, '.');
  const feed = `feed    [${bar}] ${n(v.sent)}/${n(v.target)} sent  ${n(v.sendRate)} msg/s  ${v.elapsedS.toFixed(0)} s`;
  const w = v.worker;
  if (!w) return [feed, 'worker  waiting for /metrics ...', '', ''];
  const r = v.rowRates;
  const rowsPerS = Object.values(r).reduce((a, b) => a + b, 0);
  const rows = Object.values(w.rowsByTable).reduce((a, b) => a + b, 0);
  return [
    feed,
    `rows/s  ${n(rowsPerS)}  (ticks ${n(r.market_ticks ?? 0)}  books ${n(r.order_book_snapshots ?? 0)}  callbacks ${n(r.profitdll_callbacks ?? 0)})`,
    `worker  rows ${n(rows)}  consumed ${n(w.consumed)}  lag ${n(w.lag)}  buffer ${n(w.bufferRows)}`,
    `        DLQ ${n(w.deadLettered)}  duplicates ${n(w.duplicateTrades)}  holes ${n(w.feedGapsOpen)}  bars ${n(w.barsUpserted)}  rss ${n(w.residentBytes / 2 ** 20)} MiB`,
  ];
}

export interface Landed {
  marketTicks: number;
  bookSnapshots: number;
  callbacks: { PROCESSED: number; FAILED: number; SKIPPED: number };
  deadLetters: number;
  /** From the worker's tick_ingest_duplicate_trades_total. */
  duplicateTrades: number;
  /** data_capture.feed_gaps rows still open. */
  openHoles: number;
}

export interface Check {
  what: string;
  expected: number;
  landed: number;
}

/** Every figure the feed predicts, beside what the database and the dead-letter topic hold. */
export function checks(e: Expected, l: Landed): Check[] {
  return [
    { what: 'data_capture.market_ticks', expected: e.marketTicks, landed: l.marketTicks },
    { what: 'data_capture.order_book_snapshots', expected: e.bookSnapshots, landed: l.bookSnapshots },
    ...(['PROCESSED', 'FAILED', 'SKIPPED'] as const).map((s) => ({
      what: `data_capture.profitdll_callbacks ${s}`,
      expected: e.callbacks[s],
      landed: l.callbacks[s],
    })),
    { what: 'dead-letter topic', expected: e.deadLetters, landed: l.deadLetters },
    { what: 'duplicate trades skipped (metric)', expected: e.duplicateTrades, landed: l.duplicateTrades },
    { what: 'data_capture.feed_gaps open holes', expected: e.holes, landed: l.openHoles },
  ];
}

export function checkLines(list: Check[]): string[] {
  const width = Math.max(...list.map((c) => c.what.length));
  return [
    `${'table'.padEnd(width)}  ${'expected'.padStart(9)}  ${'landed'.padStart(9)}`,
    ...list.map(
      (c) =>
        `${c.what.padEnd(width)}  ${n(c.expected).padStart(9)}  ${n(c.landed).padStart(9)}  ${c.expected === c.landed ? 'ok' : 'MISMATCH'}`,
    ),
  ];
}

export interface BarRow {
  symbol: string;
  bar_time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trade_count: number;
}

export function barLines(rows: BarRow[]): string[] {
  if (rows.length === 0) return ['(ohlcv_bars has no 1m bars: the bar builder did not run in this worker)'];
  const cols = ['symbol', 'bar_time', 'open', 'high', 'low', 'close', 'volume', 'trade_count'] as const;
  const cells = rows.map((r) => cols.map((c) => String(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  return [line(cols), ...cells.map(line)];
}
