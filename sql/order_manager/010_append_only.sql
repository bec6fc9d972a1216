-- The audit log is append-only, and the ref registries change only with their orders and trades.
-- Triggers, not grants alone, so it holds for every role, the owner and superusers included;
-- only DDL (disabling the trigger, dropping chunks or tables) gets around it, which is the
-- owner's deliberate act, not an application's UPDATE.

-- Refuses the row change it fires for. Argument: the table's name, since tg_table_name names the
-- chunk on a hypertable. With a second argument 'keeper', a DELETE made by another trigger (the
-- registry keeper, pg_trigger_depth() > 1) passes: an order or trade deleted frees its ref.
create or replace function order_manager.refuse_change() returns trigger
language plpgsql as $$
begin
  if tg_op = 'DELETE' and tg_argv[1] = 'keeper' and pg_trigger_depth() > 1 then
    return old;
  end if;
  raise exception '% is append-only: % refused', tg_argv[0], tg_op
    using errcode = 'insufficient_privilege',
          hint = case when tg_argv[1] = 'keeper'
                      then 'its rows follow the orders and trades; change those instead'
                      else 'record a correction as a new row' end;
end
$$;

create or replace trigger order_audit_log_append_only
  before update or delete on order_manager.order_audit_log
  for each row execute function order_manager.refuse_change('order_manager.order_audit_log');
create or replace trigger order_audit_log_no_truncate
  before truncate on order_manager.order_audit_log
  for each statement execute function order_manager.refuse_change('order_manager.order_audit_log');

create or replace trigger order_ref_registry_kept
  before update or delete on order_manager.order_ref_registry
  for each row execute function order_manager.refuse_change('order_manager.order_ref_registry', 'keeper');
create or replace trigger order_ref_registry_no_truncate
  before truncate on order_manager.order_ref_registry
  for each statement execute function order_manager.refuse_change('order_manager.order_ref_registry', 'keeper');

create or replace trigger trade_ref_registry_kept
  before update or delete on order_manager.trade_ref_registry
  for each row execute function order_manager.refuse_change('order_manager.trade_ref_registry', 'keeper');
create or replace trigger trade_ref_registry_no_truncate
  before truncate on order_manager.trade_ref_registry
  for each statement execute function order_manager.refuse_change('order_manager.trade_ref_registry', 'keeper');

-- The application role keeps the seed's grants (009) except these: it appends to the audit log
-- through the orders trigger and never rewrites it; registry rows it deletes only through the
-- keeper (which runs with its rights, hence DELETE stays), and never updates.
revoke update, delete, truncate on order_manager.order_audit_log from timescale;
revoke update, truncate on order_manager.order_ref_registry, order_manager.trade_ref_registry from timescale;
