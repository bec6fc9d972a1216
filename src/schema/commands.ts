import { loadConfig } from '../config.js';
import { forgetOldTrades } from '../trades/retention.js';
import { migrate } from './migrate.js';
import { runRetention } from './retention.js';

/** `tick-ingest migrate`: the server's NOTICEs go to stderr, the summary to stdout. */
export async function migrateCommand(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { DATABASE_URL } = loadConfig(env, ['DATABASE_URL']);
  const { applied, skipped } = await migrate(DATABASE_URL, {
    onNotice: (m) => console.error(`NOTICE: ${m}`),
  });
  console.log(
    `migrate: applied ${applied.length} [${applied.join(', ')}], already applied ${skipped.length}`,
  );
}

/** `tick-ingest retention`: one line per hypertable, one for the trade numbers. */
export async function retentionCommand(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { DATABASE_URL } = loadConfig(env, ['DATABASE_URL']);
  for (const r of await runRetention(DATABASE_URL)) {
    console.log(
      `retention: ${r.hypertable} older than ${r.dropAfter}: dropped ${r.droppedChunks.length} chunks`,
    );
  }
  const t = await forgetOldTrades(DATABASE_URL);
  console.log(
    `retention: trade numbers of trading days before ${t.before}: deleted ${t.sequences} trade_sequences, ${t.gaps} feed_gaps`,
  );
}
