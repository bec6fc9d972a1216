import type pg from 'pg';

/**
 * Run `fn` on a client checked out of the pool. pg.Pool listens for a client's 'error' only while
 * it is idle; a server shutdown (57P01) or a dropped socket while we hold it would otherwise be an
 * unhandled 'error' event that ends the process. The error is kept and the client discarded.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (err) {
    // A failed statement may leave the connection unusable (mid-COPY, mid-transaction): never reuse it.
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** One lock per symbol, taken in key order (the subquery's sort is kept) so two writers cannot deadlock. */
const LOCK_SYMBOLS_SQL = `
select pg_advisory_xact_lock(hashtext($1), k)
  from (select distinct hashtext(s) as k from unnest($2::text[]) as s order by k) as keys`;

/**
 * Lock `symbols` until the transaction ends, in `namespace` (the two-int form cannot collide with
 * bigint locks, and each step has its own namespace, so they never wait on each other).
 */
export async function lockSymbols(
  client: pg.ClientBase,
  namespace: string,
  symbols: Iterable<string>,
): Promise<void> {
  await client.query(LOCK_SYMBOLS_SQL, [namespace, [...new Set(symbols)]]);
}
