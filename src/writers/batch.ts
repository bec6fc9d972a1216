/**
 * A batch: the rows read since the last flush, per table, with the offsets they advance.
 * Pure bookkeeping: the pipeline decides when to close it, the sink writes it.
 */
import {
  emptyTickColumns,
  type PartitionOffset,
  partitionKey,
  type SourceRef,
  TABLES,
  type TableName,
  type TickColumns,
} from '../records.js';

export interface TableRows {
  lines: string[];
  sources: SourceRef[];
  bytes: number;
}

export class Batch {
  readonly tables: Record<TableName, TableRows> = {
    market_ticks: { lines: [], sources: [], bytes: 0 },
    order_book_snapshots: { lines: [], sources: [], bytes: 0 },
    profitdll_callbacks: { lines: [], sources: [], bytes: 0 },
  };
  readonly offsets = new Map<string, PartitionOffset>();
  /** The values of the market_ticks rows, row i of each column for line i: what the bars are made of. */
  readonly ticks: TickColumns = emptyTickColumns();
  /** Kafka timestamps of the messages, for the end-to-end latency histogram. */
  readonly messageTimestamps: number[] = [];
  rows = 0;
  bytes = 0;

  constructor(readonly openedAtMs: number) {}

  addRow(table: TableName, line: string, source: SourceRef): void {
    const t = this.tables[table];
    t.lines.push(line);
    t.sources.push(source);
    t.bytes += line.length;
    this.rows += 1;
    this.bytes += line.length;
  }

  /** Append tick values, in the order their market_ticks lines were added. */
  addTicks(ticks: TickColumns): void {
    const c = this.ticks;
    for (let i = 0; i < ticks.symbols.length; i++) {
      c.symbols.push(ticks.symbols[i] as string);
      c.exchanges.push(ticks.exchanges[i] as string);
      c.prices.push(ticks.prices[i] as string);
      c.volumes.push(ticks.volumes[i] as string);
      c.timesUs.push(ticks.timesUs[i] as number);
      c.tradeIds.push(ticks.tradeIds[i] as string | null);
    }
  }

  /** Record that messages up to `lastOffset` were handled (stored or dead-lettered): the partition moves on. */
  advance(topic: string, partition: number, lastOffset: string, epoch: string): void {
    this.offsets.set(partitionKey(topic, partition), {
      topic,
      partition,
      nextOffset: (BigInt(lastOffset) + 1n).toString(),
      epoch,
    });
  }

  /** Move everything of `other` (rows decoded from one Kafka batch) into this batch. */
  absorb(other: Batch): void {
    for (const t of TABLES) {
      const into = this.tables[t];
      const from = other.tables[t];
      for (let i = 0; i < from.lines.length; i++) {
        into.lines.push(from.lines[i] as string);
        into.sources.push(from.sources[i] as SourceRef);
      }
      into.bytes += from.bytes;
    }
    for (const [k, o] of other.offsets) this.offsets.set(k, o);
    this.addTicks(other.ticks);
    for (const ts of other.messageTimestamps) this.messageTimestamps.push(ts);
    this.rows += other.rows;
    this.bytes += other.bytes;
  }

  get isEmpty(): boolean {
    return this.offsets.size === 0;
  }

  /** Drop the rows and offsets of partitions this replica no longer owns. Returns rows dropped. */
  dropPartitions(keys: ReadonlySet<string>): number {
    let dropped = 0;
    for (const t of TABLES) {
      const rows = this.tables[t];
      const keep: number[] = [];
      rows.sources.forEach((s, i) => {
        if (!keys.has(partitionKey(s.topic, s.partition))) keep.push(i);
      });
      if (keep.length === rows.lines.length) continue;
      if (t === 'market_ticks') {
        const c = this.ticks;
        c.symbols = keep.map((i) => c.symbols[i] as string);
        c.exchanges = keep.map((i) => c.exchanges[i] as string);
        c.prices = keep.map((i) => c.prices[i] as string);
        c.volumes = keep.map((i) => c.volumes[i] as string);
        c.timesUs = keep.map((i) => c.timesUs[i] as number);
        c.tradeIds = keep.map((i) => c.tradeIds[i] as string | null);
      }
      dropped += rows.lines.length - keep.length;
      rows.lines = keep.map((i) => rows.lines[i] as string);
      rows.sources = keep.map((i) => rows.sources[i] as SourceRef);
      rows.bytes = rows.lines.reduce((n, l) => n + l.length, 0);
    }
    for (const k of keys) this.offsets.delete(k);
    this.rows -= dropped;
    this.bytes = TABLES.reduce((n, t) => n + this.tables[t].bytes, 0);
    return dropped;
  }
}

export interface BatchLimits {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
}

/** Holds the open batch and says when it is due: on rows, bytes, or age since its first message. */
export class BatchBuffer {
  private current: Batch | undefined;

  constructor(
    private readonly limits: BatchLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** The open batch, opened on first use so its age counts from its first message. */
  open(): Batch {
    this.current ??= new Batch(this.now());
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
  take(): Batch | undefined {
    const b = this.current;
    this.current = undefined;
    return b && !b.isEmpty ? b : undefined;
  }
}
