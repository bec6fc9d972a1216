-- Reverse of 002_optimize_workspace.sql, for APPS-WORKSPACE:
--
--   psql -v ON_ERROR_STOP=1 -d APPS-WORKSPACE -f rollback/002_optimize_workspace.rollback.sql
--
-- Removes only what 002 created (objects commented 'tick-ingest migration 002'), in reverse order,
-- in one transaction. workspace.users is dropped only while it holds nothing but what 002 can
-- rebuild (backfilled usernames: no e-mail, status active); otherwise it stays and a NOTICE says
-- why. Safe to run again.

BEGIN;
SET LOCAL lock_timeout = '10s';

DO $$
DECLARE
  items regclass := to_regclass('workspace.workspace_items');
  users regclass := to_regclass('workspace.users');
  fn regprocedure := to_regprocedure('workspace.workspace_items_require_metadata_version()');
  r record;
  n bigint;
BEGIN
  IF items IS NOT NULL THEN
    FOR r IN
      SELECT tgname FROM pg_trigger
      WHERE tgrelid = items AND obj_description(oid, 'pg_trigger') LIKE 'tick-ingest migration 002%'
    LOOP
      EXECUTE format('DROP TRIGGER %I ON workspace.workspace_items', r.tgname);
      RAISE NOTICE '002 rollback: dropped trigger %', r.tgname;
    END LOOP;
    FOR r IN
      SELECT conname FROM pg_constraint
      WHERE conrelid = items AND obj_description(oid, 'pg_constraint') LIKE 'tick-ingest migration 002%'
    LOOP
      EXECUTE format('ALTER TABLE workspace.workspace_items DROP CONSTRAINT %I', r.conname);
      RAISE NOTICE '002 rollback: dropped constraint %', r.conname;
    END LOOP;
  END IF;

  IF obj_description(fn, 'pg_proc') LIKE 'tick-ingest migration 002%' THEN
    DROP FUNCTION workspace.workspace_items_require_metadata_version();
    RAISE NOTICE '002 rollback: dropped function workspace.workspace_items_require_metadata_version()';
  END IF;

  IF obj_description(users, 'pg_class') LIKE 'tick-ingest migration 002%' THEN
    SELECT count(*) INTO n FROM workspace.users WHERE email IS NOT NULL OR status <> 'active';
    IF n > 0 THEN
      RAISE NOTICE '002 rollback: table workspace.users kept: % users have an e-mail or a status that rerunning 002 could not rebuild (drop it by hand if you mean to lose them: DROP TABLE workspace.users)', n;
    ELSE
      DROP TABLE workspace.users;
      RAISE NOTICE '002 rollback: dropped table workspace.users';
    END IF;
  END IF;
END $$;

COMMIT;
