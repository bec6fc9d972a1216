import pg from 'pg';
import { type AppliedMigration, MigrationError, planMigrations } from './plan.js';
import { DATA_CAPTURE_SQL_DIR, readSqlFiles } from './sql-files.js';

export interface MigrateOptions {
  /** Folder of ordered `NNN_*.sql` files; default: the repository's sql/data_capture/. */
  dir?: string | URL;
  /** Schema-qualified migrations table; default `data_capture.schema_migrations`. */
  table?: string;
  /** Receives the server's NOTICEs (e.g. what the Apache edition left out). */
  onNotice?: (message: string) => void;
}

export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: string[];
  /** Versions that were applied before, with unchanged checksums. */
  skipped: string[];
}

const QUALIFIED_NAME = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/**
 * Apply the folder's SQL files that the database has not seen yet, each in its own
 * transaction, recording version and checksum. A session advisory lock serialises replicas
 * that start at once; the second one finds everything applied and does nothing. When up to
 * date it runs no DDL, so a role with only the run-time grants may call it.
 */
export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const table = opts.table ?? 'data_capture.schema_migrations';
  if (!QUALIFIED_NAME.test(table)) throw new Error(`migrations table must be schema.table, got ${table}`);
  const files = await readSqlFiles(opts.dir ?? DATA_CAPTURE_SQL_DIR);

  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tick-ingest migrate' });
  const { onNotice } = opts;
  if (onNotice) client.on('notice', (n) => onNotice(n.message ?? String(n)));
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [`tick-ingest migrate ${table}`]);
    await ensureTable(client, table);
    const { rows } = await client.query<AppliedMigration>(`select version, checksum from ${table}`);
    const { pending, skipped } = planMigrations(files, rows);
    for (const file of pending) {
      try {
        await client.query('begin');
        await client.query(file.sql);
        await client.query(`insert into ${table} (version, checksum) values ($1, $2)`, [
          file.version,
          file.checksum,
        ]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        const why = err instanceof Error ? err.message : String(err);
        throw new MigrationError(file.version, `migration ${file.version} failed: ${why}`, { cause: err });
      }
    }
    return { applied: pending.map((f) => f.version), skipped };
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end();
  }
}

async function ensureTable(client: pg.Client, table: string): Promise<void> {
  // Check first: `create ... if not exists` still demands CREATE rights on the schema.
  const { rows } = await client.query<{ found: boolean }>('select to_regclass($1) is not null as found', [
    table,
  ]);
  if (rows[0]?.found) return;
  const schema = table.split('.')[0];
  await client.query(`create schema if not exists ${schema}`);
  await client.query(
    `create table if not exists ${table} (
       version text primary key,
       checksum text not null,
       applied_at timestamptz not null default now())`,
  );
}
