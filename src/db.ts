import pg from 'pg';

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
export function lockSymbols(namespace: string, symbols: Iterable<string>): Statement<void> {
  return statement(LOCK_SYMBOLS_SQL, [namespace, [...new Set(symbols)]]);
}

/**
 * One SQL statement with its parameters written in as literals, and how its result is read: a
 * part of a round trip (RoundTrip), so a flush's statements travel together instead of one each.
 */
export interface Statement<T> {
  readonly text: string;
  read(result: pg.QueryResult): T;
}

/** `text` with `$1`, `$2`... replaced by `params` as literals (each given its type by a cast in `text`). */
export function statement<T = void>(
  text: string,
  params: readonly unknown[] = [],
  read: (result: pg.QueryResult) => T = () => undefined as T,
): Statement<T> {
  const literals = params.map(literal);
  const inlined = text.replace(/\$(\d+)/g, (_, n: string) => {
    const lit = literals[Number(n) - 1];
    if (lit === undefined) throw new Error(`statement uses $${n} but has ${params.length} parameters`);
    return lit;
  });
  return { text: inlined, read };
}

/**
 * A parameter as an untyped SQL literal, as node-postgres sends it (text, its type inferred from
 * the statement): null, a boolean, or text; an array as the text of an array literal. Only the
 * flat arrays of text, numbers and null the flush's statements pass.
 */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return pg.escapeLiteral(`{${value.map(arrayElement).join(',')}}`);
  return pg.escapeLiteral(scalarText(value));
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  // Quoted, so a comma, brace, space or the word NULL stays the text it is.
  return `"${scalarText(value).replace(/[\\"]/g, '\\$&')}"`;
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  throw new Error(`no SQL literal for ${typeof value} ${String(value)}`);
}

/**
 * Statements sent as one simple query, so they cost one round trip: the flush's transaction waits
 * for the worker's busy main thread once per round trip, not once per statement. Under read
 * committed each statement still takes its own snapshot, so a read after a lock sees what the lock
 * waited for. The first failing statement fails the whole (the rest do not run).
 */
export class RoundTrip {
  private readonly statements: Statement<unknown>[] = [];
  private results: pg.QueryResult[] | undefined;

  /** Add a statement; the getter returned reads its result once the round trip was sent. */
  add<T>(s: Statement<T>): () => T {
    const at = this.statements.push(s) - 1;
    return () => {
      const r = this.results?.[at];
      if (!r) throw new Error('a statement’s result was read before its round trip was sent');
      return s.read(r);
    };
  }

  /** Send the statements (nothing when there are none) and keep their results. */
  async send(client: pg.ClientBase): Promise<void> {
    if (this.statements.length === 0) return;
    const r = (await client.query(this.statements.map((s) => s.text).join(';\n'))) as unknown as
      | pg.QueryResult
      | pg.QueryResult[];
    this.results = Array.isArray(r) ? r : [r];
    if (this.results.length !== this.statements.length)
      throw new Error(
        `a round trip of ${this.statements.length} statements gave ${this.results.length} results`,
      );
  }
}

/** A statement of text alone (begin, commit, a savepoint). */
export const command = (text: string): Statement<void> => statement(text);

/** One statement on its own round trip; its result read. */
export async function run<T>(client: pg.ClientBase, s: Statement<T>): Promise<T> {
  const trip = new RoundTrip();
  const result = trip.add(s);
  await trip.send(client);
  return result();
}
