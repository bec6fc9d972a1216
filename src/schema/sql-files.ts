import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The object files, read at run time from the repository's sql/ folder (from src/ and dist/ alike). */
export const DATA_CAPTURE_SQL_DIR = fileURLToPath(new URL('../../sql/data_capture/', import.meta.url));
export const ORDER_MANAGER_SQL_DIR = fileURLToPath(new URL('../../sql/order_manager/', import.meta.url));

export interface SqlFile {
  /** The file name, e.g. `003_market_ticks.sql`: its version in the migrations table. */
  version: string;
  sql: string;
  checksum: string;
}

export function checksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** The folder's `*.sql` files in name order, which is the order they must be applied in. */
export async function readSqlFiles(dir: string | URL): Promise<SqlFile[]> {
  const path = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const names = (await readdir(path)).filter((n) => n.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (version) => {
      const sql = await readFile(join(path, version), 'utf8');
      return { version, sql, checksum: checksum(sql) };
    }),
  );
}
