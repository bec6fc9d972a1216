-- 003_optimize_documentation.sql — documentation-api (plain PostgreSQL, schema public, owned by
-- the documentation API through Prisma Migrate).
--
--   psql -v ON_ERROR_STOP=1 -d documentation-api -f 003_optimize_documentation.sql
--
-- One transaction; nothing here needs to run outside one. Needs no extension.
-- Names follow Prisma's conventions (<table>_<column>_fkey) so that the Prisma schema changes
-- listed in docs/migrations-001-003.md describe the same database and `prisma migrate diff`
-- finds nothing to undo. Every object this file creates carries a comment starting with
-- 'tick-ingest migration 003', which is how rollback/003_optimize_documentation.rollback.sql
-- tells ours from the application's (for the replaced key it also records the old definition).
-- Safe to run again: each step checks first and says "already" when there is nothing to do.

BEGIN;
SET LOCAL lock_timeout = '10s';

-- CHECK size_bytes <= 100 MiB: NOT VALID first, validated when no existing row exceeds it.
DO $$
DECLARE
  files regclass := to_regclass('public.documentation_files');
  valid boolean;
  blockers bigint;
BEGIN
  IF files IS NULL THEN
    RAISE NOTICE '003 size check: table public.documentation_files not found, skipped';
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = files AND attname = 'size_bytes' AND attnum > 0 AND NOT attisdropped) THEN
    RAISE NOTICE '003 size check: column public.documentation_files.size_bytes not found, skipped';
    RETURN;
  END IF;
  SELECT convalidated INTO valid FROM pg_constraint WHERE conrelid = files AND conname = 'documentation_files_size_bytes_max';
  IF FOUND THEN
    RAISE NOTICE '003 size check: documentation_files_size_bytes_max already exists';
    IF valid THEN
      RETURN;
    END IF;
  ELSE
    ALTER TABLE public.documentation_files
      ADD CONSTRAINT documentation_files_size_bytes_max CHECK (size_bytes <= 104857600) NOT VALID;
    COMMENT ON CONSTRAINT documentation_files_size_bytes_max ON public.documentation_files IS 'tick-ingest migration 003';
    RAISE NOTICE '003 size check: added documentation_files_size_bytes_max NOT VALID (size_bytes <= 104857600)';
  END IF;
  SELECT count(*) INTO blockers FROM public.documentation_files WHERE size_bytes > 104857600;
  IF blockers = 0 THEN
    ALTER TABLE public.documentation_files VALIDATE CONSTRAINT documentation_files_size_bytes_max;
    RAISE NOTICE '003 size check: validated documentation_files_size_bytes_max';
  ELSE
    RAISE NOTICE '003 size check: % rows in public.documentation_files block validation of documentation_files_size_bytes_max (size_bytes > 104857600); rows kept, constraint stays NOT VALID (new rows are checked); list them with the query in docs/migrations-001-003.md', blockers;
  END IF;
END $$;

-- idea_id -> documentation_ideas(id) ON DELETE CASCADE, replacing the key Prisma created
-- (its ON UPDATE action is kept; Prisma's default is CASCADE).
DO $$
DECLARE
  files regclass := to_regclass('public.documentation_files');
  ideas regclass := to_regclass('public.documentation_ideas');
  idea_att smallint;
  id_att smallint;
  old record;
  fk_name text := 'documentation_files_idea_id_fkey';
  on_update text := 'CASCADE';
  marker text := 'tick-ingest migration 003';
  blockers bigint;
BEGIN
  IF files IS NULL OR ideas IS NULL THEN
    RAISE NOTICE '003 idea foreign key: table % not found, skipped',
      CASE WHEN files IS NULL THEN 'public.documentation_files' ELSE 'public.documentation_ideas' END;
    RETURN;
  END IF;
  SELECT attnum INTO idea_att FROM pg_attribute WHERE attrelid = files AND attname = 'idea_id' AND attnum > 0 AND NOT attisdropped;
  SELECT attnum INTO id_att FROM pg_attribute WHERE attrelid = ideas AND attname = 'id' AND attnum > 0 AND NOT attisdropped;
  IF idea_att IS NULL OR id_att IS NULL THEN
    RAISE NOTICE '003 idea foreign key: column % not found, skipped',
      CASE WHEN idea_att IS NULL THEN 'public.documentation_files.idea_id' ELSE 'public.documentation_ideas.id' END;
    RETURN;
  END IF;

  SELECT conname, convalidated, confdeltype, confupdtype, pg_get_constraintdef(oid) AS def INTO old
  FROM pg_constraint
  WHERE contype = 'f' AND conrelid = files AND confrelid = ideas AND conkey = ARRAY[idea_att] AND confkey = ARRAY[id_att]
  LIMIT 1;
  IF FOUND AND old.confdeltype = 'c' THEN
    fk_name := old.conname;
    RAISE NOTICE '003 idea foreign key: % (ON DELETE CASCADE) already exists', fk_name;
    IF old.convalidated THEN
      RETURN;
    END IF;
  ELSE
    IF FOUND THEN
      on_update := CASE old.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                                         WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END;
      marker := format('%s; replaced %s: %s', marker, old.conname, old.def);
      EXECUTE format('ALTER TABLE public.documentation_files DROP CONSTRAINT %I', old.conname);
      RAISE NOTICE '003 idea foreign key: dropped % (%)', old.conname, old.def;
    END IF;
    EXECUTE format(
      'ALTER TABLE public.documentation_files ADD CONSTRAINT documentation_files_idea_id_fkey FOREIGN KEY (idea_id)
       REFERENCES public.documentation_ideas (id) ON DELETE CASCADE ON UPDATE %s NOT VALID', on_update);
    EXECUTE format('COMMENT ON CONSTRAINT documentation_files_idea_id_fkey ON public.documentation_files IS %L', marker);
    RAISE NOTICE '003 idea foreign key: added documentation_files_idea_id_fkey NOT VALID (idea_id) -> documentation_ideas (id) ON DELETE CASCADE ON UPDATE %', on_update;
  END IF;

  SELECT count(*) INTO blockers FROM public.documentation_files f
  WHERE f.idea_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.documentation_ideas i WHERE i.id = f.idea_id);
  IF blockers = 0 THEN
    EXECUTE format('ALTER TABLE public.documentation_files VALIDATE CONSTRAINT %I', fk_name);
    RAISE NOTICE '003 idea foreign key: validated %', fk_name;
  ELSE
    RAISE NOTICE '003 idea foreign key: % rows in public.documentation_files block validation of % (idea_id not in documentation_ideas.id); rows kept, constraint stays NOT VALID (new rows are checked); list them with the query in docs/migrations-001-003.md', blockers, fk_name;
  END IF;
END $$;

-- file_path must look like uploads/YYYY/MM/<name>: checked on insert, and on update when
-- file_path changes, so rows written before this migration stay updatable otherwise.
DO $$
DECLARE
  files regclass := to_regclass('public.documentation_files');
  legacy bigint;
BEGIN
  IF files IS NULL THEN
    RAISE NOTICE '003 file_path trigger: table public.documentation_files not found, skipped';
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = files AND attname = 'file_path' AND attnum > 0 AND NOT attisdropped) THEN
    RAISE NOTICE '003 file_path trigger: column public.documentation_files.file_path not found, skipped';
    RETURN;
  END IF;

  IF to_regprocedure('public.documentation_files_check_file_path()') IS NOT NULL THEN
    RAISE NOTICE '003 file_path trigger: function public.documentation_files_check_file_path() already exists';
  ELSE
    CREATE FUNCTION public.documentation_files_check_file_path() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.file_path IS NOT DISTINCT FROM OLD.file_path THEN
        RETURN NEW;
      END IF;
      IF NEW.file_path IS NOT NULL AND NEW.file_path !~ '^uploads/[0-9]{4}/(0[1-9]|1[0-2])/[^/].*$' THEN
        RAISE EXCEPTION 'documentation_files.file_path must look like uploads/YYYY/MM/<name>, got %', NEW.file_path
          USING ERRCODE = 'check_violation', TABLE = 'documentation_files', COLUMN = 'file_path';
      END IF;
      RETURN NEW;
    END
    $fn$;
    COMMENT ON FUNCTION public.documentation_files_check_file_path() IS 'tick-ingest migration 003';
    RAISE NOTICE '003 file_path trigger: created function public.documentation_files_check_file_path()';
  END IF;

  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = files AND tgname = 'documentation_files_check_file_path') THEN
    RAISE NOTICE '003 file_path trigger: trigger documentation_files_check_file_path already exists';
  ELSE
    CREATE TRIGGER documentation_files_check_file_path
      BEFORE INSERT OR UPDATE ON public.documentation_files
      FOR EACH ROW EXECUTE FUNCTION public.documentation_files_check_file_path();
    COMMENT ON TRIGGER documentation_files_check_file_path ON public.documentation_files IS 'tick-ingest migration 003';
    RAISE NOTICE '003 file_path trigger: created trigger documentation_files_check_file_path';
  END IF;

  SELECT count(*) INTO legacy FROM public.documentation_files
  WHERE file_path IS NOT NULL AND file_path !~ '^uploads/[0-9]{4}/(0[1-9]|1[0-2])/[^/].*$';
  IF legacy > 0 THEN
    RAISE NOTICE '003 file_path trigger: % existing rows in public.documentation_files have a file_path not like uploads/YYYY/MM/<name>; rows kept, the trigger rejects them only when their file_path is next changed; list them with the query in docs/migrations-001-003.md', legacy;
  END IF;
END $$;

COMMIT;
