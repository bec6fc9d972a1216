import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BarStep } from '../bars/step.js';
import { withClient } from '../db.js';
import { classifyError, errorMessage } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { type SourceRef, TABLES, type TableName, type TickColumns } from '../records.js';
import { BOOK_COLUMNS, CALLBACK_COLUMNS, TICK_COLUMNS } from '../transform/copy-format.js';
import type { Batch } from './batch.js';
import { advanceOffsets } from './offset-store.js';

/** With the bars on, ticks are COPYed with ids reserved from the sequence: the bar step needs them. */
const COPY_TICKS_WITH_IDS_SQL = `copy data_capture.market_ticks (id, ${TICK_COLUMNS.join(', ')}) from stdin`;
const RESERVE_IDS_SQL = `select nextval('data_capture.market_ticks_id_seq')::text as id
  from generate_series(1, $1::int) as g order by g`;

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
        // With the bars on, the ticks go in with ids reserved here, so the bar step knows them.
        let tickIds: string[] = [];
        const refusedTicks: number[] = [];
        for (const table of TABLES) {
          const { sources, bytes } = batch.tables[table];
          let { lines } = batch.tables[table];
          rowsByTable[table] = lines.length;
          bytesByTable[table] = bytes;
          if (lines.length === 0) continue;
          let sql = COPY_SQL[table];
          if (table === 'market_ticks' && this.bars) {
            tickIds = (await client.query<{ id: string }>(RESERVE_IDS_SQL, [lines.length])).rows.map(
              (r) => r.id,
            );
            lines = lines.map((line, i) => `${tickIds[i]}\t${line}`);
            sql = COPY_TICKS_WITH_IDS_SQL;
          }
          if (isolate) {
            const before = rejected.length;
            await this.copyBisecting(client, table, sql, lines, sources, rejected, 0, refusedTicks);
            rowsByTable[table] -= rejected.length - before;
          } else {
            await this.copy(client, table, sql, lines);
          }
        }
        const barsByTimeframe =
          this.bars && tickIds.length > 0
            ? await this.bars(client, ...committedTicks(batch.ticks, tickIds, refusedTicks))
            : {};
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

  private async copy(
    client: pg.PoolClient,
    table: TableName,
    sql: string,
    lines: readonly string[],
  ): Promise<void> {
    const end = this.metrics.copyDuration.startTimer({ table });
    const stream = client.query(copyFrom(sql));
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
    sql: string,
    lines: readonly string[],
    sources: readonly SourceRef[],
    rejected: RejectedRow[],
    first: number,
    refusedRows: number[],
  ): Promise<void> {
    await client.query('savepoint isolate');
    try {
      await this.copy(client, table, sql, lines);
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
        if (table === 'market_ticks') refusedRows.push(first);
        return;
      }
    }
    const mid = lines.length >> 1;
    const [l, r] = [lines.slice(0, mid), lines.slice(mid)];
    await this.copyBisecting(client, table, sql, l, sources.slice(0, mid), rejected, first, refusedRows);
    await this.copyBisecting(client, table, sql, r, sources.slice(mid), rejected, first + mid, refusedRows);
  }
}

/** The ticks the database accepted, with their ids: all but the rows at `refused` (ascending). */
function committedTicks(
  ticks: TickColumns,
  ids: string[],
  refused: readonly number[],
): [TickColumns, string[]] {
  if (refused.length === 0) return [ticks, ids];
  const gone = new Set(refused);
  const keep = ids.map((_, i) => i).filter((i) => !gone.has(i));
  return [
    {
      symbols: keep.map((i) => ticks.symbols[i] as string),
      exchanges: keep.map((i) => ticks.exchanges[i] as string),
      prices: keep.map((i) => ticks.prices[i] as string),
      volumes: keep.map((i) => ticks.volumes[i] as string),
      timesUs: keep.map((i) => ticks.timesUs[i] as number),
      tradeIds: keep.map((i) => ticks.tradeIds[i] as string | null),
    },
    keep.map((i) => ids[i] as string),
  ];
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
