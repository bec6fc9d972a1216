/**
 * The records every stage shares: which tables rows go to, where a message came from, and the
 * offsets a write advances. Sources, decoders and sinks import this module, never each other.
 */
export const TABLES = ['market_ticks', 'order_book_snapshots', 'profitdll_callbacks'] as const;
export type TableName = (typeof TABLES)[number];

/** Byte strings (message keys or values, some null) back to back in one array. */
export interface PackedBytes {
  data: Uint8Array;
  /** Length of each entry, -1 for null. */
  lengths: Int32Array;
}

/**
 * A Kafka batch's messages, packed: each key and value copied once into one array. So they are
 * kept until their rows commit, and sent to the decode thread, without holding the Kafka client's
 * objects (which would then survive into the old generation).
 */
export interface PackedMessages {
  /** In a typed array, not as a text per message: a batch lives until its rows commit. */
  offsets: BigInt64Array;
  /** Kafka timestamp of each message, ms since the epoch. */
  timestampsMs: Float64Array;
  keys: PackedBytes;
  values: PackedBytes;
}

/** Messages of one partition, in offset order, from `fromOffset` (the position they continue). */
export interface SourceBatch extends PackedMessages {
  topic: string;
  partition: number;
  /** Where this batch continues the partition: the claimed offset, or the previous batch's last + 1. */
  fromOffset: string;
}

/** The low and high watermarks of a partition: its log is [low, high). */
export interface Watermarks {
  low: string;
  high: string;
}

/** Where a row came from: enough to dead-letter its message unchanged. */
export interface SourceRef {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  /** Where the batch starts: the stored next offset it must find (compare-and-set). */
  fromOffset: string;
  /** The next offset to read: last handled offset + 1 (what Kafka and our offsets table store). */
  nextOffset: string;
  /** The epoch of the claim under which these rows were read: the write is fenced on it. */
  epoch: string;
}

/** A column of texts that repeat: each distinct text once, and per row the index of its text. */
export interface RepeatedTexts {
  texts: string[];
  at: Int32Array;
}

/**
 * A batch's ticks column by column, row i of each in COPY order: what the bars and the trade numbers
 * are made of. No string or object per row (a batch's rows live until their flush commits, and what
 * outlives the young generation is what the collector works for): repeated texts once each, times
 * and trade numbers in typed arrays. `src/tick-columns.ts` builds and reads them.
 */
export interface TickColumns {
  symbols: RepeatedTexts;
  exchanges: RepeatedTexts;
  /** Canonical exact decimal text ("30.12"), as stored. */
  prices: RepeatedTexts;
  volumes: RepeatedTexts;
  /** tick_time in µs since the epoch. */
  timesUs: Float64Array;
  /** The exchange's trade number when it is a safe integer; NaN when the message had none or when it is larger. */
  tradeNumbers: Float64Array;
  /** By row, the canonical text of the trade numbers past ±(2^53 - 1). */
  largeTradeIds: Map<number, string>;
}

/**
 * A flush's tick ids (market_ticks.id) as the blocks the sequence gave (writers/tick-ids.ts): row k
 * of block b has the id `starts[b] + (k - ends[b - 1])`. No string or number per row; read and
 * written through `src/tick-id-blocks.ts`.
 */
export interface TickIds {
  starts: bigint[];
  /** The row after each block's last (ascending; the last is the number of ids). */
  ends: number[];
}

export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
