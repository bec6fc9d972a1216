import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BarStep } from '../bars/index.js';
import { command, RoundTrip, run, withClient } from '../db.js';
import { classifyError, DeadlineError, errorMessage } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { type SourceRef, TABLES, type TableName, type TickColumns, type TickIds } from '../records.js';
import { pickTicks } from '../tick-columns.js';
import { noTickIds, pickTickIds, tickIdCount } from '../tick-id-blocks.js';
import type { TradeCheck } from '../trades/index.js';
import { BOOK_COLUMNS, CALLBACK_COLUMNS, TICK_COLUMNS } from '../transform/copy-format.js';
import type { FlushBatch, TableRows } from './batch.js';
import { advanceOffsets } from './offset-store.js';
import { drawIdBlocks, drawTickIds } from './tick-ids.js';

const TICK_ID_SEQUENCE = 'data_capture.market_ticks_id_seq';

const BEGIN = command('begin');
const COMMIT = command('commit');

// Tick lines carry their id field first (copy-rows.ts).
const COPY_SQL: Record<TableName, string> = {
  market_ticks: `copy data_capture.market_ticks (id, ${TICK_COLUMNS.join(', ')}) from stdin`,
  order_book_snapshots: `copy data_capture.order_book_snapshots (${BOOK_COLUMNS.join(', ')}) from stdin`,
  profitdll_callbacks: `copy data_capture.profitdll_callbacks (${CALLBACK_COLUMNS.join(', ')}) from stdin`,
};

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

/** The trade numbers (src/trades), with the exchange zone bound: checked in the flush before the COPY. */
export interface TradeNumbers {
  /** The check of these ticks' trades (lock, read, decide); undefined when none has a number. */
  check(ticks: TickColumns): TradeCheck | undefined;
  /** Kept trades the database then refused (dead-lettered) become holes again, in the same transaction. */
  forget(client: pg.ClientBase, ticks: TickColumns, rows: readonly number[]): Promise<number>;
}

export interface SinkOptions {
  groupId: string;
  /** Must resolve only once the dead letters are acknowledged: the commit follows it. */
  deadLetter: (rows: RejectedRow[]) => Promise<void>;
  /** The bars, or nothing. */
  bars?: BarStep;
  /** Trade numbers: never store a trade twice, report holes; or nothing. */
  trades?: TradeNumbers;
  /** A flush transaction running longer has its connection dropped (a silent network) and is retried. */
  deadlineMs: number;
}

/** What the pipeline needs of a sink: the batch stored (and counted) in one transaction, or an error. */
export interface Sink {
  write(batch: FlushBatch): Promise<unknown>;
}

/** What the flush's first two round trips leave: the kept tick rows, their values and ids. */
interface Started {
  /** Row numbers of the ticks to COPY; undefined: all of them. */
  keep: number[] | undefined;
  ticks: TickColumns;
  ids: TickIds;
  duplicates: number;
  openGaps: number | undefined;
}

/** What the COPYs stored per table, and the rows the database refused (isolated only). */
interface Copied {
  rowsByTable: Record<TableName, number>;
  bytesByTable: Record<TableName, number>;
  rejected: RejectedRow[];
  /** Positions of refused ticks among the kept ones. */
  rejectedTicks: Set<number> | undefined;
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

  /**
   * The flush in four round trips: begin with the offsets and the trade numbers' lock and read; the
   * trade numbers' record with the ticks' ids; the COPYs; the bars with the commit. Isolated (a data
   * error was met), the COPYs and the bars run under savepoints and refused rows are dead-lettered.
   */
  private transaction(batch: FlushBatch, isolate: boolean): Promise<WriteResult> {
    return withClient(this.pool, (client) =>
      withDeadline(client, 'flush transaction', this.opts.deadlineMs, async () => {
        try {
          const start = await this.begin(client, batch);
          const copied = await this.copyTables(client, batch, start.keep, isolate);
          const barsByTimeframe = isolate
            ? await this.commitIsolated(client, start, copied)
            : await this.commitWithBars(client, start);
          return {
            rowsByTable: copied.rowsByTable,
            bytesByTable: copied.bytesByTable,
            rejected: copied.rejected,
            barsByTimeframe,
            duplicateTrades: start.duplicates,
            openGaps: start.openGaps,
          };
        } catch (err) {
          // The first error is the one that matters; a failing rollback only says the connection is gone.
          await client.query('rollback').catch(() => undefined);
          throw err;
        }
      }),
    );
  }

  /**
   * Round trips 1 and 2: begin, advance the offsets (throws on a conflict), lock and read the
   * trade numbers; record the kept ones and draw the kept ticks' ids, written into their lines.
   */
  private async begin(client: pg.ClientBase, batch: FlushBatch): Promise<Started> {
    const tickRows = batch.tables.market_ticks;
    const all = batch.tickColumns();
    const check = tickRows.length > 0 ? this.opts.trades?.check(all) : undefined;
    const first = new RoundTrip();
    first.add(BEGIN);
    const advanced = first.add(advanceOffsets(this.opts.groupId, [...batch.offsets.values()]));
    if (check) first.add(check.lock);
    const stored = check ? first.add(check.read) : undefined;
    await first.send(client);
    advanced();
    const decision = check && stored ? check.decide(stored()) : undefined;
    const { keep, ticks } = keptTicks(all, decision?.keep);

    const second = new RoundTrip();
    const openGaps = decision?.write ? second.add(decision.write) : undefined;
    const tickCount = keep?.length ?? tickRows.length;
    const drawn = tickCount > 0 ? second.add(drawIdBlocks(TICK_ID_SEQUENCE, tickCount)) : undefined;
    await second.send(client);
    const ids = drawn ? await drawTickIds(client, TICK_ID_SEQUENCE, tickCount, drawn()) : noTickIds();
    tickRows.writeIds(ids, keep);
    return { keep, ticks, ids, duplicates: decision?.duplicates ?? 0, openGaps: openGaps?.() };
  }

  /** Round trip 3: every table's rows by COPY; isolated, refused rows bisected out. */
  private async copyTables(
    client: pg.PoolClient,
    batch: FlushBatch,
    keep: number[] | undefined,
    isolate: boolean,
  ): Promise<Copied> {
    const rejected: RejectedRow[] = [];
    const rowsByTable = {} as Record<TableName, number>;
    const bytesByTable = {} as Record<TableName, number>;
    let rejectedTicks: Set<number> | undefined;
    for (const table of TABLES) {
      const rows = batch.tables[table];
      // Only the ticks have a selection: those whose trade is new.
      const selection = table === 'market_ticks' ? keep : undefined;
      rowsByTable[table] = selection?.length ?? rows.length;
      bytesByTable[table] = selection ? rows.bytesOf(selection) : rows.bytes;
      if (rowsByTable[table] === 0) continue;
      if (!isolate) {
        await this.copy(client, table, rows.pieces(selection));
        continue;
      }
      // Refusals by position in the selection (the ticks' columns are numbered so too).
      const refused = new Map<number, Refusal>();
      const positions = selection ?? Array.from({ length: rows.length }, (_, i) => i);
      await this.copyBisecting(client, table, rows, positions, 0, refused);
      for (const [k, why] of refused)
        rejected.push({ table, source: rows.source(positions[k] as number), ...why });
      rowsByTable[table] -= refused.size;
      if (table === 'market_ticks') rejectedTicks = new Set(refused.keys());
    }
    return { rowsByTable, bytesByTable, rejected, rejectedTicks };
  }

  /** Round trip 4: the bars' lock and merge, and the commit. */
  private async commitWithBars(client: pg.ClientBase, start: Started): Promise<Record<string, number>> {
    const last = new RoundTrip();
    const bars = tickIdCount(start.ids) > 0 ? this.opts.bars?.statements(start.ticks, start.ids) : undefined;
    if (bars) last.add(bars.lock);
    const merged = bars ? last.add(bars.merge) : undefined;
    last.add(COMMIT);
    await last.send(client);
    return merged?.() ?? {};
  }

  /**
   * Isolated: refused ticks' trade numbers become holes again, the bars of the stored ticks are
   * merged under their savepoint, the dead letters are acknowledged, then the commit.
   */
  private async commitIsolated(
    client: pg.ClientBase,
    { ticks, ids }: Started,
    { rejected, rejectedTicks }: Copied,
  ): Promise<Record<string, number>> {
    if (rejectedTicks && rejectedTicks.size > 0 && this.opts.trades)
      await this.opts.trades.forget(client, ticks, [...rejectedTicks]);
    const bars = await this.isolatedBars(client, ticks, ids, rejectedTicks);
    if (rejected.length > 0) await this.opts.deadLetter(rejected);
    await run(client, COMMIT);
    return bars;
  }

  /** The bar step over the ticks this transaction stored (rejected ones left out), under its savepoint. */
  private isolatedBars(
    client: pg.ClientBase,
    ticks: TickColumns,
    ids: TickIds,
    rejected: ReadonlySet<number> | undefined,
  ): Promise<Record<string, number>> {
    const n = tickIdCount(ids);
    if (!this.opts.bars || n === 0) return Promise.resolve({});
    if (!rejected || rejected.size === 0) return this.opts.bars.isolated(client, ticks, ids);
    const stored = Array.from({ length: n }, (_, i) => i).filter((i) => !rejected.has(i));
    if (stored.length === 0) return Promise.resolve({});
    return this.opts.bars.isolated(client, pickTicks(ticks, stored), pickTickIds(ids, stored));
  }

  private async copy(client: pg.PoolClient, table: TableName, pieces: readonly Buffer[]): Promise<void> {
    const end = this.metrics.copyDuration.startTimer({ table });
    const stream = client.query(copyFrom(COPY_SQL[table]));
    // Written all at once, not piece by piece on 'drain': between two event-loop turns the socket
    // can then take as much as the kernel accepts, not one piece.
    for (const piece of pieces) stream.write(piece);
    stream.end();
    await finished(stream);
    end();
  }

  /**
   * COPY the rows `selection[first..]` under a savepoint; on a data error split them in halves until
   * the refused rows are found. Refusals are keyed by position in the selection.
   */
  private async copyBisecting(
    client: pg.PoolClient,
    table: TableName,
    rows: TableRows,
    selection: readonly number[],
    first: number,
    refused: Map<number, Refusal>,
  ): Promise<void> {
    await client.query('savepoint isolate');
    try {
      await this.copy(client, table, rows.pieces(selection));
      await client.query('release savepoint isolate');
      return;
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      await client.query('rollback to savepoint isolate');
      await client.query('release savepoint isolate');
      if (selection.length === 1) {
        const code = `db_${String((err as { code?: unknown }).code ?? 'unknown')}`;
        refused.set(first, { code, message: errorMessage(err) });
        return;
      }
    }
    const mid = selection.length >> 1;
    await this.copyBisecting(client, table, rows, selection.slice(0, mid), first, refused);
    await this.copyBisecting(client, table, rows, selection.slice(mid), first + mid, refused);
  }
}

/**
 * The tick rows to COPY: all of them (`keep` undefined), or with trade numbers, the row numbers of
 * those whose trade is not stored yet; `ticks` their values.
 */
function keptTicks(all: TickColumns, decided: readonly boolean[] | undefined) {
  if (!decided || decided.every(Boolean)) return { keep: undefined, ticks: all };
  const keep: number[] = [];
  decided.forEach((k, i) => {
    if (k) keep.push(i);
  });
  return { keep, ticks: pickTicks(all, keep) };
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
