import { type CopyRows, CopyRowsBuilder, ID_WIDTH } from '../copy-rows.js';
import { TABLES, type TickColumns } from '../records.js';
import { TickColumnsBuilder } from '../tick-columns.js';
import { bookLine, callbackLine, tickLine } from './copy-format.js';
import { decodeBook, decodeCallback, decodeTick } from './decode.js';
import { FastScanner, type TickValues } from './fast-scan.js';
import type { CallbackStatus, DecodeContext, Decoded, DecodeErrorCode } from './types.js';

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
 * One Kafka batch decoded into COPY text, as flat arrays (they cross a thread boundary by
 * structured clone, where typed arrays are transferred and objects would be rebuilt one by one).
 */
export interface DecodedBatch {
  /** Each table's rows, in TABLES order; tick lines start with an id field (copy-rows.ts). */
  rows: CopyRows[];
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
  // The topic's own table gets room for about the input's size: a line is about as long as its message.
  let inputBytes = 0;
  for (const v of values) inputBytes += v ? v.length + ID_WIDTH + 1 : 0;
  const main = kind === 'ticks' ? TICKS : kind === 'book' ? BOOKS : CALLBACKS;
  const out: Building = {
    rows: TABLES.map((_, t) => new CopyRowsBuilder(t === TICKS, t === main ? inputBytes : 0)),
    ticks: new TickColumnsBuilder(),
    callbackStatuses: [],
    invalid: [],
  };
  for (let i = 0; i < values.length; i++) {
    ctx.recordTimeUs = (timestampsMs[i] ?? 0) * 1000;
    const value = values[i] ?? null;
    if (fast !== null && value !== null) {
      if (kind === 'ticks') {
        if (fast.scanTick(value, ctx, out.rows[TICKS] as CopyRowsBuilder, i)) {
          addTickValues(out, fast.tick);
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
    for (const t of d.ticks) {
      addRow(out, TICKS, tickLine(t), i);
      addTickValues(out, t);
    }
    for (const b of d.books) addRow(out, BOOKS, bookLine(b), i);
    for (const c of d.callbacks) {
      addRow(out, CALLBACKS, callbackLine(c), i);
      out.callbackStatuses.push(c.status);
    }
  }
  return { ...out, rows: out.rows.map((b) => b.build()), ticks: out.ticks.build() };
}

/** A DecodedBatch while its rows are being collected. */
type Building = Omit<DecodedBatch, 'rows' | 'ticks'> & { rows: CopyRowsBuilder[]; ticks: TickColumnsBuilder };

function addTickValues(out: Building, t: TickValues): void {
  out.ticks.add(t.symbol, t.exchange, t.price, t.volume, t.tickTimeUs, t.tradeId);
}

function addRow(out: Building, table: number, line: string, message: number): void {
  (out.rows[table] as CopyRowsBuilder).add(line, message);
}
