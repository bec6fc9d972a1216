import type pg from 'pg';

export interface GapFilter {
  symbol?: string;
  /** Trading day, 'YYYY-MM-DD'. */
  day?: string;
  /** Only holes still open (filled_at is null). */
  open?: boolean;
}

export interface GapRow {
  id: string;
  symbol: string;
  tradingDay: string;
  firstMissing: string;
  lastMissing: string;
  /** How many trade numbers the range holds. */
  missing: string;
  detectedAt: string;
  filledAt: string | null;
  splitFrom: string | null;
}

/** data_capture.feed_gaps, filtered, by symbol, day and range (trade numbers as exact text). */
export async function listGaps(client: pg.ClientBase | pg.Pool, filter: GapFilter = {}): Promise<GapRow[]> {
  const { rows } = await client.query<GapRow>(
    `select id::text as id, symbol, trading_day::text as "tradingDay",
            first_missing::text as "firstMissing", last_missing::text as "lastMissing",
            (last_missing - first_missing + 1)::text as missing,
            to_char(detected_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "detectedAt",
            to_char(filled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "filledAt",
            split_from::text as "splitFrom"
       from data_capture.feed_gaps
      where ($1::text is null or symbol = $1)
        and ($2::date is null or trading_day = $2)
        and (not $3 or filled_at is null)
      order by symbol, trading_day, first_missing, id`,
    [filter.symbol ?? null, filter.day ?? null, filter.open ?? false],
  );
  return rows;
}

/** Open holes in the whole database: the tick_ingest_feed_gaps_open gauge at start and on a claim. */
export async function countOpenGaps(client: pg.ClientBase | pg.Pool): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'select count(*)::int as n from data_capture.feed_gaps where filled_at is null',
  );
  return rows[0]?.n ?? 0;
}
