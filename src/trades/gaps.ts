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
  /** Exchange-local times of the stored trades on either side of the range (null: none stored): the window to request. */
  afterTime: string | null;
  beforeTime: string | null;
  detectedAt: string;
  filledAt: string | null;
  splitFrom: string | null;
}

/** The exchange-local time of trade number `n` of the gap's symbol and day, read within that day's ticks. */
const tradeTime = (n: string) => `(
  select to_char(m.tick_time at time zone $4, 'YYYY-MM-DD HH24:MI:SS.US') from data_capture.market_ticks m
   where m.symbol = g.symbol and m.tick_time >= d.day_start and m.tick_time < d.day_end and m.trade_id = ${n}
   limit 1)`;

/**
 * data_capture.feed_gaps, filtered, by symbol, day and range (trade numbers as exact text), with the
 * times of the trades on either side of each range (trading days in `timeZone`, the exchange's).
 */
export async function listGaps(
  client: pg.ClientBase | pg.Pool,
  filter: GapFilter,
  timeZone: string,
): Promise<GapRow[]> {
  const { rows } = await client.query<GapRow>(
    `select g.id::text as id, g.symbol, g.trading_day::text as "tradingDay",
            g.first_missing::text as "firstMissing", g.last_missing::text as "lastMissing",
            (g.last_missing - g.first_missing + 1)::text as missing,
            ${tradeTime('g.first_missing - 1')} as "afterTime",
            ${tradeTime('g.last_missing + 1')} as "beforeTime",
            to_char(g.detected_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "detectedAt",
            to_char(g.filled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "filledAt",
            g.split_from::text as "splitFrom"
       from data_capture.feed_gaps g
      cross join lateral (
            select g.trading_day::timestamp at time zone $4 as day_start,
                   (g.trading_day + 1)::timestamp at time zone $4 as day_end) d
      where ($1::text is null or g.symbol = $1)
        and ($2::date is null or g.trading_day = $2)
        and (not $3 or g.filled_at is null)
      order by g.symbol, g.trading_day, g.first_missing, g.id`,
    [filter.symbol ?? null, filter.day ?? null, filter.open ?? false, timeZone],
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
