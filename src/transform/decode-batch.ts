import { emptyTickColumns, TABLES, type TableName, type TickColumns } from '../records.js';
import { bookLine, callbackLine, tickLine } from './copy-format.js';
import { decodeBook, decodeCallback, decodeTick } from './decode.js';
import { FastScanner } from './fast-scan.js';
import type { CallbackStatus, DecodeContext, Decoded, DecodeErrorCode, TickRow } from './types.js';

export type TopicKind = 'ticks' | 'book' | 'callbacks';

const TICKS = TABLES.indexOf('market_ticks');
const BOOKS = TABLES.indexOf('order_book_snapshots');
const CALLBACKS = TABLES.indexOf('profitdll_callbacks');

const DECODERS: Record<TopicKind, (value: Buffer | null, ctx: DecodeContext) => Decoded> = {
  ticks: decodeTick,
  book: decodeBook,
  callbacks: decodeCallback,
};

/**
 * One Kafka batch decoded into COPY lines, as flat arrays (they cross a thread boundary by
 * structured clone, where arrays of strings and numbers are cheap and objects are not).
 * Row i is `lines[i]` for table TABLES[tables[i]], from message `messages[i]` (an index into the values).
 */
export interface DecodedBatch {
  lines: string[];
  tables: number[];
  messages: number[];
  /** The tick rows' values, in row order (for the bars and the trade numbers). */
  ticks: TickColumns;
  /** Status of every callback row, in row order. */
  callbackStatuses: CallbackStatus[];
  invalid: { message: number; code: DecodeErrorCode; text: string }[];
}

/** What every message of a batch is judged by, besides its own Kafka timestamp. */
export type BatchContext = Omit<DecodeContext, 'recordTimeUs'>;

/**
 * Decode, validate and format every message value of one batch; `timestampsMs[i]` is message i's
 * Kafka timestamp. Pure (no clock): the verdicts depend on the messages alone. Never throws on input.
 * Ticks and books of the common shape take the fast path (fast-scan.ts), the rest the general one.
 */
export function decodeBatch(
  kind: TopicKind,
  values: readonly (Buffer | null)[],
  timestampsMs: ArrayLike<number>,
  batchCtx: BatchContext,
): DecodedBatch {
  return decodeAll(kind, values, timestampsMs, batchCtx, kind === 'callbacks' ? null : new FastScanner());
}

/** decodeBatch by the general path alone: what the fast path is held to (tests, bench). */
export function decodeBatchGeneral(
  kind: TopicKind,
  values: readonly (Buffer | null)[],
  timestampsMs: ArrayLike<number>,
  batchCtx: BatchContext,
): DecodedBatch {
  return decodeAll(kind, values, timestampsMs, batchCtx, null);
}

function decodeAll(
  kind: TopicKind,
  values: readonly (Buffer | null)[],
  timestampsMs: ArrayLike<number>,
  batchCtx: BatchContext,
  fast: FastScanner | null,
): DecodedBatch {
  const decode = DECODERS[kind];
  const ctx: DecodeContext = { ...batchCtx, recordTimeUs: 0 };
  const out: DecodedBatch = {
    lines: [],
    tables: [],
    messages: [],
    ticks: emptyTickColumns(),
    callbackStatuses: [],
    invalid: [],
  };
  for (let i = 0; i < values.length; i++) {
    ctx.recordTimeUs = (timestampsMs[i] ?? 0) * 1000;
    const value = values[i] ?? null;
    if (fast !== null && value !== null) {
      if (kind === 'ticks') {
        const line = fast.scanTick(value, ctx);
        if (line !== null) {
          addTick(out, line, fast.tick, i);
          continue;
        }
      } else {
        const line = fast.scanBook(value, ctx);
        if (line !== null) {
          addRow(out, BOOKS, line, i);
          continue;
        }
      }
    }
    const d = decode(value, ctx);
    if (!d.ok) {
      out.invalid.push({ message: i, code: d.error.code, text: d.error.message });
      continue;
    }
    for (const t of d.ticks) addTick(out, tickLine(t), t, i);
    for (const b of d.books) addRow(out, BOOKS, bookLine(b), i);
    for (const c of d.callbacks) {
      addRow(out, CALLBACKS, callbackLine(c), i);
      out.callbackStatuses.push(c.status);
    }
  }
  return out;
}

/** The table of row `i`. */
export const tableOfRow = (d: DecodedBatch, i: number): TableName =>
  TABLES[d.tables[i] as number] as TableName;

function addTick(out: DecodedBatch, line: string, t: TickRow, message: number): void {
  addRow(out, TICKS, line, message);
  const c = out.ticks;
  c.symbols.push(t.symbol);
  c.exchanges.push(t.exchange);
  c.prices.push(t.price);
  c.volumes.push(t.volume);
  c.timesUs.push(t.tickTimeUs);
  c.tradeIds.push(t.tradeId);
}

function addRow(out: DecodedBatch, table: number, line: string, message: number): void {
  out.lines.push(line);
  out.tables.push(table);
  out.messages.push(message);
}
