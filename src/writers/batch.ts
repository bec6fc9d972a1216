import { type CopyRows, lineStart, textLength, writeId } from '../copy-rows.js';
import { unpackBytes } from '../packed.js';
import {
  type PartitionOffset,
  partitionKey,
  type SourceBatch,
  type SourceRef,
  TABLES,
  type TableName,
  type TickColumns,
  type TickIds,
} from '../records.js';
import { joinTicks } from '../tick-columns.js';
import { TickIdDigits } from '../tick-id-blocks.js';

/** The messages `indexes` of a Kafka batch, as dead letters name them. */
export function sourceRefs(origin: SourceBatch, indexes: readonly number[]): SourceRef[] {
  if (indexes.length === 0) return [];
  const keys = unpackBytes(origin.keys);
  const values = unpackBytes(origin.values);
  return indexes.map((m) => ({
    topic: origin.topic,
    partition: origin.partition,
    offset: String(origin.offsets[m]),
    key: keys[m] ?? null,
    value: values[m] ?? null,
    timestampMs: origin.timestampsMs[m] as number,
  }));
}

/** Rows of one table from one Kafka batch (tick rows with their values, row by row). */
export interface RowsPart {
  rows: CopyRows;
  origin: SourceBatch;
  ticks?: TickColumns;
}

/**
 * The rows of one table in a flush: parts (one per Kafka batch) of COPY text. Row i counts across
 * the parts in order. A selection (ascending row numbers) stands for a subset: the rows to store
 * after the trade numbers, or a half in a bisection.
 */
export class TableRows {
  parts: RowsPart[] = [];
  length = 0;
  bytes = 0;

  add(rows: CopyRows, origin: SourceBatch, ticks?: TickColumns): void {
    if (rows.ends.length === 0) return;
    this.parts.push({ rows, origin, ticks });
    this.length += rows.ends.length;
    this.bytes += textLength(rows);
  }

  /** The message row `i` came from: enough to dead-letter it unchanged. */
  source(i: number): SourceRef {
    for (const { rows, origin } of this.parts) {
      if (i >= rows.ends.length) {
        i -= rows.ends.length;
        continue;
      }
      return sourceRefs(origin, [rows.messages[i] as number])[0] as SourceRef;
    }
    throw new RangeError(`row ${i} past the table's rows`);
  }

  /** The COPY text of the rows (all, or the selection), as buffers to write in order. */
  pieces(selection?: readonly number[]): Buffer[] {
    const out: Buffer[] = [];
    const view = (rows: CopyRows, from: number, to: number) =>
      Buffer.from(rows.text.buffer, rows.text.byteOffset + from, to - from);
    if (!selection) {
      for (const { rows } of this.parts) out.push(view(rows, 0, textLength(rows)));
      return out;
    }
    // Consecutive selected lines of a part go out as one piece.
    let run: CopyRows | undefined;
    let from = 0;
    let to = 0;
    this.eachSelected(selection, (rows, r) => {
      const start = lineStart(rows, r);
      if (rows !== run || start !== to) {
        if (run) out.push(view(run, from, to));
        run = rows;
        from = start;
      }
      to = rows.ends[r] as number;
    });
    if (run) out.push(view(run, from, to));
    return out;
  }

  /** Bytes of the selected rows' text. */
  bytesOf(selection: readonly number[]): number {
    let n = 0;
    this.eachSelected(selection, (rows, r) => {
      n += (rows.ends[r] as number) - lineStart(rows, r);
    });
    return n;
  }

  /** Writes the k-th id into the id field of the k-th row (of the selection, or of all rows). */
  writeIds(ids: TickIds, selection?: readonly number[]): void {
    const digits = new TickIdDigits(ids);
    if (selection) this.eachSelected(selection, (rows, r) => writeId(rows, r, digits.next()));
    else
      for (const { rows } of this.parts)
        for (let r = 0; r < rows.ends.length; r++) writeId(rows, r, digits.next());
  }

  /** Calls `fn` with the part and local row of each selected row, in order. */
  private eachSelected(selection: readonly number[], fn: (rows: CopyRows, r: number) => void): void {
    let p = 0;
    let base = 0;
    for (const i of selection) {
      let part = this.parts[p];
      while (part && i >= base + part.rows.ends.length) {
        base += part.rows.ends.length;
        part = this.parts[++p];
      }
      if (!part || i < base) throw new RangeError(`selection not ascending or past the rows at ${i}`);
      fn(part.rows, i - base);
    }
  }

  /** Keeps the parts whose origin passes `keep`. */
  keepParts(keep: (origin: SourceBatch) => boolean): void {
    this.parts = this.parts.filter((p) => keep(p.origin));
    this.length = this.parts.reduce((n, p) => n + p.rows.ends.length, 0);
    this.bytes = this.parts.reduce((n, p) => n + textLength(p.rows), 0);
  }
}

/**
 * What one flush writes: the rows read since the last flush, per table (the ticks also column by
 * column, for the bars and trade numbers), and per partition the offsets they advance. Pure
 * bookkeeping: the pipeline decides when to close it, the sink writes it.
 */
export class FlushBatch {
  readonly tables: Record<TableName, TableRows> = {
    market_ticks: new TableRows(),
    order_book_snapshots: new TableRows(),
    profitdll_callbacks: new TableRows(),
  };
  readonly offsets = new Map<string, PartitionOffset>();

  constructor(readonly openedAtMs: number) {}

  get rows(): number {
    return TABLES.reduce((n, t) => n + this.tables[t].length, 0);
  }

  get bytes(): number {
    return TABLES.reduce((n, t) => n + this.tables[t].bytes, 0);
  }

  /** The tick rows' values column by column (row i of each is row i of `tables.market_ticks`), built on each call. */
  tickColumns(): TickColumns {
    return joinTicks(this.tables.market_ticks.parts.flatMap((p) => (p.ticks ? [p.ticks] : [])));
  }

  /**
   * The rows one Kafka batch decoded into: `rows` per table in TABLES order, `ticks` the values of
   * its tick rows.
   */
  add(origin: SourceBatch, rows: readonly CopyRows[], ticks: TickColumns): void {
    TABLES.forEach((t, k) => {
      const r = rows[k];
      if (r) this.tables[t].add(r, origin, t === 'market_ticks' ? ticks : undefined);
    });
  }

  /**
   * Messages `fromOffset` .. `lastOffset` of a partition were handled (stored here or dead-lettered):
   * the partition moves on. Its batch still starts where its first messages started.
   */
  advance(topic: string, partition: number, fromOffset: string, lastOffset: string, epoch: string): void {
    const key = partitionKey(topic, partition);
    this.offsets.set(key, {
      topic,
      partition,
      fromOffset: this.offsets.get(key)?.fromOffset ?? fromOffset,
      nextOffset: (BigInt(lastOffset) + 1n).toString(),
      epoch,
    });
  }

  /**
   * Frees the batch's bytes (COPY text, messages, tick values) at once, once it is stored: left to the
   * collector they outlive the young generation and wait for the next full collection, so they were
   * tens of MB of dead bytes at the peak. The batch must not be read afterwards.
   */
  release(): void {
    for (const t of TABLES)
      for (const { rows, origin, ticks } of this.tables[t].parts) {
        free(rows.text, rows.ends, rows.messages, origin.offsets, origin.timestampsMs);
        free(origin.keys.data, origin.keys.lengths, origin.values.data, origin.values.lengths);
        if (ticks)
          free(
            ticks.symbols.at,
            ticks.exchanges.at,
            ticks.prices.at,
            ticks.volumes.at,
            ticks.timesUs,
            ticks.tradeNumbers,
          );
      }
  }

  /** Nothing to write and no offset to move. */
  get isEmpty(): boolean {
    return this.offsets.size === 0;
  }

  /** Drop the rows and offsets of these partitions (fenced, or already stored). Returns rows dropped. */
  dropPartitions(keys: ReadonlySet<string>): number {
    const before = this.rows;
    for (const t of TABLES) this.tables[t].keepParts((o) => !keys.has(partitionKey(o.topic, o.partition)));
    for (const k of keys) this.offsets.delete(k);
    return before - this.rows;
  }
}

/** Detaches the arrays' buffers, which frees their memory now (ArrayBuffer#transfer). */
function free(...views: ArrayBufferView[]): void {
  for (const { buffer } of views) {
    try {
      (buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
    } catch {
      // Node's shared pool (not detachable) or already detached: the collector's then.
    }
  }
}

export interface BatchLimits {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
}

/** Holds the open batch and says when it is due: on rows, bytes, or age since its first message. */
export class BatchBuffer {
  private current: FlushBatch | undefined;

  constructor(
    private readonly limits: BatchLimits,
    private readonly now: () => number,
  ) {}

  /** The open batch, opened on first use so its age counts from its first message. */
  open(): FlushBatch {
    this.current ??= new FlushBatch(this.now());
    return this.current;
  }

  get rows(): number {
    return this.current?.rows ?? 0;
  }

  isDue(): boolean {
    const b = this.current;
    if (!b || b.isEmpty) return false;
    return (
      b.rows >= this.limits.maxRows ||
      b.bytes >= this.limits.maxBytes ||
      this.now() - b.openedAtMs >= this.limits.maxAgeMs
    );
  }

  /** Milliseconds until the open batch is due by age (undefined when nothing is open). */
  msUntilDue(): number | undefined {
    if (!this.current || this.current.isEmpty) return undefined;
    return Math.max(0, this.current.openedAtMs + this.limits.maxAgeMs - this.now());
  }

  /** Hand back the open batch (if it holds anything) and start afresh. */
  take(): FlushBatch | undefined {
    const b = this.current;
    this.current = undefined;
    return b && !b.isEmpty ? b : undefined;
  }
}
