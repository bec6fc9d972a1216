import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWriterUser, WRITER_ROLE } from '../../src/schema/writer-user.js';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.js';

/**
 * `tick-ingest migrate` with WRITER_USER/WRITER_PASSWORD (docker-compose's way of making the
 * worker's login user), on a private cluster that really checks SCRAM passwords and logs every
 * statement: the user logs in with its password, a new password replaces the old one, and the
 * clear password is never in a statement the server logged.
 */
describe('ensureWriterUser', () => {
  let server: PrivatePostgres | undefined;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    const owner = new pg.Client({ connectionString: server.ownerUrl });
    await owner.connect();
    await owner.query(`create role ${WRITER_ROLE} nologin`); // what migration 015 creates
    await owner.end();
  }, 120_000);
  afterAll(() => server?.stop());

  const login = async (user: string, password: string) => {
    const c = new pg.Client({
      connectionString: `postgres://${user}:${encodeURIComponent(password)}@localhost:${server?.port}/postgres`,
    });
    await c.connect();
    try {
      const { rows } = await c.query<{ me: string; writer: boolean }>(
        `select current_user as me, pg_has_role(current_user, '${WRITER_ROLE}', 'member') as writer`,
      );
      return rows[0];
    } finally {
      await c.end();
    }
  };

  it('creates the login user, then changes its password; only the SCRAM verifier reaches the server', async () => {
    const owner = server?.ownerUrl as string;
    const first = 'first-Pa55"word';
    const second = 'second-Pa55word';
    expect(await ensureWriterUser(owner, 'ingest_w', first)).toBe('created');
    expect(await login('ingest_w', first)).toEqual({ me: 'ingest_w', writer: true });
    expect(await ensureWriterUser(owner, 'ingest_w', second)).toBe('updated');
    await expect(login('ingest_w', first)).rejects.toMatchObject({ code: '28P01' });
    expect(await login('ingest_w', second)).toEqual({ me: 'ingest_w', writer: true });
    const log = server?.serverLog() ?? '';
    expect(log).toMatch(/statement: create role "ingest_w" login password 'SCRAM-SHA-256\$4096:/);
    expect(log).not.toContain('Pa55');
  });

  it('refuses to turn a privileged role into the writer', async () => {
    await expect(ensureWriterUser(server?.ownerUrl as string, 'postgres', 'x')).rejects.toThrow(
      /refusing to make postgres the writer user/,
    );
  });
});
