-- 001_optimize_tpcapital.sql — APPS-TPCAPITAL, schema "tp-capital" (owned by the TP Capital app).
--
--   psql -v ON_ERROR_STOP=1 -d APPS-TPCAPITAL -f 001_optimize_tpcapital.sql
--
-- One transaction: everything here is transactional, including the continuous aggregate
-- (created WITH NO DATA; its policy fills it in the background). Indexes are built without
-- CONCURRENTLY because TimescaleDB refuses CONCURRENTLY on hypertables; see
-- docs/migrations-001-003.md for the per-chunk alternative on a very large table.
-- Every object this file creates carries the comment 'tick-ingest migration 001', which is how
-- rollback/001_optimize_tpcapital.rollback.sql tells ours from the application's.
-- Safe to run again: each step checks first and says "already" when there is nothing to do.

BEGIN;
-- Fail fast instead of queueing behind the application's long transactions (and making its
-- other sessions queue behind us); rerun later, nothing is half-applied.
SET LOCAL lock_timeout = '10s';

-- Soft delete: two nullable columns (no default, so no table rewrite).
DO $$
DECLARE
  t regclass := to_regclass('"tp-capital".tp_capital_signals');
  col record;
BEGIN
  IF t IS NULL THEN
    RAISE NOTICE '001 soft delete: table "tp-capital".tp_capital_signals not found, skipped';
    RETURN;
  END IF;
  FOR col IN SELECT * FROM (VALUES ('deleted_at', 'timestamptz'), ('deleted_by', 'varchar(100)')) AS c(name, type) LOOP
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t AND attname = col.name AND attnum > 0 AND NOT attisdropped) THEN
      RAISE NOTICE '001 soft delete: column %.% already exists', t, col.name;
    ELSE
      EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', t, col.name, col.type);
      EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', t, col.name, 'tick-ingest migration 001');
      RAISE NOTICE '001 soft delete: added column %.% %', t, col.name, col.type;
    END IF;
  END LOOP;
END $$;

-- tp_capital_signals.channel -> telegram_channels.label ON DELETE RESTRICT.
-- Added NOT VALID (new rows are checked at once, existing rows are not touched), then validated
-- only when no existing row blocks it; otherwise the blocking rows are counted and kept.
DO $$
DECLARE
  sig regclass := to_regclass('"tp-capital".tp_capital_signals');
  chan regclass := to_regclass('"tp-capital".telegram_channels');
  channel_att smallint;
  label_att smallint;
  fk_name text;
  fk_valid boolean;
  dupes bigint;
  blockers bigint;
BEGIN
  IF sig IS NULL OR chan IS NULL THEN
    RAISE NOTICE '001 foreign key: table % not found, skipped',
      CASE WHEN sig IS NULL THEN '"tp-capital".tp_capital_signals' ELSE '"tp-capital".telegram_channels' END;
    RETURN;
  END IF;
  SELECT attnum INTO channel_att FROM pg_attribute WHERE attrelid = sig AND attname = 'channel' AND NOT attisdropped;
  SELECT attnum INTO label_att FROM pg_attribute WHERE attrelid = chan AND attname = 'label' AND NOT attisdropped;
  IF channel_att IS NULL OR label_att IS NULL THEN
    RAISE NOTICE '001 foreign key: column % not found, skipped',
      CASE WHEN channel_att IS NULL THEN '"tp-capital".tp_capital_signals.channel' ELSE '"tp-capital".telegram_channels.label' END;
    RETURN;
  END IF;

  -- A foreign key needs a plain unique index on exactly (label).
  IF NOT EXISTS (
    SELECT 1 FROM pg_index
    WHERE indrelid = chan AND indisunique AND indpred IS NULL AND indexprs IS NULL
      AND indnkeyatts = 1 AND indkey[0] = label_att
  ) THEN
    SELECT count(*) INTO dupes FROM (
      SELECT label FROM "tp-capital".telegram_channels WHERE label IS NOT NULL GROUP BY label HAVING count(*) > 1
    ) d;
    IF dupes > 0 THEN
      RAISE NOTICE '001 foreign key: % labels occur more than once in "tp-capital".telegram_channels, so label cannot be unique; foreign key skipped (list them: SELECT label, count(*) FROM "tp-capital".telegram_channels GROUP BY label HAVING count(*) > 1)', dupes;
      RETURN;
    END IF;
    ALTER TABLE "tp-capital".telegram_channels ADD CONSTRAINT telegram_channels_label_key UNIQUE (label);
    COMMENT ON CONSTRAINT telegram_channels_label_key ON "tp-capital".telegram_channels IS 'tick-ingest migration 001';
    RAISE NOTICE '001 foreign key: added unique constraint telegram_channels_label_key on "tp-capital".telegram_channels (label)';
  END IF;

  SELECT conname, convalidated INTO fk_name, fk_valid FROM pg_constraint
  WHERE contype = 'f' AND conrelid = sig AND confrelid = chan AND conkey = ARRAY[channel_att] AND confkey = ARRAY[label_att]
  LIMIT 1;
  IF FOUND THEN
    RAISE NOTICE '001 foreign key: % on "tp-capital".tp_capital_signals (channel) already exists', fk_name;
    IF fk_valid THEN
      RETURN;
    END IF;
  ELSE
    ALTER TABLE "tp-capital".tp_capital_signals
      ADD CONSTRAINT tp_capital_signals_channel_fkey FOREIGN KEY (channel)
      REFERENCES "tp-capital".telegram_channels (label) ON DELETE RESTRICT NOT VALID;
    COMMENT ON CONSTRAINT tp_capital_signals_channel_fkey ON "tp-capital".tp_capital_signals IS 'tick-ingest migration 001';
    fk_name := 'tp_capital_signals_channel_fkey';
    RAISE NOTICE '001 foreign key: added tp_capital_signals_channel_fkey NOT VALID on "tp-capital".tp_capital_signals (channel) -> telegram_channels (label) ON DELETE RESTRICT';
  END IF;

  SELECT count(*) INTO blockers FROM "tp-capital".tp_capital_signals s
  WHERE s.channel IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM "tp-capital".telegram_channels c WHERE c.label = s.channel);
  IF blockers = 0 THEN
    EXECUTE format('ALTER TABLE "tp-capital".tp_capital_signals VALIDATE CONSTRAINT %I', fk_name);
    RAISE NOTICE '001 foreign key: validated %', fk_name;
  ELSE
    RAISE NOTICE '001 foreign key: % rows in "tp-capital".tp_capital_signals block validation of % (channel not in telegram_channels.label); rows kept, constraint stays NOT VALID (new rows are checked); list them with the query in docs/migrations-001-003.md', blockers, fk_name;
  END IF;
END $$;

-- Dashboard and index-only-scan indexes, plus the partial index for live (not deleted) rows.
DO $$
DECLARE
  t regclass := to_regclass('"tp-capital".tp_capital_signals');
  ix record;
  missing text;
BEGIN
  IF t IS NULL THEN
    RAISE NOTICE '001 indexes: table "tp-capital".tp_capital_signals not found, skipped';
    RETURN;
  END IF;
  FOR ix IN SELECT * FROM (VALUES
    ('tp_capital_signals_channel_asset_created_at_idx', '(channel, asset, created_at DESC)', '', ARRAY['channel', 'asset', 'created_at']),
    ('tp_capital_signals_channel_created_at_incl_idx', '(channel, created_at DESC) INCLUDE (signal_type, asset, entry_price)', '',
      ARRAY['channel', 'created_at', 'signal_type', 'asset', 'entry_price']),
    ('tp_capital_signals_live_created_at_idx', '(created_at DESC)', ' WHERE deleted_at IS NULL', ARRAY['created_at', 'deleted_at'])
  ) AS v(name, cols, pred, needs) LOOP
    IF to_regclass(format('"tp-capital".%I', ix.name)) IS NOT NULL THEN
      RAISE NOTICE '001 indexes: % already exists', ix.name;
      CONTINUE;
    END IF;
    SELECT string_agg(n, ', ') INTO missing FROM unnest(ix.needs) AS n
    WHERE NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t AND attname = n AND attnum > 0 AND NOT attisdropped);
    IF missing IS NOT NULL THEN
      RAISE NOTICE '001 indexes: column(s) % of "tp-capital".tp_capital_signals not found, % skipped', missing, ix.name;
      CONTINUE;
    END IF;
    EXECUTE format('CREATE INDEX %I ON %s %s%s', ix.name, t, ix.cols, ix.pred);
    EXECUTE format('COMMENT ON INDEX "tp-capital".%I IS %L', ix.name, 'tick-ingest migration 001');
    RAISE NOTICE '001 indexes: created %', ix.name;
  END LOOP;
END $$;

-- Compression and the daily continuous aggregate: TimescaleDB community edition only.
DO $$
DECLARE
  t regclass := to_regclass('"tp-capital".tp_capital_signals');
  ts text;  -- schema of the timescaledb extension, to call its functions qualified
  license text := current_setting('timescaledb.license', true);
BEGIN
  IF t IS NULL THEN
    RAISE NOTICE '001 compression, daily summary: table "tp-capital".tp_capital_signals not found, skipped';
    RETURN;
  END IF;
  SELECT n.nspname INTO ts FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb';
  IF ts IS NULL THEN
    RAISE NOTICE '001 compression, daily summary: timescaledb is not installed in this database, skipped';
    RETURN;
  END IF;
  IF license IS DISTINCT FROM 'timescale' THEN
    RAISE NOTICE '001 compression, daily summary: timescaledb.license is % (compression and continuous aggregates need the community edition, license ''timescale''), skipped', coalesce(license, 'unset');
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = 'tp-capital' AND hypertable_name = 'tp_capital_signals') THEN
    RAISE NOTICE '001 compression, daily summary: "tp-capital".tp_capital_signals is not a hypertable, skipped';
    RETURN;
  END IF;

  IF EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = 'tp-capital' AND hypertable_name = 'tp_capital_signals' AND compression_enabled) THEN
    RAISE NOTICE '001 compression: already enabled on "tp-capital".tp_capital_signals (settings left as they are)';
  ELSE
    ALTER TABLE "tp-capital".tp_capital_signals SET (
      timescaledb.compress,
      timescaledb.compress_segmentby = 'channel, asset',
      timescaledb.compress_orderby = 'created_at DESC'
    );
    RAISE NOTICE '001 compression: enabled on "tp-capital".tp_capital_signals (segment by channel, asset; order by created_at DESC)';
  END IF;
  IF EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_schema = 'tp-capital' AND hypertable_name = 'tp_capital_signals') THEN
    RAISE NOTICE '001 compression: policy already exists';
  ELSE
    EXECUTE format('SELECT %I.add_compression_policy(%L::regclass, compress_after => interval %L)', ts, t, '7 days');
    RAISE NOTICE '001 compression: added policy compressing chunks older than 7 days';
  END IF;

  IF to_regclass('"tp-capital".tp_capital_signals_daily') IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates WHERE view_schema = 'tp-capital' AND view_name = 'tp_capital_signals_daily') THEN
      RAISE NOTICE '001 daily summary: "tp-capital".tp_capital_signals_daily exists but is not a continuous aggregate, skipped';
      RETURN;
    END IF;
    RAISE NOTICE '001 daily summary: "tp-capital".tp_capital_signals_daily already exists';
  ELSE
    -- WITH NO DATA keeps this inside the transaction; materialized_only = false answers from the
    -- raw rows until the policy's first run has materialized them.
    CREATE MATERIALIZED VIEW "tp-capital".tp_capital_signals_daily
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(interval '1 day', created_at, 'America/Sao_Paulo') AS day,
           channel,
           signal_type,
           count(*) AS signals,
           count(DISTINCT asset) AS assets,
           avg(entry_price) AS avg_entry_price,
           max(created_at) AS last_signal_at
    FROM "tp-capital".tp_capital_signals
    WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3
    WITH NO DATA;
    -- A continuous aggregate is a view (relkind v) to COMMENT, though DROP MATERIALIZED VIEW removes it.
    COMMENT ON VIEW "tp-capital".tp_capital_signals_daily IS 'tick-ingest migration 001';
    RAISE NOTICE '001 daily summary: created continuous aggregate "tp-capital".tp_capital_signals_daily';
  END IF;
  IF EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'tp-capital' AND hypertable_name = 'tp_capital_signals_daily') THEN
    RAISE NOTICE '001 daily summary: refresh policy already exists';
  ELSE
    EXECUTE format(
      'SELECT %I.add_continuous_aggregate_policy(%L::regclass, start_offset => NULL, end_offset => interval %L, schedule_interval => interval %L)',
      ts, '"tp-capital".tp_capital_signals_daily', '1 hour', '15 minutes');
    RAISE NOTICE '001 daily summary: added refresh policy every 15 minutes';
  END IF;
END $$;

COMMIT;
