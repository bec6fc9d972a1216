-- Reverse of 003_optimize_documentation.sql, for documentation-api:
--
--   psql -v ON_ERROR_STOP=1 -d documentation-api -f rollback/003_optimize_documentation.rollback.sql
--
-- Removes only what 003 created (objects commented 'tick-ingest migration 003'), in one
-- transaction, and puts back the foreign key 003 replaced, from the definition 003 recorded in
-- its comment. Safe to run again. Revert the Prisma schema change too (onDelete back to what
-- it was), or the next `prisma migrate dev` will try to re-create the cascade.

BEGIN;
SET LOCAL lock_timeout = '10s';

DO $$
DECLARE
  files regclass := to_regclass('public.documentation_files');
  fn regprocedure := to_regprocedure('public.documentation_files_check_file_path()');
  r record;
  replaced text[];
  olddef text;
  valid boolean;
BEGIN
  IF files IS NOT NULL THEN
    FOR r IN
      SELECT tgname FROM pg_trigger
      WHERE tgrelid = files AND obj_description(oid, 'pg_trigger') LIKE 'tick-ingest migration 003%'
    LOOP
      EXECUTE format('DROP TRIGGER %I ON public.documentation_files', r.tgname);
      RAISE NOTICE '003 rollback: dropped trigger %', r.tgname;
    END LOOP;
    FOR r IN
      SELECT conname, obj_description(oid, 'pg_constraint') AS note FROM pg_constraint
      WHERE conrelid = files AND obj_description(oid, 'pg_constraint') LIKE 'tick-ingest migration 003%'
    LOOP
      EXECUTE format('ALTER TABLE public.documentation_files DROP CONSTRAINT %I', r.conname);
      RAISE NOTICE '003 rollback: dropped constraint %', r.conname;
      replaced := regexp_match(r.note, '; replaced ([^:]+): (FOREIGN KEY .*)$');
      IF replaced IS NOT NULL THEN
        olddef := regexp_replace(replaced[2], ' NOT VALID$', '');
        EXECUTE format('ALTER TABLE public.documentation_files ADD CONSTRAINT %I %s NOT VALID', replaced[1], olddef);
        BEGIN
          EXECUTE format('ALTER TABLE public.documentation_files VALIDATE CONSTRAINT %I', replaced[1]);
          valid := true;
        EXCEPTION WHEN foreign_key_violation THEN
          valid := false;
        END;
        RAISE NOTICE '003 rollback: restored constraint % (%)%', replaced[1], olddef,
          CASE WHEN valid THEN '' ELSE ' NOT VALID: some rows block its validation' END;
      END IF;
    END LOOP;
  END IF;

  IF obj_description(fn, 'pg_proc') LIKE 'tick-ingest migration 003%' THEN
    DROP FUNCTION public.documentation_files_check_file_path();
    RAISE NOTICE '003 rollback: dropped function public.documentation_files_check_file_path()';
  END IF;
END $$;

COMMIT;
