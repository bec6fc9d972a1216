import type pg from 'pg';
import type { TickColumns } from '../records.js';
import { groupKey, groupTrades, type Hole, planTrades, type StoredTrades } from './plan.js';

export interface TradeStepResult {
  /** Per tick row, in COPY order: COPY it (false: a trade already stored, or earlier in the batch). */
  keep: boolean[];
  /** Ticks dropped as trades already stored (tick_ingest_duplicate_trades_total). */
  duplicates: number;
  /** Holes found (jumps in the numbers), holes fully filled, holes partly filled (split). */
  gapsOpened: number;
  gapsFilled: number;
  gapsSplit: number;
  /** Open holes in the database as this transaction leaves them; undefined when it changed none (not queried). */
  openGaps: number | undefined;
}

/** What the flush calls inside its transaction before the COPY of the ticks. */
export type TradeStep = (
  client: pg.ClientBase,
  ticks: TickColumns,
  timeZone: string,
) => Promise<TradeStepResult>;

/** Advisory-lock namespace of the trade numbers (the bars use another, so the two never wait on each other). */
const LOCK_NAMESPACE = 'tick-ingest trades';

/** One lock per symbol, in key order, so two flushes cannot deadlock. */
const LOCK_SQL = `
select pg_advisory_xact_lock(hashtext($1), k)
  from (select distinct hashtext(s) as k from unnest($2::text[]) as s order by k) as keys`;

/** The stored range of each symbol-day of the batch, with its open holes that meet the batch's numbers. */
const READ_SQL = `
with b as (
  select * from unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[]) as b(symbol, trading_day, lo, hi)
)
select s.symbol, s.trading_day::text as day, s.first_trade::text as first, s.last_trade::text as last,
       g.id::text as hole_id, g.first_missing::text as hole_first, g.last_missing::text as hole_last,
       g.detected_at::text as detected_at
  from b
  join data_capture.trade_sequences s on s.symbol = b.symbol and s.trading_day = b.trading_day
  left join data_capture.feed_gaps g
    on g.symbol = s.symbol and g.trading_day = s.trading_day and g.filled_at is null
   and g.first_missing <= b.hi and g.last_missing >= b.lo
 order by s.symbol, s.trading_day, g.first_missing`;

/** Every change of the plan in one statement; the open-hole count when asked ($12), as it will be. */
const WRITE_SQL = `
with seq as (
  insert into data_capture.trade_sequences (symbol, trading_day, first_trade, last_trade)
  select * from unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[])
      on conflict (symbol, trading_day) do update
     set first_trade = excluded.first_trade, last_trade = excluded.last_trade, updated_at = now()
  returning 1
), closed as (
  update data_capture.feed_gaps set filled_at = now() where id = any($5::bigint[]) returning 1
), opened as (
  insert into data_capture.feed_gaps (symbol, trading_day, first_missing, last_missing, detected_at, split_from)
  select s, d, f, l, coalesce(t, now()), sf
    from unnest($6::text[], $7::date[], $8::bigint[], $9::bigint[], $10::timestamptz[], $11::bigint[])
         as u(s, d, f, l, t, sf)
  returning 1
)
select (select count(*) from seq)::int as sequences,
       case when $12 then (select count(*) from data_capture.feed_gaps where filled_at is null)
                          + (select count(*) from opened) - (select count(*) from closed) end::int as open_gaps`;

interface StoredRow {
  symbol: string;
  day: string;
  first: string;
  last: string;
  hole_id: string | null;
  hole_first: string | null;
  hole_last: string | null;
  detected_at: string | null;
}

/**
 * The trade step: run inside the flush transaction, before the COPY of `ticks`. Under a lock per
 * symbol (so replicas flushing the same symbol take turns, and the second sees the first's
 * commit), it reads what is stored for the batch's symbol-days, decides which ticks are new
 * trades, and records them with the holes' changes in the same transaction: a rollback forgets
 * them, so each trade is stored exactly once. Ticks without a trade number cost nothing.
 */
export const recordTrades: TradeStep = async (client, ticks, timeZone) => {
  const groups = groupTrades(ticks, timeZone);
  if (groups.length === 0) {
    const keep = new Array<boolean>(ticks.tradeIds.length).fill(true);
    return { keep, duplicates: 0, gapsOpened: 0, gapsFilled: 0, gapsSplit: 0, openGaps: undefined };
  }
  await client.query(LOCK_SQL, [LOCK_NAMESPACE, [...new Set(groups.map((g) => g.symbol))]]);
  const { rows } = await client.query<StoredRow>(READ_SQL, [
    groups.map((g) => g.symbol),
    groups.map((g) => g.day),
    groups.map((g) => g.min.toString()),
    groups.map((g) => g.max.toString()),
  ]);
  const stored = new Map<string, StoredTrades>();
  for (const r of rows) {
    const key = groupKey(r.symbol, r.day);
    let s = stored.get(key);
    if (!s) {
      s = { first: BigInt(r.first), last: BigInt(r.last), holes: [] };
      stored.set(key, s);
    }
    if (r.hole_id !== null) {
      const hole: Hole = {
        id: r.hole_id,
        first: BigInt(r.hole_first as string),
        last: BigInt(r.hole_last as string),
        detectedAt: r.detected_at as string,
      };
      s.holes.push(hole);
    }
  }
  const plan = planTrades(ticks.tradeIds.length, groups, stored);
  const holesChange = plan.closed.length > 0 || plan.opened.length > 0;
  let openGaps: number | undefined;
  if (plan.sequences.length > 0 || holesChange) {
    const { sequences: q, opened: o } = plan;
    const result = await client.query<{ open_gaps: number | null }>(WRITE_SQL, [
      q.map((x) => x.symbol),
      q.map((x) => x.day),
      q.map((x) => x.first.toString()),
      q.map((x) => x.last.toString()),
      plan.closed,
      o.map((x) => x.symbol),
      o.map((x) => x.day),
      o.map((x) => x.first.toString()),
      o.map((x) => x.last.toString()),
      o.map((x) => x.detectedAt),
      o.map((x) => x.splitFrom),
      holesChange,
    ]);
    openGaps = result.rows[0]?.open_gaps ?? undefined;
  }
  return {
    keep: plan.keep,
    duplicates: plan.duplicates,
    gapsOpened: plan.gapsOpened,
    gapsFilled: plan.gapsFilled,
    gapsSplit: plan.gapsSplit,
    openGaps,
  };
};
