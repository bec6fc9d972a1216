create table if not exists order_manager.strategies (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (char_length(name) <= 255),
  description text,
  strategy_type text not null
    check (strategy_type in ('TREND_FOLLOWING', 'MEAN_REVERSION', 'ARBITRAGE', 'MANUAL')),
  status text not null default 'INACTIVE' check (status in ('ACTIVE', 'INACTIVE', 'PAUSED', 'TESTING')),
  parameters jsonb not null default '{}',
  max_position_size numeric(18, 2),
  max_daily_loss numeric(18, 2),
  max_drawdown_pct numeric(5, 2),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  created_by text not null check (char_length(created_by) <= 100),
  metadata jsonb not null default '{}'
);

create index if not exists strategies_status_idx on order_manager.strategies (status);
create index if not exists strategies_strategy_type_idx on order_manager.strategies (strategy_type);

create or replace trigger strategies_set_updated_at
  before update on order_manager.strategies
  for each row execute function order_manager.set_updated_at();
