import { lockSymbols, type Statement, statement } from '../db.js';
import type { TickColumns } from '../records.js';
import { tickCount } from '../tick-columns.js';
import { groupKey, groupTrades, type Hole, planTrades, type StoredTrades } from './plan.js';

/** What the flush does with a batch's ticks, decided from what is stored of their trades. */
export interface TradeDecision {
  /** Per tick row, in COPY order: COPY it (false: a trade already stored, or earlier in the batch). */
  keep: boolean[];
  /** Ticks dropped as trades already stored (tick_ingest_duplicate_trades_total). */
  duplicates: number;
  /** Holes found (jumps in the numbers), holes fully filled, holes partly filled (split). */
  gapsOpened: number;
  gapsFilled: number;
  gapsSplit: number;
  /**
   * The statement recording the kept numbers and the holes' changes; its result is the count of
   * open holes as the transaction leaves them when it changes any (else undefined). Undefined when
   * nothing is to be recorded.
   */
  write: Statement<number | undefined> | undefined;
}

/** The trade check of a flush, run inside its transaction before the COPY of the ticks. */
export interface TradeCheck {
  /** Lock the batch's symbols, then read what is stored of their days: in this order, in one round trip. */
  lock: Statement<void>;
  read: Statement<Map<string, StoredTrades>>;
  /** From what `read` found: which ticks to keep, and the statement recording them. */
  decide(stored: Map<string, StoredTrades>): TradeDecision;
}

/** Advisory-lock namespace of the trade numbers (the bars use another, so the two never wait on each other). */
const LOCK_NAMESPACE = 'tick-ingest trades';

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
 * The trade check: run inside the flush transaction, before the COPY of `ticks`. Under a lock per
 * symbol (so replicas flushing the same symbol take turns, and the second sees the first's
 * commit), it reads what is stored for the batch's symbol-days, decides which ticks are new
 * trades, and records them with the holes' changes in the same transaction: a rollback forgets
 * them, so each trade is stored exactly once. Undefined when no tick has a trade number (they cost
 * nothing).
 */
export function checkTrades(ticks: TickColumns, timeZone: string): TradeCheck | undefined {
  const groups = groupTrades(ticks, timeZone);
  if (groups.length === 0) return undefined;
  return {
    lock: lockSymbols(
      LOCK_NAMESPACE,
      groups.map((g) => g.symbol),
    ),
    read: statement(
      READ_SQL,
      [
        groups.map((g) => g.symbol),
        groups.map((g) => g.day),
        groups.map((g) => g.min.toString()),
        groups.map((g) => g.max.toString()),
      ],
      ({ rows }) => storedTrades(rows as StoredRow[]),
    ),
    decide: (stored) => {
      const plan = planTrades(tickCount(ticks), groups, stored);
      const holesChange = plan.closed.length > 0 || plan.opened.length > 0;
      const { sequences: q, opened: o } = plan;
      const write =
        q.length > 0 || holesChange
          ? statement(
              WRITE_SQL,
              [
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
              ],
              ({ rows }) => (rows[0] as { open_gaps: number | null } | undefined)?.open_gaps ?? undefined,
            )
          : undefined;
      return {
        keep: plan.keep,
        duplicates: plan.duplicates,
        gapsOpened: plan.gapsOpened,
        gapsFilled: plan.gapsFilled,
        gapsSplit: plan.gapsSplit,
        write,
      };
    },
  };
}

/** What READ_SQL found, per symbol-day: the stored range and its open holes. */
function storedTrades(rows: readonly StoredRow[]): Map<string, StoredTrades> {
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
  return stored;
}
