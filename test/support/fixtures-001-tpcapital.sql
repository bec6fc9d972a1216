-- Stand-in for APPS-TPCAPITAL's schema "tp-capital" as the TP Capital app created it (before
-- migration 001), with rows that break the new foreign key: three signals from a channel that
-- telegram_channels does not know. Needs timescaledb in the database.
CREATE SCHEMA "tp-capital";

CREATE TABLE "tp-capital".telegram_channels (
  id serial PRIMARY KEY,
  label text NOT NULL,
  channel_id bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "tp-capital".telegram_bots (
  id serial PRIMARY KEY,
  token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "tp-capital".tp_capital_signals (
  id bigserial,
  channel text,
  asset text NOT NULL,
  signal_type text NOT NULL,
  entry_price numeric(18, 4),
  raw_message text,
  created_at timestamptz NOT NULL DEFAULT now()
);
SELECT create_hypertable('"tp-capital".tp_capital_signals', by_range('created_at', interval '1 day'));

INSERT INTO "tp-capital".telegram_channels (label, channel_id) VALUES ('alpha', 1001), ('beta', 1002);
INSERT INTO "tp-capital".telegram_bots (token) VALUES ('bot-token-1');

INSERT INTO "tp-capital".tp_capital_signals (channel, asset, signal_type, entry_price, raw_message, created_at) VALUES
  ('alpha', 'PETR4', 'BUY', 36.10, 'compra PETR4 36,10', '2025-11-03 13:00:00+00'),
  ('alpha', 'VALE3', 'SELL', 61.20, 'venda VALE3 61,20', '2025-11-03 14:00:00+00'),
  ('beta', 'PETR4', 'BUY', 36.40, 'compra PETR4 36,40', '2025-11-04 13:00:00+00'),
  ('beta', 'ITUB4', 'BUY', 33.05, 'compra ITUB4 33,05', '2025-11-05 13:00:00+00'),
  (NULL, 'BBDC4', 'BUY', 14.90, 'sem canal', '2025-11-05 15:00:00+00'),
  ('ghost', 'PETR4', 'BUY', 35.00, 'canal apagado 1', '2025-11-03 16:00:00+00'),
  ('ghost', 'WEGE3', 'SELL', 40.00, 'canal apagado 2', '2025-11-04 16:00:00+00'),
  ('ghost', 'ABEV3', 'BUY', 12.00, 'canal apagado 3', '2025-11-05 16:00:00+00');
