import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withClient } from '../db.js';
import { classifyError, errorMessage } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { type SourceRef, TABLES, type TableName, type TouchedSpan } from '../records.js';
import { BOOK_COLUMNS, CALLBACK_COLUMNS, TICK_COLUMNS } from '../transform/copy-format.js';
import type { Batch } from './batch.js';
import { advanceOffsets } from './offset-store.js';

const COPY_SQL: Record<TableName, string> = {
  market_ticks: `copy data_capture.market_ticks (${TICK_COLUMNS.join(', ')}) from stdin`,
  order_book_snapshots: `copy data_capture.order_book_snapshots (${BOOK_COLUMNS.join(', ')}) from stdin`,
  profitdll_callbacks: `copy data_capture.profitdll_callbacks (${CALLBACK_COLUMNS.join(', ')}) from stdin`,
};

// Lines are joined into chunks of this size: big enough to amortise stream overhead,
// small enough not to double the batch in memory.
const CHUNK_CHARS = 1 << 18;

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
}

/**
 * A step run inside the flush's transaction after the COPY, given the ticks' spans: the bars.
 * `isolated`: some rows were written under savepoints (rejected rows were bisected out).
 */
export type BarStep = (
  client: pg.ClientBase,
  spans: readonly TouchedSpan[],
  isolated: boolean,
) => Promise<Record<string, number>>;

/** What the sink needs from outside: whose offsets these are, and the dead-letter queue. */
export interface SinkContext {
  groupId: string;
  /** Must resolve only once the dead letters are acknowledged: the commit follows it. */
  deadLetter: (rows: RejectedRow[]) => Promise<void>;
}

/**
 * Writes one batch in one transaction: the offsets (fenced by epoch), every table's rows by COPY,
 * then the bars of its ticks. Rows the database rejects are found by bisection under savepoints,
 * dead-lettered before the commit, and the rest of the batch lands.
 */
export class CopySink {
  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: Metrics,
    private readonly bars?: BarStep,
  ) {}

  async write(batch: Batch, ctx: SinkContext): Promise<WriteResult> {
    try {
      return await this.transaction(batch, ctx, false);
    } catch (err) {
      if (classifyError(err) !== 'data') throw err;
      this.metrics.flushErrors.inc({ kind: 'data' });
      // Rare path: redo the batch with savepoints to find the rows the database refuses.
      return await this.transaction(batch, ctx, true);
    }
  }

  private transaction(batch: Batch, ctx: SinkContext, isolate: boolean): Promise<WriteResult> {
    return withClient(this.pool, async (client) => {
      await client.query('begin');
      try {
        await advanceOffsets(client, ctx.groupId, [...batch.offsets.values()]);
        const rejected: RejectedRow[] = [];
        const rowsByTable = {} as Record<TableName, number>;
        const bytesByTable = {} as Record<TableName, number>;
        for (const table of TABLES) {
          const { lines, sources, bytes } = batch.tables[table];
          rowsByTable[table] = lines.length;
          bytesByTable[table] = bytes;
          if (lines.length === 0) continue;
          if (isolate) {
            const before = rejected.length;
            await this.copyBisecting(client, table, lines, sources, rejected);
            rowsByTable[table] -= rejected.length - before;
          } else {
            await this.copy(client, table, lines);
          }
        }
        const spans = this.bars && rowsByTable.market_ticks > 0 ? batch.spans() : [];
        const barsByTimeframe = spans.length > 0 && this.bars ? await this.bars(client, spans, isolate) : {};
        if (rejected.length > 0) await ctx.deadLetter(rejected);
        await client.query('commit');
        return { rowsByTable, bytesByTable, rejected, barsByTimeframe };
      } catch (err) {
        // The first error is the one that matters; a failing rollback only says the connection is gone.
        await client.query('rollback').catch(() => undefined);
        throw err;
      }
    });
  }

  private async copy(client: pg.PoolClient, table: TableName, lines: readonly string[]): Promise<void> {
    const end = this.metrics.copyDuration.startTimer({ table });
    const stream = client.query(copyFrom(COPY_SQL[table]));
    // Written all at once, not chunk by chunk on 'drain': between two event-loop turns (which a busy
    // decoder makes long) the socket can then take as much as the kernel accepts, not one chunk.
    for (const chunk of chunks(lines)) stream.write(chunk);
    stream.end();
    await finished(stream);
    end();
  }

  private async copyBisecting(
    client: pg.PoolClient,
    table: TableName,
    lines: readonly string[],
    sources: readonly SourceRef[],
    rejected: RejectedRow[],
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
        const code = String((err as { code?: unknown }).code ?? 'unknown');
        rejected.push({
          table,
          source: sources[0] as SourceRef,
          code: `db_${code}`,
          message: errorMessage(err),
        });
        return;
      }
    }
    const mid = lines.length >> 1;
    await this.copyBisecting(client, table, lines.slice(0, mid), sources.slice(0, mid), rejected);
    await this.copyBisecting(client, table, lines.slice(mid), sources.slice(mid), rejected);
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
