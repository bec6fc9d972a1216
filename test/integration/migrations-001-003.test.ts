import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type ScratchDatabase } from '../support/fresh.js';
import { stack } from '../support/stack.js';

// The migrations are run as the user runs them: the real psql binary, ON_ERROR_STOP, one file.
const MIGRATION = {
  '001': 'sql/migrations/001_optimize_tpcapital.sql',
  '002': 'sql/migrations/002_optimize_workspace.sql',
  '003': 'sql/migrations/003_optimize_documentation.sql',
} as const;
const ROLLBACK = {
  '001': 'sql/migrations/rollback/001_optimize_tpcapital.rollback.sql',
  '002': 'sql/migrations/rollback/002_optimize_workspace.rollback.sql',
  '003': 'sql/migrations/rollback/003_optimize_documentation.rollback.sql',
} as const;

interface PsqlRun {
  code: number;
  stdout: string;
  notices: string[];
  /** stderr lines that are not NOTICEs (errors, warnings). */
  other: string[];
}

async function psql(url: string, file: string): Promise<PsqlRun> {
  let code = 0;
  let stdout = '';
  let stderr = '';
  try {
    ({ stdout, stderr } = await promisify(execFile)('psql', [
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      url,
      '-f',
      file,
    ]));
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    ({ code, stdout, stderr } = failed);
  }
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const notice = /NOTICE:\s+(.*)$/;
  return {
    code,
    stdout,
    notices: lines.flatMap((l) => notice.exec(l)?.[1] ?? []),
    other: lines.filter((l) => !notice.test(l)),
  };
}

/** A new database without any extension (documentation-api is plain PostgreSQL). */
async function plainDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new URL(stack().databaseUrl);
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`create database "${name}"`);
  const url = new URL(stack().databaseUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => run(`drop database if exists "${name}" with (force)`) };
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function load(url: string, fixture: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(await readFile(fixture, 'utf8'));
  } finally {
    await c.end();
  }
}

/**
 * What the migrations can change in the given schemas, one line per object; with `versions`,
 * each line also carries the catalog row's xmin, so a statement that rewrote an object with the
 * same definition still shows up.
 */
async function catalog(url: string, schemas: string[], versions = false): Promise<string[]> {
  const rows = await query<{ item: string; x: string }>(
    url,
    `select format('class %s.%s %s %s', n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class')) as item, c.xmin::text as x
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = any($1)
     union all
     select format('column %s.%s %s notnull=%s %s', c.oid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   col_description(c.oid, a.attnum)), a.xmin::text
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and a.attnum > 0 and not a.attisdropped
     union all
     select format('constraint %s.%s %s valid=%s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid), k.convalidated,
                   obj_description(k.oid, 'pg_constraint')), k.xmin::text
       from pg_constraint k join pg_namespace n on n.oid = k.connamespace where n.nspname = any($1)
     union all
     select format('index %s', pg_get_indexdef(i.indexrelid)), i.xmin::text
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = any($1)
     union all
     select format('trigger %s %s', pg_get_triggerdef(t.oid), obj_description(t.oid, 'pg_trigger')), t.xmin::text
       from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and not t.tgisinternal
     union all
     select format('function %s %s %s', p.oid::regprocedure, md5(p.prosrc), obj_description(p.oid, 'pg_proc')), p.xmin::text
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any($1)`,
    [schemas],
  );
  return rows.map((r) => (versions ? `${r.item} @${r.x}` : r.item)).sort();
}

/** A row's content without its physical identity (for after the tests have updated rows). */
const content = (rs: string[]): string[] => rs.map((r) => r.replace(/^\S+ \S+ \S+ /, '')).sort();

/** Each row's physical identity and content: equal before and after means kept and not rewritten. */
async function rows(url: string, table: string, columns: string[]): Promise<string[]> {
  const found = await query<{ r: string }>(
    url,
    `select format('%s %s %s %s', tableoid::regclass, ctid, xmin, json_build_array(${columns.join(', ')})) as r from ${table}`,
  );
  return found.map((f) => f.r).sort();
}

function expectOnlyNotices(run: PsqlRun): void {
  expect(run.other).toEqual([]);
  expect(run.code).toBe(0);
  // stdout carries nothing but command tags (no result rows)
  expect(run.stdout.split('\n').filter((l) => l !== '' && !/^(BEGIN|SET|DO|COMMIT)$/.test(l))).toEqual([]);
}

describe('migration 001 (tp-capital) on the apache stack', () => {
  let db: ScratchDatabase;
  const schemas = ['tp-capital'];
  const signalColumns = ['id', 'channel', 'asset', 'signal_type', 'entry_price', 'raw_message', 'created_at'];
  let before: string[];
  let signalsBefore: string[];

  beforeAll(async () => {
    db = await freshDatabase('mig001');
    await load(db.url, 'test/support/fixtures-001-tpcapital.sql');
    before = await catalog(db.url, schemas);
    signalsBefore = await rows(db.url, '"tp-capital".tp_capital_signals', signalColumns);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('adds the soft-delete columns, the label key, the NOT VALID foreign key and three indexes; skips compression on apache', async () => {
    const run = await psql(db.url, MIGRATION['001']);
    expectOnlyNotices(run);
    const after = await catalog(db.url, schemas);
    const added = after.filter((l) => !before.includes(l));
    expect(added).toEqual(
      expect.arrayContaining([
        'column "tp-capital".tp_capital_signals.deleted_at timestamp with time zone notnull=f tick-ingest migration 001',
        'column "tp-capital".tp_capital_signals.deleted_by character varying(100) notnull=f tick-ingest migration 001',
        'constraint "tp-capital".telegram_channels.telegram_channels_label_key UNIQUE (label) valid=t tick-ingest migration 001',
        'constraint "tp-capital".tp_capital_signals.tp_capital_signals_channel_fkey FOREIGN KEY (channel) REFERENCES "tp-capital".telegram_channels(label) ON DELETE RESTRICT NOT VALID valid=f tick-ingest migration 001',
        'index CREATE INDEX tp_capital_signals_channel_asset_created_at_idx ON "tp-capital".tp_capital_signals USING btree (channel, asset, created_at DESC)',
        'index CREATE INDEX tp_capital_signals_channel_created_at_incl_idx ON "tp-capital".tp_capital_signals USING btree (channel, created_at DESC) INCLUDE (signal_type, asset, entry_price)',
        'index CREATE INDEX tp_capital_signals_live_created_at_idx ON "tp-capital".tp_capital_signals USING btree (created_at DESC) WHERE (deleted_at IS NULL)',
      ]),
    );
    expect(before.filter((l) => !after.includes(l))).toEqual([]);
    expect(run.notices).toContain(
      '001 foreign key: 3 rows in "tp-capital".tp_capital_signals block validation of tp_capital_signals_channel_fkey (channel not in telegram_channels.label); rows kept, constraint stays NOT VALID (new rows are checked); list them with the query in docs/migrations-001-003.md',
    );
    expect(
      run.notices.some((n) => n.includes('timescaledb.license is apache') && n.includes('skipped')),
    ).toBe(true);
    expect(await query(db.url, `select 1 from pg_class where relname = 'tp_capital_signals_daily'`)).toEqual(
      [],
    );
  });

  it('keeps every signal untouched, including the three from an unknown channel, and checks new rows', async () => {
    expect(await rows(db.url, '"tp-capital".tp_capital_signals', signalColumns)).toEqual(signalsBefore);
    const ghosts = await query(
      db.url,
      `select count(*)::int as n from "tp-capital".tp_capital_signals where channel = 'ghost'`,
    );
    expect(ghosts).toEqual([{ n: 3 }]);
    await expect(
      query(
        db.url,
        `insert into "tp-capital".tp_capital_signals (channel, asset, signal_type, created_at) values ('ghost', 'X', 'BUY', now())`,
      ),
    ).rejects.toThrow(/tp_capital_signals_channel_fkey/);
  });

  it('changes nothing when run a second time', async () => {
    const first = await catalog(db.url, schemas, true);
    const run = await psql(db.url, MIGRATION['001']);
    expectOnlyNotices(run);
    expect(await catalog(db.url, schemas, true)).toEqual(first);
    expect(run.notices.filter((n) => /\b(added|created|validated|enabled)\b/.test(n))).toEqual([]);
    expect(run.notices.filter((n) => n.includes('already')).length).toBeGreaterThanOrEqual(6);
    expect(run.notices.some((n) => n.includes('3 rows') && n.includes('block validation'))).toBe(true);
  });

  it('validates the foreign key on a later run once the blocking rows are fixed', async () => {
    await query(db.url, `insert into "tp-capital".telegram_channels (label) values ('ghost')`);
    const run = await psql(db.url, MIGRATION['001']);
    expectOnlyNotices(run);
    expect(run.notices).toContain('001 foreign key: validated tp_capital_signals_channel_fkey');
    expect(
      await query(
        db.url,
        `select convalidated from pg_constraint where conname = 'tp_capital_signals_channel_fkey'`,
      ),
    ).toEqual([{ convalidated: true }]);
  });

  it('rolls back to the catalog it started from, keeping the rows', async () => {
    const run = await psql(db.url, ROLLBACK['001']);
    expectOnlyNotices(run);
    expect(await catalog(db.url, schemas)).toEqual(before);
    expect(await rows(db.url, '"tp-capital".tp_capital_signals', signalColumns)).toEqual(signalsBefore);
    const again = await psql(db.url, ROLLBACK['001']);
    expectOnlyNotices(again);
    expect(await catalog(db.url, schemas)).toEqual(before);
  });
});

describe('migration 002 (workspace)', () => {
  let db: ScratchDatabase;
  const schemas = ['workspace'];
  const itemColumns = [
    'id',
    'title',
    'category',
    'metadata',
    'created_by',
    'updated_by',
    'created_at',
    'updated_at',
  ];
  let before: string[];
  let itemsBefore: string[];

  beforeAll(async () => {
    db = await freshDatabase('mig002');
    await load(db.url, 'test/support/fixtures-002-workspace.sql');
    before = await catalog(db.url, schemas);
    itemsBefore = await rows(db.url, 'workspace.workspace_items', itemColumns);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('creates users with the backfilled usernames, both foreign keys and the metadata trigger', async () => {
    const run = await psql(db.url, MIGRATION['002']);
    expectOnlyNotices(run);
    const after = await catalog(db.url, schemas);
    expect(after.filter((l) => !before.includes(l))).toEqual(
      expect.arrayContaining([
        'class workspace.users r tick-ingest migration 002',
        'column workspace.users.username character varying(100) notnull=t ',
        'column workspace.users.email character varying(255) notnull=f ',
        'constraint workspace.users.users_username_key UNIQUE (username) valid=t ',
        'constraint workspace.users.users_email_key UNIQUE (email) valid=t ',
        "constraint workspace.users.users_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text]))) valid=t ",
        'constraint workspace.workspace_items.workspace_items_created_by_fkey FOREIGN KEY (created_by) REFERENCES workspace.users(username) ON DELETE SET NULL NOT VALID valid=f tick-ingest migration 002',
        'constraint workspace.workspace_items.workspace_items_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES workspace.users(username) ON DELETE SET NULL valid=t tick-ingest migration 002',
        'trigger CREATE TRIGGER workspace_items_require_metadata_version BEFORE INSERT OR UPDATE ON workspace.workspace_items FOR EACH ROW EXECUTE FUNCTION workspace.workspace_items_require_metadata_version() tick-ingest migration 002',
      ]),
    );
    expect(before.filter((l) => !after.includes(l))).toEqual([]);
    expect(
      await query(db.url, 'select username, email, status from workspace.users order by username'),
    ).toEqual([
      { username: 'ana', email: null, status: 'active' },
      { username: 'bruno', email: null, status: 'active' },
      { username: 'carla', email: null, status: 'active' },
    ]);
    expect(run.notices).toEqual(
      expect.arrayContaining([
        '002 users: backfilled 3 usernames from workspace.workspace_items.created_by',
        expect.stringMatching(
          /^002 foreign keys: 1 rows in workspace\.workspace_items block validation of workspace_items_created_by_fkey /,
        ),
        '002 foreign keys: validated workspace_items_updated_by_fkey',
        expect.stringMatching(
          /^002 metadata trigger: 2 existing rows in workspace\.workspace_items have metadata without a "version" key; rows kept/,
        ),
      ]),
    );
  });

  it('keeps every item untouched, and the trigger rejects new metadata without a version but lets old rows be updated', async () => {
    expect(await rows(db.url, 'workspace.workspace_items', itemColumns)).toEqual(itemsBefore);
    await expect(
      query(db.url, `insert into workspace.workspace_items (title, metadata) values ('new', '{"tags": []}')`),
    ).rejects.toThrow(/"version" key/);
    await query(
      db.url,
      `insert into workspace.workspace_items (title, metadata) values ('new', '{"version": 3}')`,
    );
    await query(db.url, `update workspace.workspace_items set category = 'old' where title = 'legacy-1'`);
    await expect(
      query(
        db.url,
        `update workspace.workspace_items set metadata = '{"tags": [1]}' where title = 'legacy-1'`,
      ),
    ).rejects.toThrow(/"version" key/);
    await expect(
      query(db.url, `insert into workspace.workspace_items (title, created_by) values ('x', 'nobody')`),
    ).rejects.toThrow(/workspace_items_created_by_fkey/);
    await query(db.url, `delete from workspace.workspace_items where title = 'new'`);
    await query(db.url, `update workspace.workspace_items set category = null where title = 'legacy-1'`);
  });

  it('changes nothing when run a second time', async () => {
    const first = await catalog(db.url, schemas, true);
    const usersBefore = await rows(db.url, 'workspace.users', [
      'id',
      'username',
      'email',
      'status',
      'created_at',
    ]);
    const run = await psql(db.url, MIGRATION['002']);
    expectOnlyNotices(run);
    expect(await catalog(db.url, schemas, true)).toEqual(first);
    expect(
      await rows(db.url, 'workspace.users', ['id', 'username', 'email', 'status', 'created_at']),
    ).toEqual(usersBefore);
    expect(run.notices.filter((n) => /\b(added|created|validated|backfilled)\b/.test(n))).toEqual([]);
    expect(run.notices.filter((n) => n.includes('already')).length).toBeGreaterThanOrEqual(5);
  });

  it('rolls back to the catalog it started from, keeping the items', async () => {
    const run = await psql(db.url, ROLLBACK['002']);
    expectOnlyNotices(run);
    expect(run.notices).toContain('002 rollback: dropped table workspace.users');
    expect(await catalog(db.url, schemas)).toEqual(before);
    expect(content(await rows(db.url, 'workspace.workspace_items', itemColumns))).toEqual(
      content(itemsBefore),
    );
  });

  it('rollback keeps workspace.users once it holds data 002 could not rebuild', async () => {
    await psql(db.url, MIGRATION['002']);
    await query(db.url, `insert into workspace.users (username, email) values ('dora', 'dora@example.com')`);
    const run = await psql(db.url, ROLLBACK['002']);
    expectOnlyNotices(run);
    expect(run.notices.some((n) => n.startsWith('002 rollback: table workspace.users kept: 1 users'))).toBe(
      true,
    );
    expect(await query(db.url, `select username from workspace.users where email is not null`)).toEqual([
      { username: 'dora' },
    ]);
  });
});

describe('migration 003 (documentation-api, plain PostgreSQL)', () => {
  let db: ScratchDatabase;
  const schemas = ['public'];
  const fileColumns = ['id', 'file_name', 'file_path', 'size_bytes', 'mime_type', 'idea_id', 'created_at'];
  let before: string[];
  let filesBefore: string[];

  beforeAll(async () => {
    db = await plainDatabase('mig003');
    await load(db.url, 'test/support/fixtures-003-documentation.sql');
    before = await catalog(db.url, schemas);
    filesBefore = await rows(db.url, 'documentation_files', fileColumns);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('runs without timescaledb and adds the size check, the cascading key in place of Prisma’s, and the path trigger', async () => {
    expect(await query(db.url, `select extname from pg_extension where extname = 'timescaledb'`)).toEqual([]);
    const run = await psql(db.url, MIGRATION['003']);
    expectOnlyNotices(run);
    const after = await catalog(db.url, schemas);
    expect(after.filter((l) => !before.includes(l))).toEqual(
      expect.arrayContaining([
        'constraint documentation_files.documentation_files_size_bytes_max CHECK ((size_bytes <= 104857600)) NOT VALID valid=f tick-ingest migration 003',
        'constraint documentation_files.documentation_files_idea_id_fkey FOREIGN KEY (idea_id) REFERENCES documentation_ideas(id) ON UPDATE CASCADE ON DELETE CASCADE valid=t tick-ingest migration 003; replaced documentation_files_idea_id_fkey: FOREIGN KEY (idea_id) REFERENCES documentation_ideas(id) ON UPDATE CASCADE ON DELETE SET NULL',
        'trigger CREATE TRIGGER documentation_files_check_file_path BEFORE INSERT OR UPDATE ON public.documentation_files FOR EACH ROW EXECUTE FUNCTION documentation_files_check_file_path() tick-ingest migration 003',
      ]),
    );
    expect(before.filter((l) => !after.includes(l))).toEqual([
      'constraint documentation_files.documentation_files_idea_id_fkey FOREIGN KEY (idea_id) REFERENCES documentation_ideas(id) ON UPDATE CASCADE ON DELETE SET NULL valid=t ',
    ]);
    expect(run.notices).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^003 size check: 1 rows in public\.documentation_files block validation of documentation_files_size_bytes_max /,
        ),
        '003 idea foreign key: validated documentation_files_idea_id_fkey',
        expect.stringMatching(
          /^003 file_path trigger: 1 existing rows in public\.documentation_files have a file_path not like/,
        ),
      ]),
    );
  });

  it('keeps every file untouched and checks new ones', async () => {
    expect(await rows(db.url, 'documentation_files', fileColumns)).toEqual(filesBefore);
    await expect(
      query(
        db.url,
        `insert into documentation_files (id, file_name, file_path, size_bytes) values ('n1', 'big', 'uploads/2025/11/big', 104857601)`,
      ),
    ).rejects.toThrow(/documentation_files_size_bytes_max/);
    await expect(
      query(
        db.url,
        `insert into documentation_files (id, file_name, file_path, size_bytes) values ('n2', 'x', 'uploads/2025/13/x', 1)`,
      ),
    ).rejects.toThrow(/uploads\/YYYY\/MM/);
    await query(db.url, `update documentation_files set mime_type = 'text/plain' where id = 'f5'`);
    await query(db.url, `update documentation_files set mime_type = 'text/markdown' where id = 'f5'`);
  });

  it('changes nothing when run a second time', async () => {
    const first = await catalog(db.url, schemas, true);
    const run = await psql(db.url, MIGRATION['003']);
    expectOnlyNotices(run);
    expect(await catalog(db.url, schemas, true)).toEqual(first);
    expect(run.notices.filter((n) => /\b(added|created|validated|dropped)\b/.test(n))).toEqual([]);
    expect(run.notices.filter((n) => n.includes('already')).length).toBe(4);
  });

  it('rolls back to the catalog it started from, with Prisma’s key restored', async () => {
    const run = await psql(db.url, ROLLBACK['003']);
    expectOnlyNotices(run);
    expect(await catalog(db.url, schemas)).toEqual(before);
    expect(content(await rows(db.url, 'documentation_files', fileColumns))).toEqual(content(filesBefore));
  });

  it('adds the key NOT VALID and counts orphans when the table had no key at all', async () => {
    await query(db.url, 'alter table documentation_files drop constraint documentation_files_idea_id_fkey');
    await query(
      db.url,
      `insert into documentation_files (id, file_name, file_path, size_bytes, idea_id) values ('o1', 'o', 'uploads/2025/11/o', 1, 'idea-gone')`,
    );
    const run = await psql(db.url, MIGRATION['003']);
    expectOnlyNotices(run);
    expect(run.notices).toContain(
      '003 idea foreign key: 1 rows in public.documentation_files block validation of documentation_files_idea_id_fkey (idea_id not in documentation_ideas.id); rows kept, constraint stays NOT VALID (new rows are checked); list them with the query in docs/migrations-001-003.md',
    );
    expect(await query(db.url, `select id from documentation_files where id = 'o1'`)).toEqual([{ id: 'o1' }]);
  });
});

describe('migrations 001-003 on empty databases', () => {
  const dbs: ScratchDatabase[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it.each([
    ['with timescaledb', () => freshDatabase('migempty')],
    ['plain PostgreSQL', () => plainDatabase('migempty')],
  ])('%s: every file only prints NOTICEs that it skipped, and changes nothing', async (_, create) => {
    const db = await create();
    dbs.push(db);
    const schemas = ['public', 'tp-capital', 'workspace'];
    const before = await catalog(db.url, schemas, true);
    for (const file of [...Object.values(MIGRATION), ...Object.values(ROLLBACK)]) {
      const run = await psql(db.url, file);
      expectOnlyNotices(run);
      for (const n of run.notices) expect(n).toMatch(/not found/);
    }
    expect(await catalog(db.url, schemas, true)).toEqual(before);
  });
});
