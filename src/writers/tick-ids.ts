import type pg from 'pg';
import { run, type Statement, statement } from '../db.js';
import type { TickIds } from '../records.js';
import { appendTickIdBlocks, appendTickIds, noTickIds, tickIdCount } from '../tick-id-blocks.js';

/**
 * Tick ids come from the identity's sequence before the COPY, so the worker knows each stored tick's
 * id: the bars' open and close are keyed by (tick_time, trade_id, id) without reading the ticks back.
 *
 * The sequence counts in steps (018_tick_id_blocks.sql: increment by 64), and a value nextval gives
 * stands for itself and the step - 1 integers after it, which no nextval ever gives: a flush draws
 * ceil(n / step) values, not n (measured in PostgreSQL: 0.27-0.39 µs a row for n values, 0.01-0.02
 * for the blocks). Other writers (a default id) take one value, so their ids are a step apart. The
 * step is read with the values, so a sequence of another step (1: one id a value) is still right.
 */
const DRAW_SQL = `select s.seqincrement::text as step, s.seqmax::text as max,
    string_agg(v.id::text, ',' order by v.id) as starts
  from pg_catalog.pg_sequence s
  cross join lateral (select nextval($1::regclass) as id
    from generate_series(1, ceil($2::numeric / greatest(s.seqincrement, 1))::int)) as v
  where s.seqrelid = $1::regclass
  group by s.seqincrement, s.seqmax`;

/**
 * New ids for up to `n` ticks from `sequence`, ascending. Fewer only when blocks were cut short by
 * the sequence's maximum (`drawTickIds` draws the rest).
 */
export function drawIdBlocks(sequence: string, n: number): Statement<TickIds> {
  return statement(DRAW_SQL, [sequence, n], ({ rows }) => {
    const row = rows[0] as { step: string; max: string; starts: string } | undefined;
    if (!row) throw new Error(`drawing ids for ${n} rows from ${sequence} returned no row`);
    return blockIds(row.starts.split(','), BigInt(row.step), BigInt(row.max), n);
  });
}

/** `n` new tick ids: the blocks drawn in `first` (a flush's round trip), and more if they fell short. */
export async function drawTickIds(
  client: pg.ClientBase,
  sequence: string,
  n: number,
  first: TickIds,
): Promise<TickIds> {
  const ids = first;
  while (tickIdCount(ids) < n) {
    const more = await run(client, drawIdBlocks(sequence, n - tickIdCount(ids)));
    if (tickIdCount(more) === 0) throw new Error(`${sequence} gave no more ids (at its maximum?)`);
    appendTickIdBlocks(ids, more);
  }
  return ids;
}

/**
 * The ids the values `starts` stand for, ascending, at most `n`: each start and the step - 1 integers
 * after it, not past `max` (a step of 1 or less, or a descending sequence: each start alone).
 */
export function blockIds(starts: readonly string[], step: bigint, max: bigint, n: number): TickIds {
  const out = noTickIds();
  for (const text of starts) {
    const taken = tickIdCount(out);
    if (taken >= n) break;
    const start = BigInt(text);
    const room = step > 1n ? (max - start + 1n < step ? max - start + 1n : step) : 1n;
    appendTickIds(out, start, Math.min(Number(room), n - taken));
  }
  return out;
}
