import { describe, expect, it } from 'vitest';
import { MigrationError, planMigrations } from '../../src/schema/plan.js';
import { checksum, type SqlFile } from '../../src/schema/sql-files.js';

const file = (version: string, sql = `-- ${version}`): SqlFile => ({ version, sql, checksum: checksum(sql) });
const a = file('001_a.sql');
const b = file('002_b.sql');
const c = file('003_c.sql');

describe('planMigrations', () => {
  it.each([
    { name: 'nothing applied yet', applied: [], pending: [a, b, c], skipped: [] },
    { name: 'some applied', applied: [a, b], pending: [c], skipped: ['001_a.sql', '002_b.sql'] },
    {
      name: 'all applied',
      applied: [a, b, c],
      pending: [],
      skipped: ['001_a.sql', '002_b.sql', '003_c.sql'],
    },
    {
      name: 'a gap is filled in file order',
      applied: [a, c],
      pending: [b],
      skipped: ['001_a.sql', '003_c.sql'],
    },
    {
      name: 'applied rows without a file are ignored',
      applied: [a, b, c, file('000_gone.sql')],
      pending: [],
      skipped: ['001_a.sql', '002_b.sql', '003_c.sql'],
    },
  ])('$name', ({ applied, pending, skipped }) => {
    const plan = planMigrations([a, b, c], applied);
    expect(plan.pending.map((f) => f.version)).toEqual(pending.map((f) => f.version));
    expect(plan.skipped).toEqual(skipped);
  });

  it('refuses an applied file whose content changed, naming it', () => {
    const changed = file('002_b.sql', '-- edited after it was applied');
    const attempt = () => planMigrations([a, changed, c], [a, b]);
    expect(attempt).toThrow(MigrationError);
    expect(attempt).toThrow(/migration 002_b\.sql was applied with checksum .* but the file now has/);
    try {
      attempt();
    } catch (err) {
      expect((err as MigrationError).version).toBe('002_b.sql');
    }
  });
});

describe('checksum', () => {
  it.each([
    { x: 'select 1;', y: 'select 1;', same: true },
    { x: 'select 1;', y: 'select 1; ', same: false },
    { x: 'select 1;\n', y: 'select 1;\r\n', same: false },
  ])('$x vs $y → same: $same', ({ x, y, same }) => {
    expect(checksum(x) === checksum(y)).toBe(same);
    expect(checksum(x)).toMatch(/^[0-9a-f]{64}$/);
  });
});
