import { ConfigError, loadConfig } from '../config.js';
import { forgetOldTrades } from '../trades/retention.js';
import { migrate } from './migrate.js';
import { runRetention } from './retention.js';
import { ensureWriterUser, WRITER_ROLE } from './writer-user.js';

/**
 * `tick-ingest migrate`, as the owner: the server's NOTICEs go to stderr, the summary to stdout.
 * With WRITER_USER and WRITER_PASSWORD it then creates (or re-passwords) the worker's login user.
 */
export async function migrateCommand(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const cfg = loadConfig(env, ['DATABASE_URL', 'WRITER_USER', 'WRITER_PASSWORD']);
  if (Boolean(cfg.WRITER_USER) !== Boolean(cfg.WRITER_PASSWORD))
    throw new ConfigError(
      cfg.WRITER_USER ? 'WRITER_PASSWORD' : 'WRITER_USER',
      'is required with the other WRITER_ variable',
    );
  const { applied, skipped } = await migrate(cfg.DATABASE_URL, {
    onNotice: (m) => console.error(`NOTICE: ${m}`),
  });
  console.log(
    `migrate: applied ${applied.length} [${applied.join(', ')}], already applied ${skipped.length}`,
  );
  if (cfg.WRITER_USER && cfg.WRITER_PASSWORD) {
    const done = await ensureWriterUser(cfg.DATABASE_URL, cfg.WRITER_USER, cfg.WRITER_PASSWORD);
    console.log(`migrate: writer user ${cfg.WRITER_USER} ${done} (member of ${WRITER_ROLE})`);
  }
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
