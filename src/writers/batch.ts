import {
  emptyTickColumns,
  type PartitionOffset,
  partitionKey,
  type SourceRef,
  TABLES,
  type TableName,
  type TickColumns,
} from '../records.js';

/** The rows of one table: COPY text lines and, row by row, the message each came from. */
export interface TableRows {
  lines: string[];
  sources: SourceRef[];
  bytes: number;
}

/**
 * What one flush writes: the rows read since the last flush, per table (the ticks also column by
 * column, for the bars and trade numbers), and per partition the offsets they advance. Pure
 * bookkeeping: the pipeline decides when to close it, the sink writes it.
 */
export class FlushBatch {
  readonly tables: Record<TableName, TableRows> = {
    market_ticks: { lines: [], sources: [], bytes: 0 },
    order_book_snapshots: { lines: [], sources: [], bytes: 0 },
    profitdll_callbacks: { lines: [], sources: [], bytes: 0 },
  };
  /** Row i of each column is row i of `tables.market_ticks`. */
  ticks: TickColumns = emptyTickColumns();
  readonly offsets = new Map<string, PartitionOffset>();
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

  /** The values of a tick row added with addRow: row `i` of `from`. */
  addTickValues(from: TickColumns, i: number): void {
    const c = this.ticks;
    c.symbols.push(from.symbols[i] as string);
    c.exchanges.push(from.exchanges[i] as string);
    c.prices.push(from.prices[i] as string);
    c.volumes.push(from.volumes[i] as string);
    c.timesUs.push(from.timesUs[i] as number);
    c.tradeIds.push(from.tradeIds[i] as string | null);
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

  /** Nothing to write and no offset to move. */
  get isEmpty(): boolean {
    return this.offsets.size === 0;
  }

  /** Drop the rows and offsets of these partitions (fenced, or already stored). Returns rows dropped. */
  dropPartitions(keys: ReadonlySet<string>): number {
    let dropped = 0;
    for (const t of TABLES) {
      const rows = this.tables[t];
      const keep: number[] = [];
      rows.sources.forEach((s, i) => {
        if (!keys.has(partitionKey(s.topic, s.partition))) keep.push(i);
      });
      if (keep.length === rows.lines.length) continue;
      dropped += rows.lines.length - keep.length;
      rows.lines = keep.map((i) => rows.lines[i] as string);
      rows.sources = keep.map((i) => rows.sources[i] as SourceRef);
      rows.bytes = rows.lines.reduce((n, l) => n + l.length, 0);
      if (t === 'market_ticks') this.ticks = pickTicks(this.ticks, keep);
    }
    for (const k of keys) this.offsets.delete(k);
    this.rows -= dropped;
    this.bytes = TABLES.reduce((n, t) => n + this.tables[t].bytes, 0);
    return dropped;
  }
}

/** Rows `keep` of the columns, in that order. */
export function pickTicks(c: TickColumns, keep: readonly number[]): TickColumns {
  const pick = <T>(col: readonly T[]) => keep.map((i) => col[i] as T);
  return {
    symbols: pick(c.symbols),
    exchanges: pick(c.exchanges),
    prices: pick(c.prices),
    volumes: pick(c.volumes),
    timesUs: pick(c.timesUs),
    tradeIds: pick(c.tradeIds),
  };
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
