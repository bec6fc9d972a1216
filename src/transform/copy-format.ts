import type { BookLevel, BookRow, CallbackRow, TickRow } from './types.js';

/**
 * PostgreSQL COPY text format, one '\n'-terminated line per row, columns tab-separated in the
 * order of the *_COLUMNS lists (use them in the COPY statement). Rows come from the decoders,
 * which have already refused NUL, the one character COPY text cannot carry.
 */

export const TICK_COLUMNS = [
  'symbol',
  'exchange',
  'price',
  'volume',
  'aggressor',
  'tick_time',
  'source',
  'trade_id',
] as const;
export const BOOK_COLUMNS = [
  'symbol',
  'exchange',
  'bids',
  'asks',
  'best_bid',
  'best_ask',
  'spread',
  'total_bid_volume',
  'total_ask_volume',
  'snapshot_time',
] as const;
export const CALLBACK_COLUMNS = [
  'callback_type',
  'payload',
  'callback_time',
  'status',
  'error_message',
] as const;

/** COPY's null marker. */
export const COPY_NULL = '\\N';

// Backslash, the column delimiter and the row delimiters; \b \f \v are escaped too, as PostgreSQL does itself.
const ESCAPABLE = /[\\\t\n\r\b\f\v]/g;
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
};
const escapeOne = (c: string) => ESCAPES[c] as string;

/** A value as COPY text: unchanged unless it holds a character that needs a backslash escape. */
export function escapeCopyText(s: string): string {
  // A loop, not a regex test: most values are a few characters, where a regex call costs more.
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 92 || (c >= 8 && c <= 13)) return s.replace(ESCAPABLE, escapeOne); // \\, \b \t \n \v \f \r
  }
  return s;
}

/** One book level as jsonb text, decimals (canonical) as exact JSON numbers: {"price":30.12,"volume":100}. */
export const levelJson = (price: string, volume: string) => `{"price":${price},"volume":${volume}}`;

/** A book side as jsonb text: [{"price":30.12,"volume":100}]. */
export function levelsJson(levels: readonly BookLevel[]): string {
  let out = '[';
  for (let k = 0; k < levels.length; k++) {
    const l = levels[k] as BookLevel;
    out += `${k ? ',' : ''}${levelJson(l.price, l.volume)}`;
  }
  return `${out}]`;
}

// Decimals, times, aggressors, statuses and level JSON are built from digits and fixed words: no escaping.

export function tickLine(r: TickRow): string {
  return `${escapeCopyText(r.symbol)}\t${escapeCopyText(r.exchange)}\t${r.price}\t${r.volume}\t${r.aggressor}\t${r.tickTime}\t${escapeCopyText(r.source)}\t${r.tradeId ?? COPY_NULL}\n`;
}

export function bookLine(r: BookRow): string {
  return bookLineWithSides(r, levelsJson(r.bids), levelsJson(r.asks));
}

/** A book line whose sides are jsonb text already (the fast path writes them as it scans). */
export function bookLineWithSides(r: Omit<BookRow, 'bids' | 'asks'>, bids: string, asks: string): string {
  return `${escapeCopyText(r.symbol)}\t${escapeCopyText(r.exchange)}\t${bids}\t${asks}\t${r.bestBid}\t${r.bestAsk}\t${r.spread}\t${r.totalBidVolume}\t${r.totalAskVolume}\t${r.snapshotTime}\n`;
}

export function callbackLine(r: CallbackRow): string {
  const error = r.errorMessage === null ? COPY_NULL : escapeCopyText(r.errorMessage);
  return `${r.callbackType}\t${escapeCopyText(r.payload)}\t${r.callbackTime}\t${r.status}\t${error}\n`;
}
