import type { Admin } from 'kafkajs';
import pg from 'pg';
import type { BarRow, Landed } from './display.js';

/**
 * What landed: read back from the database and the dead-letter topic after the worker stopped;
 * the duplicates skipped are the worker's to count (its last /metrics scrape), as nothing stores them.
 */
export async function readLanded(
  databaseUrl: string,
  admin: Admin,
  dlqTopic: string,
  duplicateTrades: number,
): Promise<Landed> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const counts = await db.query<{ ticks: string; books: string; holes: string }>(
      `select (select count(*) from data_capture.market_ticks) as ticks,
              (select count(*) from data_capture.order_book_snapshots) as books,
              (select count(*) from data_capture.feed_gaps where filled_at is null) as holes`,
    );
    const statuses = await db.query<{ status: string; n: string }>(
      'select status, count(*) as n from data_capture.profitdll_callbacks group by status',
    );
    const byStatus = Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)]));
    const offsets = await admin.fetchTopicOffsets(dlqTopic);
    return {
      marketTicks: Number(counts.rows[0]?.ticks),
      bookSnapshots: Number(counts.rows[0]?.books),
      callbacks: {
        PROCESSED: byStatus.PROCESSED ?? 0,
        FAILED: byStatus.FAILED ?? 0,
        SKIPPED: byStatus.SKIPPED ?? 0,
      },
      deadLetters: offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0),
      duplicateTrades,
      openHoles: Number(counts.rows[0]?.holes),
    };
  } finally {
    await db.end();
  }
}

/** The newest `perSymbol` 1-minute bars of each symbol, in exchange time. */
export async function latestBars(
  databaseUrl: string,
  symbols: string[],
  perSymbol: number,
  timeZone: string,
): Promise<BarRow[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<BarRow>(
      `select symbol, to_char(bar_time at time zone $3, 'YYYY-MM-DD HH24:MI') as bar_time,
              trim_scale(open)::text as open, trim_scale(high)::text as high,
              trim_scale(low)::text as low, trim_scale(close)::text as close,
              trim_scale(volume)::text as volume, trade_count
         from (select *, row_number() over (partition by symbol order by bar_time desc) as nth
                 from data_capture.ohlcv_bars
                where timeframe = '1m' and symbol = any($1)) newest
        where nth <= $2
        order by symbol, bar_time`,
      [symbols, perSymbol, timeZone],
    );
    return rows;
  } finally {
    await db.end();
  }
}
