import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withClient } from '../db.js';
import { classifyError, errorMessage } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { type Batch, type SourceRef, TABLES, type TableName } from './batch.js';
import { BOOK_COLUMNS, CALLBACK_COLUMNS, TICK_COLUMNS } from './copy-format.js';
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
}

/** What the sink needs from outside: whose offsets these are, and the dead-letter queue. */
export interface SinkContext {
  groupId: string;
  /** Must resolve only once the dead letters are acknowledged: the commit follows it. */
  deadLetter: (rows: RejectedRow[]) => Promise<void>;
}

/**
 * Writes one batch in one transaction: the offsets (fenced by epoch) and every table's rows by COPY.
 * Rows the database rejects are found by bisection under savepoints, dead-lettered before the
 * commit, and the rest of the batch lands.
 */
export class CopySink {
  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: Metrics,
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
        if (rejected.length > 0) await ctx.deadLetter(rejected);
        await client.query('commit');
        return { rowsByTable, bytesByTable, rejected };
      } catch (err) {
        // The first error is the one that matters; a failing rollback only says the connection is gone.
        await client.query('rollback').catch(() => undefined);
        throw err;
      }
    });
  }

  private async copy(client: pg.PoolClient, table: TableName, lines: readonly string[]): Promise<void> {
    const end = this.metrics.copyDuration.startTimer({ table });
    await pipeline(Readable.from(chunks(lines)), client.query(copyFrom(COPY_SQL[table])));
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
