create table if not exists order_manager.position_history (
  id uuid not null default gen_random_uuid(),
  position_id uuid not null,
  quantity numeric(18, 8) not null,
  avg_entry_price numeric(18, 2) not null,
  current_price numeric(18, 2) not null,
  unrealized_pnl numeric(18, 2) not null,
  realized_pnl numeric(18, 2) not null,
  snapshot_at timestamptz not null default now(),
  -- e.g. trade_fill, price_update, eod_snapshot
  reason text check (char_length(reason) <= 50),
  metadata jsonb not null default '{}',
  primary key (id, snapshot_at)
);

select create_hypertable(
  'order_manager.position_history', by_range('snapshot_at', interval '1 day'), if_not_exists => true
);

create index if not exists position_history_position_snapshot_idx
  on order_manager.position_history (position_id, snapshot_at desc);
