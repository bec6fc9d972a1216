create table if not exists order_manager.risk_limits (
  id uuid primary key default gen_random_uuid(),
  limit_type text not null check (limit_type in ('ACCOUNT', 'STRATEGY', 'SYMBOL')),
  account_id uuid,
  strategy_id uuid,
  symbol text check (char_length(symbol) <= 50),
  max_order_value numeric(18, 2),
  max_position_size numeric(18, 8),
  max_daily_loss numeric(18, 2),
  max_daily_trades integer,
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'INACTIVE')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  metadata jsonb not null default '{}',
  -- One limit per scope, where a null scope column counts as a value (PostgreSQL 15+).
  constraint risk_limits_scope_key unique nulls not distinct (limit_type, account_id, strategy_id, symbol)
);

create index if not exists risk_limits_account_id_idx on order_manager.risk_limits (account_id);
create index if not exists risk_limits_strategy_id_idx on order_manager.risk_limits (strategy_id);

create or replace trigger risk_limits_set_updated_at
  before update on order_manager.risk_limits
  for each row execute function order_manager.set_updated_at();
