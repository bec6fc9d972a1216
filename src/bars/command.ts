import pg from 'pg';
import { loadConfig } from '../config.js';
import { type RebuildRange, rebuildBars } from './rebuild.js';

/** `tick-ingest bars`: rebuild ohlcv_bars from market_ticks for a range (default: everything). */
export async function barsCommand(range: RebuildRange, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { DATABASE_URL, EXCHANGE_TIME_ZONE } = loadConfig(env, ['DATABASE_URL', 'EXCHANGE_TIME_ZONE']);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, application_name: 'tick-ingest bars' });
  try {
    const total = await rebuildBars(pool, range, EXCHANGE_TIME_ZONE, (symbol, day, counts) =>
      console.error(`bars: ${symbol} ${day}: ${JSON.stringify(counts)}`),
    );
    console.log(`bars: rebuilt in ${EXCHANGE_TIME_ZONE}; bars written by timeframe ${JSON.stringify(total)}`);
  } finally {
    await pool.end();
  }
}
