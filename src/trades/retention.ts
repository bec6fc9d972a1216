import pg from 'pg';

export interface TradeRetentionResult {
  /** Trading days before this one were forgotten ('YYYY-MM-DD'). */
  before: string;
  sequences: number;
  gaps: number;
}

/**
 * Forget the trade numbers (trade_sequences, feed_gaps) of trading days the ticks' retention window
 * has passed, two days later than the ticks themselves: a replay is accepted up to PAST_WINDOW_MS
 * (31 days by default) after its trade, and must still be recognised as one.
 */
export async function forgetOldTrades(databaseUrl: string): Promise<TradeRetentionResult> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tick-ingest retention' });
  await client.connect();
  try {
    const { rows } = await client.query<TradeRetentionResult>(
      `with cut as (
         select ((now() - w.drop_after)::date - 2) as day
           from data_capture.retention_windows() w
          where w.hypertable = 'data_capture.market_ticks'::regclass
       ), s as (
         delete from data_capture.trade_sequences where trading_day < (select day from cut) returning 1
       ), g as (
         delete from data_capture.feed_gaps where trading_day < (select day from cut) returning 1
       )
       select (select day from cut)::text as before, (select count(*) from s)::int as sequences,
              (select count(*) from g)::int as gaps`,
    );
    return rows[0] as TradeRetentionResult;
  } finally {
    await client.end();
  }
}
