create table if not exists order_manager.positions (
  id uuid primary key default gen_random_uuid(),
  symbol text not null check (char_length(symbol) <= 50),
  exchange text not null check (char_length(exchange) <= 20),
  asset_class text not null check (asset_class in ('stock', 'future', 'fx', 'crypto')),
  side text not null check (side in ('LONG', 'SHORT')),
  quantity numeric(18, 8) not null check (quantity > 0),
  avg_entry_price numeric(18, 2) not null,
  current_price numeric(18, 2),
  unrealized_pnl numeric(18, 2),
  realized_pnl numeric(18, 2) not null default 0,
  strategy_id uuid not null,
  account_id uuid not null,
  position_type text not null check (position_type in ('DAY_TRADE', 'SWING', 'POSITION')),
  opened_at timestamptz not null default now(),
  closed_at timestamptz,
  updated_at timestamptz not null default now(),
  status text not null default 'OPEN' check (status in ('OPEN', 'CLOSING', 'CLOSED')),
  metadata jsonb not null default '{}',
  constraint positions_scope_status_key unique (symbol, account_id, strategy_id, status)
);

create index if not exists positions_symbol_idx on order_manager.positions (symbol);
create index if not exists positions_account_id_idx on order_manager.positions (account_id);
create index if not exists positions_strategy_id_idx on order_manager.positions (strategy_id);
create index if not exists positions_open_updated_idx on order_manager.positions (updated_at desc)
  where status = 'OPEN';

create or replace trigger positions_set_updated_at
  before update on order_manager.positions
  for each row execute function order_manager.set_updated_at();
