import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withClient } from '../db.js';
import { classifyError, DeadlineError, errorMessage } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { type SourceRef, TABLES, type TableName, type TickColumns } from '../records.js';
import { BOOK_COLUMNS, CALLBACK_COLUMNS, TICK_COLUMNS } from '../transform/copy-format.js';
import { type FlushBatch, pickTicks } from './batch.js';
import { advanceOffsets } from './offset-store.js';

// Tick ids are taken from the identity's sequence before the COPY, so the worker knows each stored
// tick's id: the bars' open and close are keyed by (tick_time, id) without reading the ticks back.
const TICK_ID_SEQUENCE = 'data_capture.market_ticks_id_seq';
const RESERVE_IDS_SQL = `select string_agg(nextval($1::regclass)::text, ',' order by g) as ids from generate_series(1, $2::int) as g`;

const COPY_SQL: Record<TableName, string> = {
  market_ticks: `copy data_capture.market_ticks (id, ${TICK_COLUMNS.join(', ')}) from stdin`,
  order_book_snapshots: `copy data_capture.order_book_snapshots (${BOOK_COLUMNS.join(', ')}) from stdin`,
  profitdll_callbacks: `copy data_capture.profitdll_callbacks (${CALLBACK_COLUMNS.join(', ')}) from stdin`,
};

// Lines are joined into chunks of this size: big enough to amortise stream overhead,
// small enough not to double the batch in memory.
const CHUNK_CHARS = 1 << 18;

interface Refusal {
  code: string;
  message: string;
}

export interface RejectedRow {
  table: TableName;
  source: SourceRef;
  code: string;
  message: string;
}

export interface WriteResult {
  rowsByTable: Record<TableName, number>;
  bytesByTable: Record<TableName, number>;
  rejected: RejectedRow[];
  /** Bars inserted or changed per timeframe (empty without a bar step). */
  barsByTimeframe: Record<string, number>;
  /** Ticks not stored because their trade was stored already (or earlier in the batch). */
  duplicateTrades: number;
  /** Open holes in the trade numbers as this transaction leaves them, when it changed any. */
  openGaps: number | undefined;
}

/** The trade numbers (src/trades), with the exchange zone bound: run in the flush before the COPY. */
export interface TradeNumbers {
  /** Which tick rows to store (false: a trade stored already), recording the kept numbers and holes. */
  record(
    client: pg.ClientBase,
    ticks: TickColumns,
  ): Promise<{ keep: boolean[]; duplicates: number; openGaps: number | undefined }>;
  /** Kept trades the database then refused (dead-lettered) become holes again, in the same transaction. */
  forget(client: pg.ClientBase, ticks: TickColumns, rows: readonly number[]): Promise<number>;
}

/**
 * A step run inside the flush's transaction after the COPY, given the ticks it stored (rows the
 * database rejected left out) and their market_ticks ids: the bars.
 */
export type TickStep = (
  client: pg.ClientBase,
  ticks: TickColumns,
  ids: readonly string[],
) => Promise<Record<string, number>>;

export interface SinkOptions {
  groupId: string;
  /** Must resolve only once the dead letters are acknowledged: the commit follows it. */
  deadLetter: (rows: RejectedRow[]) => Promise<void>;
  /** The bars, or nothing. */
  bars?: TickStep;
  /** Trade numbers: never store a trade twice, report holes; or nothing. */
  trades?: TradeNumbers;
  /** A flush transaction running longer has its connection dropped (a silent network) and is retried. */
  deadlineMs: number;
}

/** What the pipeline needs of a sink: the batch stored (and counted) in one transaction, or an error. */
export interface Sink {
  write(batch: FlushBatch): Promise<unknown>;
}

/**
 * Writes one batch in one transaction: the offsets (compare-and-set, fenced by epoch), every table's
 * rows by COPY, then the bars of its ticks. Rows the database rejects are found by bisection under
 * savepoints, dead-lettered before the commit, and the rest of the batch lands. Rows and bytes are
 * counted here, once the transaction committed.
 */
export class CopySink implements Sink {
  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: Metrics,
    private readonly opts: SinkOptions,
  ) {}

  async write(batch: FlushBatch): Promise<WriteResult> {
    const end = this.metrics.flushDuration.startTimer();
    let result: WriteResult;
    try {
      result = await this.transaction(batch, false);
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      this.metrics.flushErrors.inc({ kind: 'data' });
      // Rare path: redo the batch with savepoints to find the rows the database refuses.
      result = await this.transaction(batch, true);
    }
    end();
    for (const table of TABLES) {
      if (result.rowsByTable[table] > 0) this.metrics.rowsWritten.inc({ table }, result.rowsByTable[table]);
      if (result.bytesByTable[table] > 0)
        this.metrics.bytesWritten.inc({ table }, result.bytesByTable[table]);
    }
    for (const [timeframe, n] of Object.entries(result.barsByTimeframe))
      if (n > 0) this.metrics.barsUpserted.inc({ timeframe }, n);
    if (result.duplicateTrades > 0) this.metrics.duplicateTrades.inc(result.duplicateTrades);
    if (result.openGaps !== undefined) this.metrics.feedGapsOpen.set(result.openGaps);
    this.metrics.batchRows.observe(batch.rows);
    return result;
  }

  private transaction(batch: FlushBatch, isolate: boolean): Promise<WriteResult> {
    return withClient(this.pool, (client) =>
      withDeadline(client, 'flush transaction', this.opts.deadlineMs, async () => {
        await client.query('begin');
        try {
          await advanceOffsets(client, this.opts.groupId, [...batch.offsets.values()]);
          const trades = await this.keepNewTrades(client, batch);
          const { ticks } = trades;
          const ids = await reserveTickIds(client, trades.lines.length);
          const rejected: RejectedRow[] = [];
          const rowsByTable = {} as Record<TableName, number>;
          const bytesByTable = {} as Record<TableName, number>;
          let rejectedTicks: Set<number> | undefined;
          for (const table of TABLES) {
            const isTicks = table === 'market_ticks';
            const sources = isTicks ? trades.sources : batch.tables[table].sources;
            const lines = isTicks ? withIds(ids, trades.lines) : batch.tables[table].lines;
            rowsByTable[table] = lines.length;
            bytesByTable[table] = isTicks ? trades.bytes : batch.tables[table].bytes;
            if (lines.length === 0) continue;
            if (!isolate) {
              await this.copy(client, table, lines);
              continue;
            }
            const refused = new Map<number, Refusal>();
            await this.copyBisecting(client, table, lines, 0, refused);
            for (const [i, why] of refused) rejected.push({ table, source: sources[i] as SourceRef, ...why });
            rowsByTable[table] -= refused.size;
            if (isTicks) rejectedTicks = new Set(refused.keys());
          }
          if (rejectedTicks && rejectedTicks.size > 0 && this.opts.trades)
            await this.opts.trades.forget(client, ticks, [...rejectedTicks]);
          const barsByTimeframe = await this.bars(client, ticks, ids, rejectedTicks);
          if (rejected.length > 0) await this.opts.deadLetter(rejected);
          await client.query('commit');
          return {
            rowsByTable,
            bytesByTable,
            rejected,
            barsByTimeframe,
            duplicateTrades: trades.duplicates,
            openGaps: trades.openGaps,
          };
        } catch (err) {
          // The first error is the one that matters; a failing rollback only says the connection is gone.
          await client.query('rollback').catch(() => undefined);
          throw err;
        }
      }),
    );
  }

  /** The tick rows to COPY: all of them, or with trade numbers, those whose trade is not stored yet. */
  private async keepNewTrades(client: pg.ClientBase, batch: FlushBatch) {
    const { lines, sources, bytes } = batch.tables.market_ticks;
    const all = {
      lines,
      sources,
      bytes,
      ticks: batch.ticks,
      duplicates: 0,
      openGaps: undefined as number | undefined,
    };
    if (!this.opts.trades || lines.length === 0) return all;
    const r = await this.opts.trades.record(client, batch.ticks);
    const keep: number[] = [];
    r.keep.forEach((k, i) => {
      if (k) keep.push(i);
    });
    if (keep.length === lines.length) return { ...all, openGaps: r.openGaps };
    const kept = keep.map((i) => lines[i] as string);
    return {
      lines: kept,
      sources: keep.map((i) => sources[i] as SourceRef),
      bytes: kept.reduce((n, l) => n + l.length, 0),
      ticks: pickTicks(batch.ticks, keep),
      duplicates: r.duplicates,
      openGaps: r.openGaps,
    };
  }

  /** The bar step over the ticks this transaction stored (rejected ones left out). */
  private bars(
    client: pg.ClientBase,
    ticks: TickColumns,
    ids: readonly string[],
    rejected: ReadonlySet<number> | undefined,
  ): Promise<Record<string, number>> {
    if (!this.opts.bars || ids.length === 0) return Promise.resolve({});
    if (!rejected || rejected.size === 0) return this.opts.bars(client, ticks, ids);
    const keep = ids.map((_, i) => i).filter((i) => !rejected.has(i));
    if (keep.length === 0) return Promise.resolve({});
    return this.opts.bars(
      client,
      pickTicks(ticks, keep),
      keep.map((i) => ids[i] as string),
    );
  }

  private async copy(client: pg.PoolClient, table: TableName, lines: readonly string[]): Promise<void> {
    const end = this.metrics.copyDuration.startTimer({ table });
    const stream = client.query(copyFrom(COPY_SQL[table]));
    // Written all at once, not chunk by chunk on 'drain': between two event-loop turns the socket
    // can then take as much as the kernel accepts, not one chunk.
    for (const chunk of chunks(lines)) stream.write(chunk);
    stream.end();
    await finished(stream);
    end();
  }

  /** COPY `lines` under a savepoint; on a data error split them in halves until the refused rows are found. */
  private async copyBisecting(
    client: pg.PoolClient,
    table: TableName,
    lines: readonly string[],
    first: number,
    refused: Map<number, Refusal>,
  ): Promise<void> {
    await client.query('savepoint isolate');
    try {
      await this.copy(client, table, lines);
      await client.query('release savepoint isolate');
      return;
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      await client.query('rollback to savepoint isolate');
      await client.query('release savepoint isolate');
      if (lines.length === 1) {
        const code = `db_${String((err as { code?: unknown }).code ?? 'unknown')}`;
        refused.set(first, { code, message: errorMessage(err) });
        return;
      }
    }
    const mid = lines.length >> 1;
    await this.copyBisecting(client, table, lines.slice(0, mid), first, refused);
    await this.copyBisecting(client, table, lines.slice(mid), first + mid, refused);
  }
}

/** `n` fresh ids of market_ticks, in increasing order. */
async function reserveTickIds(client: pg.ClientBase, n: number): Promise<string[]> {
  if (n === 0) return [];
  const { rows } = await client.query<{ ids: string }>(RESERVE_IDS_SQL, [TICK_ID_SEQUENCE, n]);
  return (rows[0]?.ids ?? '').split(',');
}

/** Each COPY line behind its id column. */
function withIds(ids: readonly string[], lines: readonly string[]): string[] {
  return lines.map((line, i) => `${ids[i]}\t${line}`);
}

/**
 * Run `fn` on `client` with a deadline: past it the client's socket is destroyed, so a statement
 * waiting on a silent network fails (and the flush is retried) instead of hanging forever.
 */
async function withDeadline<T>(
  client: pg.PoolClient,
  what: string,
  ms: number,
  fn: () => Promise<T>,
): Promise<T> {
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }, ms);
  try {
    return await fn();
  } catch (err) {
    throw expired ? new DeadlineError(what, ms) : err;
  } finally {
    clearTimeout(timer);
  }
}

function* chunks(lines: readonly string[]): Generator<string> {
  // Appending builds a rope that V8 flattens once when the chunk is written: no array copies.
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
