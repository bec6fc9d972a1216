create table if not exists order_manager.orders (
  id uuid not null default gen_random_uuid(),
  order_ref text not null check (char_length(order_ref) <= 50),
  symbol text not null check (char_length(symbol) <= 50),
  exchange text not null check (char_length(exchange) <= 20),
  asset_class text not null check (asset_class in ('stock', 'future', 'fx', 'crypto')),
  side text not null check (side in ('BUY', 'SELL')),
  order_type text not null check (order_type in ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT')),
  quantity numeric(18, 8) not null check (quantity > 0),
  price numeric(18, 8),
  stop_price numeric(18, 8),
  status text not null default 'PENDING'
    check (status in ('PENDING', 'SUBMITTED', 'PARTIAL_FILL', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED')),
  filled_quantity numeric(18, 8) not null default 0 check (filled_quantity >= 0),
  avg_fill_price numeric(18, 8),
  strategy_id uuid not null,
  account_id uuid not null,
  position_type text not null check (position_type in ('DAY_TRADE', 'SWING', 'POSITION')),
  created_at timestamptz not null default now(),
  submitted_at timestamptz,
  filled_at timestamptz,
  canceled_at timestamptz,
  updated_at timestamptz not null default now(),
  created_by text not null check (char_length(created_by) <= 100),
  reason text,
  metadata jsonb not null default '{}',
  constraint orders_market_has_no_price check (order_type <> 'MARKET' or price is null),
  primary key (id, created_at)
);

select create_hypertable('order_manager.orders', by_range('created_at', interval '1 day'), if_not_exists => true);

create index if not exists orders_symbol_created_idx on order_manager.orders (symbol, created_at desc);
create index if not exists orders_status_created_idx on order_manager.orders (status, created_at desc);
create index if not exists orders_strategy_created_idx on order_manager.orders (strategy_id, created_at desc);
create index if not exists orders_account_created_idx on order_manager.orders (account_id, created_at desc);
create index if not exists orders_order_ref_idx on order_manager.orders (order_ref);
create index if not exists orders_open_created_idx on order_manager.orders (created_at desc)
  where status in ('PENDING', 'SUBMITTED', 'PARTIAL_FILL');

create or replace trigger orders_set_updated_at
  before update on order_manager.orders
  for each row execute function order_manager.set_updated_at();

-- order_ref is unique across every chunk, not just within one day.
create table if not exists order_manager.order_ref_registry (
  ref text primary key
);

create or replace trigger orders_keep_ref_registry
  after insert or update of order_ref or delete on order_manager.orders
  for each row execute function order_manager.keep_ref_registry('order_manager.order_ref_registry', 'order_ref');
