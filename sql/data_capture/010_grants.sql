-- What the worker needs at run time, and no more: it connects as a member of `timescale`
-- and never needs a superuser. Re-granting is a no-op, so this file is safe to re-run;
-- "all tables" also covers views, the continuous aggregate and the migrations table.
grant usage on schema data_capture to timescale;
grant select, insert, update, delete on all tables in schema data_capture to timescale;
grant usage, select on all sequences in schema data_capture to timescale;
