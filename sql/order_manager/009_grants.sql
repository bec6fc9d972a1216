-- What the application needs at run time (no superuser). Re-granting is a no-op.
-- The registry and audit tables are written by triggers, which run with the caller's rights.
grant usage on schema order_manager to timescale;
grant select, insert, update, delete on all tables in schema order_manager to timescale;
grant usage, select on all sequences in schema order_manager to timescale;
