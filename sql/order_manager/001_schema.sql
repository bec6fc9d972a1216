-- order_manager: extension, role, schema and shared trigger functions.
-- Plain SQL only (no psql meta-commands), applied in file-name order, each file in one transaction.

create extension if not exists timescaledb;

-- The application role, NOLOGIN: login users are granted membership. Roles are cluster-wide,
-- so data_capture's deploy may create it at the same moment: hence the duplicate handlers.
do $$
begin
  if not exists (select from pg_roles where rolname = 'timescale') then
    begin
      create role timescale nologin;
    exception
      when duplicate_object or unique_violation then null;
      when insufficient_privilege then
        raise exception 'role "timescale" is missing and % may not create it', current_user
          using hint = 'create it once as a superuser or a CREATEROLE user: create role timescale nologin';
    end;
  end if;
end
$$;

create schema if not exists order_manager;

create or replace function order_manager.set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- A hypertable's unique indexes must contain its time column, so an external reference
-- (order_ref, trade_ref) is kept unique across all chunks by a registry table with one
-- column, `ref`, as its primary key. Trigger arguments: the registry table, the ref column.
create or replace function order_manager.keep_ref_registry() returns trigger
language plpgsql as $$
declare
  registry text := tg_argv[0];
  ref_column text := tg_argv[1];
  old_ref text;
  new_ref text;
begin
  if tg_op in ('UPDATE', 'DELETE') then old_ref := to_jsonb(old) ->> ref_column; end if;
  if tg_op in ('INSERT', 'UPDATE') then new_ref := to_jsonb(new) ->> ref_column; end if;
  if old_ref is not distinct from new_ref then return null; end if;
  if old_ref is not null then
    execute format('delete from %s where ref = $1', registry) using old_ref;
  end if;
  if new_ref is not null then
    begin
      execute format('insert into %s (ref) values ($1)', registry) using new_ref;
    exception when unique_violation then
      -- tg_table_name would name the chunk, so the message names the registry instead.
      raise exception 'duplicate %: "%" is already taken (registry %)', ref_column, new_ref, registry
        using errcode = 'unique_violation',
              hint = format('%s must be unique across the whole table, whatever its time', ref_column);
    end;
  end if;
  return null;
end
$$;
