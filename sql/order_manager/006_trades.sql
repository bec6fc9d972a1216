-- Executions reported by the broker. order_id → orders is enforced by the application
-- (a foreign key to a hypertable would need its time column too).
create table if not exists order_manager.trades (
  id uuid not null default gen_random_uuid(),
  trade_ref text not null check (char_length(trade_ref) <= 50),
  order_id uuid not null,
  symbol text not null check (char_length(symbol) <= 50),
  exchange text not null check (char_length(exchange) <= 20),
  side text not null check (side in ('BUY', 'SELL')),
  quantity numeric(18, 8) not null check (quantity > 0),
  price numeric(18, 8) not null check (price > 0),
  total_value numeric(18, 2) not null,
  commission numeric(18, 2) not null default 0,
  tax numeric(18, 2) not null default 0,
  slippage numeric(18, 8),
  executed_at timestamptz not null,
  received_at timestamptz not null default now(),
  execution_venue text check (char_length(execution_venue) <= 50),
  broker_account text not null check (char_length(broker_account) <= 50),
  metadata jsonb not null default '{}',
  primary key (id, executed_at)
);

select create_hypertable('order_manager.trades', by_range('executed_at', interval '1 hour'), if_not_exists => true);

create index if not exists trades_order_executed_idx on order_manager.trades (order_id, executed_at desc);
create index if not exists trades_symbol_executed_idx on order_manager.trades (symbol, executed_at desc);
create index if not exists trades_broker_account_executed_idx
  on order_manager.trades (broker_account, executed_at desc);

-- trade_ref is unique across every chunk.
create table if not exists order_manager.trade_ref_registry (
  ref text primary key
);

create or replace trigger trades_keep_ref_registry
  after insert or update of trade_ref or delete on order_manager.trades
  for each row execute function order_manager.keep_ref_registry('order_manager.trade_ref_registry', 'trade_ref');
