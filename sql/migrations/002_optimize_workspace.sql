-- 002_optimize_workspace.sql — APPS-WORKSPACE, schema workspace (owned by the Workspace app).
--
--   psql -v ON_ERROR_STOP=1 -d APPS-WORKSPACE -f 002_optimize_workspace.sql
--
-- One transaction; nothing here needs to run outside one (the only index built is the new,
-- empty users table's). Works with or without timescaledb: it uses none of its features.
-- Every object this file creates carries the comment 'tick-ingest migration 002', which is how
-- rollback/002_optimize_workspace.rollback.sql tells ours from the application's.
-- Safe to run again: each step checks first and says "already" when there is nothing to do.

BEGIN;
SET LOCAL lock_timeout = '10s';

-- workspace.users, then the usernames workspace_items already uses (so the keys can validate).
DO $$
DECLARE
  items regclass := to_regclass('workspace.workspace_items');
  col text;
  added bigint;
BEGIN
  IF to_regnamespace('workspace') IS NULL THEN
    RAISE NOTICE '002 users: schema workspace not found, skipped';
    RETURN;
  END IF;
  IF to_regclass('workspace.users') IS NOT NULL THEN
    RAISE NOTICE '002 users: table workspace.users already exists';
  ELSE
    CREATE TABLE workspace.users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username varchar(100) NOT NULL UNIQUE,
      -- nullable: users backfilled from workspace_items have no known e-mail
      email varchar(255) UNIQUE,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE workspace.users IS 'tick-ingest migration 002';
    RAISE NOTICE '002 users: created table workspace.users';
  END IF;

  IF items IS NULL THEN
    RAISE NOTICE '002 users: table workspace.workspace_items not found, no usernames to backfill';
    RETURN;
  END IF;
  FOREACH col IN ARRAY ARRAY['created_by', 'updated_by'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = items AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
      RAISE NOTICE '002 users: column workspace.workspace_items.% not found, not backfilled', col;
      CONTINUE;
    END IF;
    -- Names longer than users.username allows stay out; they are reported below as blockers.
    EXECUTE format(
      'INSERT INTO workspace.users (username) SELECT DISTINCT %1$I::text FROM workspace.workspace_items
       WHERE %1$I IS NOT NULL AND length(%1$I::text) <= 100 ON CONFLICT (username) DO NOTHING', col);
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
      RAISE NOTICE '002 users: backfilled % usernames from workspace.workspace_items.%', added, col;
    ELSE
      RAISE NOTICE '002 users: usernames in workspace.workspace_items.% already in workspace.users', col;
    END IF;
  END LOOP;
END $$;

-- created_by / updated_by -> users(username) ON DELETE SET NULL: NOT VALID first, validated when
-- no existing row blocks it, otherwise the blocking rows are counted and kept.
DO $$
DECLARE
  items regclass := to_regclass('workspace.workspace_items');
  users regclass := to_regclass('workspace.users');
  col text;
  att pg_attribute;
  fk_name text;
  fk_valid boolean;
  blockers bigint;
BEGIN
  IF items IS NULL OR users IS NULL THEN
    RAISE NOTICE '002 foreign keys: table % not found, skipped',
      CASE WHEN items IS NULL THEN 'workspace.workspace_items' ELSE 'workspace.users' END;
    RETURN;
  END IF;
  FOREACH col IN ARRAY ARRAY['created_by', 'updated_by'] LOOP
    SELECT * INTO att FROM pg_attribute WHERE attrelid = items AND attname = col AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
      RAISE NOTICE '002 foreign keys: column workspace.workspace_items.% not found, skipped', col;
      CONTINUE;
    END IF;
    IF att.atttypid NOT IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) THEN
      RAISE NOTICE '002 foreign keys: workspace.workspace_items.% is %, not text, so it cannot reference users(username); skipped',
        col, format_type(att.atttypid, att.atttypmod);
      CONTINUE;
    END IF;

    SELECT c.conname, c.convalidated INTO fk_name, fk_valid FROM pg_constraint c
    WHERE c.contype = 'f' AND c.conrelid = items AND c.confrelid = users AND c.conkey = ARRAY[att.attnum]
    LIMIT 1;
    IF FOUND THEN
      RAISE NOTICE '002 foreign keys: % on workspace.workspace_items (%) already exists', fk_name, col;
      IF fk_valid THEN
        CONTINUE;
      END IF;
    ELSE
      fk_name := format('workspace_items_%s_fkey', col);
      EXECUTE format(
        'ALTER TABLE workspace.workspace_items ADD CONSTRAINT %I FOREIGN KEY (%I)
         REFERENCES workspace.users (username) ON DELETE SET NULL NOT VALID', fk_name, col);
      EXECUTE format('COMMENT ON CONSTRAINT %I ON workspace.workspace_items IS %L', fk_name, 'tick-ingest migration 002');
      RAISE NOTICE '002 foreign keys: added % NOT VALID on workspace.workspace_items (%) -> users (username) ON DELETE SET NULL', fk_name, col;
      IF att.attnotnull THEN
        RAISE NOTICE '002 foreign keys: workspace.workspace_items.% is NOT NULL, so deleting a user it references will fail instead of setting it to null', col;
      END IF;
    END IF;

    EXECUTE format(
      'SELECT count(*) FROM workspace.workspace_items i WHERE i.%1$I IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM workspace.users u WHERE u.username = i.%1$I)', col) INTO blockers;
    IF blockers = 0 THEN
      EXECUTE format('ALTER TABLE workspace.workspace_items VALIDATE CONSTRAINT %I', fk_name);
      RAISE NOTICE '002 foreign keys: validated %', fk_name;
    ELSE
      RAISE NOTICE '002 foreign keys: % rows in workspace.workspace_items block validation of % (% not in users.username, e.g. longer than 100 characters); rows kept, constraint stays NOT VALID (new rows are checked); list them with the query in docs/migrations-001-003.md',
        blockers, fk_name, col;
    END IF;
  END LOOP;
END $$;

-- Reject metadata without a "version" key on insert, and on update when metadata changes, so rows
-- written before this migration can still be updated in other columns.
DO $$
DECLARE
  items regclass := to_regclass('workspace.workspace_items');
  legacy bigint;
BEGIN
  IF items IS NULL THEN
    RAISE NOTICE '002 metadata trigger: table workspace.workspace_items not found, skipped';
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = items AND attname = 'metadata' AND attnum > 0 AND NOT attisdropped AND atttypid = 'jsonb'::regtype) THEN
    RAISE NOTICE '002 metadata trigger: jsonb column workspace.workspace_items.metadata not found, skipped';
    RETURN;
  END IF;

  IF to_regprocedure('workspace.workspace_items_require_metadata_version()') IS NOT NULL THEN
    RAISE NOTICE '002 metadata trigger: function workspace.workspace_items_require_metadata_version() already exists';
  ELSE
    CREATE FUNCTION workspace.workspace_items_require_metadata_version() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.metadata IS NOT DISTINCT FROM OLD.metadata THEN
        RETURN NEW;
      END IF;
      -- NULL metadata is "no metadata"; whether that is allowed is the column's business.
      IF NEW.metadata IS NOT NULL AND NOT (jsonb_typeof(NEW.metadata) = 'object' AND NEW.metadata ? 'version') THEN
        RAISE EXCEPTION 'workspace_items.metadata must be a JSON object with a "version" key'
          USING ERRCODE = 'check_violation', TABLE = 'workspace_items', COLUMN = 'metadata';
      END IF;
      RETURN NEW;
    END
    $fn$;
    COMMENT ON FUNCTION workspace.workspace_items_require_metadata_version() IS 'tick-ingest migration 002';
    RAISE NOTICE '002 metadata trigger: created function workspace.workspace_items_require_metadata_version()';
  END IF;

  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = items AND tgname = 'workspace_items_require_metadata_version') THEN
    RAISE NOTICE '002 metadata trigger: trigger workspace_items_require_metadata_version already exists';
  ELSE
    CREATE TRIGGER workspace_items_require_metadata_version
      BEFORE INSERT OR UPDATE ON workspace.workspace_items
      FOR EACH ROW EXECUTE FUNCTION workspace.workspace_items_require_metadata_version();
    COMMENT ON TRIGGER workspace_items_require_metadata_version ON workspace.workspace_items IS 'tick-ingest migration 002';
    RAISE NOTICE '002 metadata trigger: created trigger workspace_items_require_metadata_version';
  END IF;

  SELECT count(*) INTO legacy FROM workspace.workspace_items
  WHERE metadata IS NOT NULL AND NOT (jsonb_typeof(metadata) = 'object' AND metadata ? 'version');
  IF legacy > 0 THEN
    RAISE NOTICE '002 metadata trigger: % existing rows in workspace.workspace_items have metadata without a "version" key; rows kept, the trigger rejects them only when their metadata is next changed; list them with the query in docs/migrations-001-003.md', legacy;
  END IF;
END $$;

COMMIT;
