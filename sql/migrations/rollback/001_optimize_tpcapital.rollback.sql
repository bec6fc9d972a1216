-- Reverse of 001_optimize_tpcapital.sql, for APPS-TPCAPITAL:
--
--   psql -v ON_ERROR_STOP=1 -d APPS-TPCAPITAL -f rollback/001_optimize_tpcapital.rollback.sql
--
-- Removes only what 001 created (objects commented 'tick-ingest migration 001'), in reverse order,
-- in one transaction. It never drops data: the soft-delete columns are dropped only while no row
-- has a value in them; otherwise they stay and a NOTICE gives the statement to drop them by hand.
-- Compression cannot carry a comment, so it is switched off only when its settings are exactly the
-- ones 001 sets; that decompresses every compressed chunk inside this transaction (slow on a big
-- table; plan a window). Safe to run again.

BEGIN;
SET LOCAL lock_timeout = '10s';

DO $$
DECLARE
  sig regclass := to_regclass('"tp-capital".tp_capital_signals');
  chan regclass := to_regclass('"tp-capital".telegram_channels');
  daily regclass := to_regclass('"tp-capital".tp_capital_signals_daily');
  ts text;
  r record;
  n bigint;
BEGIN
  IF obj_description(daily, 'pg_class') LIKE 'tick-ingest migration 001%' THEN
    DROP MATERIALIZED VIEW "tp-capital".tp_capital_signals_daily;  -- its refresh policy goes with it
    RAISE NOTICE '001 rollback: dropped continuous aggregate "tp-capital".tp_capital_signals_daily';
  END IF;
  IF sig IS NULL THEN
    RAISE NOTICE '001 rollback: table "tp-capital".tp_capital_signals not found, nothing else to undo';
    RETURN;
  END IF;

  SELECT n.nspname INTO ts FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb';
  IF ts IS NOT NULL AND EXISTS (
    SELECT 1 FROM timescaledb_information.hypertable_compression_settings
    WHERE hypertable = sig AND replace(segmentby, ' ', '') = 'channel,asset' AND orderby = 'created_at DESC'
  ) THEN
    EXECUTE format('SELECT %I.remove_compression_policy(%L::regclass, if_exists => true)', ts, sig);
    EXECUTE format('SELECT count(%1$I.decompress_chunk(c, true)) FROM %1$I.show_chunks(%2$L::regclass) c', ts, sig) INTO n;
    ALTER TABLE "tp-capital".tp_capital_signals SET (timescaledb.compress = false);
    RAISE NOTICE '001 rollback: compression policy removed, chunks decompressed, compression disabled';
  END IF;

  FOR r IN
    SELECT i.indexrelid::regclass::text AS ix FROM pg_index i
    WHERE i.indrelid = sig AND obj_description(i.indexrelid, 'pg_class') LIKE 'tick-ingest migration 001%'
  LOOP
    EXECUTE format('DROP INDEX %s', r.ix);
    RAISE NOTICE '001 rollback: dropped index %', r.ix;
  END LOOP;

  FOR r IN
    SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
    WHERE conrelid IN (sig, chan) AND obj_description(oid, 'pg_constraint') LIKE 'tick-ingest migration 001%'
    ORDER BY contype = 'u'  -- the foreign key before the unique constraint it depends on
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    RAISE NOTICE '001 rollback: dropped constraint % on %', r.conname, r.tbl;
  END LOOP;

  FOR r IN
    SELECT attname FROM pg_attribute
    WHERE attrelid = sig AND attnum > 0 AND NOT attisdropped
      AND col_description(sig, attnum) LIKE 'tick-ingest migration 001%'
  LOOP
    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', sig, r.attname) INTO n;
    IF n > 0 THEN
      RAISE NOTICE '001 rollback: column %.% kept: % rows have a value in it (drop it by hand if you mean to lose them: ALTER TABLE % DROP COLUMN %)',
        sig, r.attname, n, sig, r.attname;
    ELSE
      EXECUTE format('ALTER TABLE %s DROP COLUMN %I', sig, r.attname);
      RAISE NOTICE '001 rollback: dropped column %.%', sig, r.attname;
    END IF;
  END LOOP;
END $$;

COMMIT;
