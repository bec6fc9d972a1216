create table if not exists order_manager.order_audit_log (
  id uuid not null default gen_random_uuid(),
  order_id uuid not null,
  action text not null
    check (action in ('CREATED', 'SUBMITTED', 'FILLED', 'PARTIAL_FILL', 'CANCELED', 'REJECTED', 'MODIFIED')),
  old_status text,
  new_status text not null,
  changed_by text not null check (char_length(changed_by) <= 100),
  changed_at timestamptz not null default now(),
  reason text,
  changes jsonb,
  metadata jsonb not null default '{}',
  primary key (id, changed_at)
);

select create_hypertable(
  'order_manager.order_audit_log', by_range('changed_at', interval '1 day'), if_not_exists => true
);

create index if not exists order_audit_log_order_changed_idx
  on order_manager.order_audit_log (order_id, changed_at desc);
create index if not exists order_audit_log_action_changed_idx
  on order_manager.order_audit_log (action, changed_at desc);

-- The action recorded for a move to a status. The original design wrote actions its own
-- CHECK list forbids; statuses without an action of their own (PENDING, EXPIRED) are MODIFIED.
create or replace function order_manager.audit_action(new_status text) returns text
language sql immutable as $$
  select case when new_status in ('SUBMITTED', 'PARTIAL_FILL', 'FILLED', 'CANCELED', 'REJECTED')
              then new_status else 'MODIFIED' end
$$;

-- Insert → CREATED; status change → one row naming it. The changing user is the session
-- setting order_manager.changed_by when the application sets it (set local ...), else the
-- database user. clock_timestamp() keeps rows of one transaction in order.
create or replace function order_manager.audit_order() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into order_manager.order_audit_log (order_id, action, old_status, new_status, changed_by, changed_at, reason)
    values (new.id, 'CREATED', null, new.status, new.created_by, clock_timestamp(), new.reason);
  elsif new.status is distinct from old.status then
    insert into order_manager.order_audit_log
      (order_id, action, old_status, new_status, changed_by, changed_at, reason, changes)
    values (
      new.id, order_manager.audit_action(new.status), old.status, new.status,
      left(coalesce(nullif(current_setting('order_manager.changed_by', true), ''), session_user), 100),
      clock_timestamp(), new.reason,
      jsonb_build_object(
        'filled_quantity', jsonb_build_object('old', old.filled_quantity, 'new', new.filled_quantity),
        'avg_fill_price', jsonb_build_object('old', old.avg_fill_price, 'new', new.avg_fill_price)));
  end if;
  return null;
end
$$;

create or replace trigger orders_audit
  after insert or update of status on order_manager.orders
  for each row execute function order_manager.audit_order();
