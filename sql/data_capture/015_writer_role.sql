-- tick_ingest_writer: exactly what `tick-ingest run` needs, and no more. NOLOGIN like `timescale`:
-- an operator creates a login user and grants it this role (docs/operations.md, Security). The
-- worker appends ticks, books and callbacks by COPY, reads ticks back for the bars' recompute,
-- upserts ohlcv_bars and ingest_offsets, and reads nothing else; it never deletes and never
-- runs DDL. `tick-ingest migrate` and `tick-ingest retention` run as the owner instead.
do $$
begin
  if not exists (select from pg_roles where rolname = 'tick_ingest_writer') then
    begin
      create role tick_ingest_writer nologin;
    exception
      when duplicate_object or unique_violation then null;
      when insufficient_privilege then
        raise exception 'role "tick_ingest_writer" is missing and % may not create it', current_user
          using hint = 'create it once as a superuser or a CREATEROLE user: create role tick_ingest_writer nologin';
    end;
  end if;
end
$$;

grant usage on schema data_capture to tick_ingest_writer;
-- Ticks are read back by the bars' recompute (a batch whose rejected rows were isolated, and
-- `tick-ingest bars`); books and callbacks are only appended.
grant select, insert on data_capture.market_ticks to tick_ingest_writer;
grant insert on data_capture.order_book_snapshots, data_capture.profitdll_callbacks to tick_ingest_writer;
grant select, insert, update on data_capture.ohlcv_bars, data_capture.ingest_offsets to tick_ingest_writer;
-- Identity columns draw from their sequences, and the flush may reserve tick ids with nextval().
grant usage, select on all sequences in schema data_capture to tick_ingest_writer;

-- Tables and sequences that later migration files create (as the same owner) are the worker's to
-- append to and update, never to delete from: a file that forgets its grant cannot break the worker.
alter default privileges in schema data_capture
  grant select, insert, update on tables to tick_ingest_writer;
alter default privileges in schema data_capture
  grant usage, select on sequences to tick_ingest_writer;

-- The trade numbers' state (016): the flush reads and upserts trade_sequences, opens and fills
-- feed_gaps; forgetting old days is `tick-ingest retention`'s, as the owner. A database that had
-- 016 before this file existed gets the grants here; elsewhere the default privileges give them.
do $$
begin
  if to_regclass('data_capture.feed_gaps') is not null then
    grant select, insert, update on data_capture.trade_sequences, data_capture.feed_gaps to tick_ingest_writer;
    grant usage, select on all sequences in schema data_capture to tick_ingest_writer;
  end if;
end
$$;

-- `tick-ingest migrate` creates schema_migrations before it applies any file and then applies this
-- one after it (psql deploys have no such table): the writer may read it, which is all `migrate`
-- needs to find everything applied, and nothing else, whatever the default privileges above say.
do $$
begin
  if to_regclass('data_capture.schema_migrations') is not null then
    revoke all on data_capture.schema_migrations from tick_ingest_writer;
    grant select on data_capture.schema_migrations to tick_ingest_writer;
  end if;
end
$$;
