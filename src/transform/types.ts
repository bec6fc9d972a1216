/** The rows the decoders produce, one interface per table, and the decoders' result. */

/**
 * Context of one decode: the exchange time zone, the plausibility windows and the message's own
 * Kafka timestamp. No clock: a message's verdict depends on the message and its metadata only, so
 * reading it again after a crash gives the same verdict.
 */
export interface DecodeContext {
  /** IANA zone of ProfitDLL's local `dd/MM/yyyy HH:mm:ss.SSS` timestamps. */
  timeZone: string;
  /** Timestamps later than recordTimeUs + futureWindowUs are rejected. */
  futureWindowUs: number;
  /** Timestamps earlier than recordTimeUs - pastWindowUs are rejected. */
  pastWindowUs: number;
  /** The Kafka record's timestamp in µs since the epoch; 0 or less (none) skips both windows. */
  recordTimeUs: number;
}

export type Aggressor = 'BUY' | 'SELL' | 'NEUTRAL';

/** Decimals are canonical exact text ("30.12"); times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff+00' plus µs since the epoch. */
export interface TickRow {
  symbol: string;
  exchange: string;
  price: string;
  volume: string;
  aggressor: Aggressor;
  tickTime: string;
  tickTimeUs: number;
  source: string;
  /** The exchange's trade number (bigint as decimal text), null when the message has none. */
  tradeId: string | null;
}

export interface BookLevel {
  price: string;
  volume: string;
}

export interface BookRow {
  symbol: string;
  exchange: string;
  bids: BookLevel[];
  asks: BookLevel[];
  bestBid: string;
  bestAsk: string;
  spread: string;
  totalBidVolume: string;
  totalAskVolume: string;
  snapshotTime: string;
  snapshotTimeUs: number;
}

export const CALLBACK_TYPES = ['STATE', 'TRADE', 'OFFER_BOOK', 'PRICE_DEPTH', 'ORDER'] as const;
export type CallbackType = (typeof CALLBACK_TYPES)[number];
export type CallbackStatus = 'PROCESSED' | 'FAILED' | 'SKIPPED';

export interface CallbackRow {
  callbackType: CallbackType;
  /** JSON text of the payload, numbers exactly as received, no NUL. */
  payload: string;
  callbackTime: string;
  callbackTimeUs: number;
  status: CallbackStatus;
  errorMessage: string | null;
}

/** Bounded set: usable as a metrics label. */
export type DecodeErrorCode =
  | 'empty_value' // null (tombstone) or empty value
  | 'bad_unicode' // invalid UTF-8 bytes or a lone surrogate escape
  | 'nul_byte' // NUL raw or as \u0000: PostgreSQL text cannot hold it
  | 'not_json' // also: nested deeper than 64 levels
  | 'not_object'
  | 'missing_field'
  | 'invalid_field'
  | 'invalid_book'; // empty side, side out of order, crossed book

export interface DecodeError {
  code: DecodeErrorCode;
  /** Path of the offending field, e.g. "price" or "bids[2].volume". */
  field?: string;
  /** Human: which field and why. */
  message: string;
}

export type Decoded =
  | { ok: true; ticks: TickRow[]; books: BookRow[]; callbacks: CallbackRow[] }
  | { ok: false; error: DecodeError };
