-- Reference data: one row per tradable symbol.
create table if not exists data_capture.instruments (
  id uuid primary key default gen_random_uuid(),
  symbol text not null unique check (char_length(symbol) <= 50),
  exchange text not null check (char_length(exchange) <= 20),
  asset_class text not null check (asset_class in ('stock', 'future', 'fx', 'crypto', 'option')),
  name text not null check (char_length(name) <= 255),
  isin text check (char_length(isin) <= 12),
  currency text not null default 'BRL' check (char_length(currency) = 3),
  lot_size numeric(18, 8) not null default 1,
  tick_size numeric(18, 8) not null,
  trading_hours jsonb,
  status text not null default 'ACTIVE' check (status in ('ACTIVE', 'INACTIVE', 'DELISTED', 'HALTED')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  metadata jsonb not null default '{}'
);

create index if not exists instruments_exchange_idx on data_capture.instruments (exchange);
create index if not exists instruments_asset_class_idx on data_capture.instruments (asset_class);
create index if not exists instruments_status_idx on data_capture.instruments (status);

create or replace trigger instruments_set_updated_at
  before update on data_capture.instruments
  for each row execute function data_capture.set_updated_at();
