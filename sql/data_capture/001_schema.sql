-- data_capture: extension, role, schema and the shared updated_at trigger function.
-- Plain SQL only (no psql meta-commands): psql's sql/data-capture.sql and `tick-ingest migrate`
-- both apply these files, in file-name order, each in one transaction.

create extension if not exists timescaledb;

-- The application role. NOLOGIN: a login user is granted membership (`grant timescale to <user>`),
-- so no password lives in these files. Roles are cluster-wide: another database's deploy may
-- create it at the same moment, hence the duplicate handlers.
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

create schema if not exists data_capture;

create or replace function data_capture.set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;
