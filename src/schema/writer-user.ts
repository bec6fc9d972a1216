import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

/** The NOLOGIN role of sql/data_capture/015_writer_role.sql. */
export const WRITER_ROLE = 'tick_ingest_writer';

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of a password (the form pg_authid stores), so that the clear
 * password never travels in a statement the server might log. No SASLprep: node-postgres, the
 * client that logs in with it, applies none either.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Create the login user the worker runs as, or set its password when it exists, and make it a
 * member of tick_ingest_writer. Run as the owner after the migrations (which create the role).
 * Refuses a user that has rights of its own beyond that (a superuser, the owner itself).
 */
export async function ensureWriterUser(
  databaseUrl: string,
  user: string,
  password: string,
): Promise<'created' | 'updated'> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tick-ingest migrate' });
  await client.connect();
  try {
    const { rows } = await client.query<{ privileged: boolean; is_self: boolean }>(
      `select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls as privileged, rolname = current_user as is_self
         from pg_roles where rolname = $1`,
      [user],
    );
    const existing = rows[0];
    if (existing?.privileged || existing?.is_self)
      throw new Error(`refusing to make ${user} the writer user: it has rights beyond ${WRITER_ROLE}`);
    const name = client.escapeIdentifier(user);
    const secret = client.escapeLiteral(scramVerifier(password));
    await client.query(
      existing
        ? `alter role ${name} login password ${secret}`
        : `create role ${name} login password ${secret}`,
    );
    await client.query(`grant ${WRITER_ROLE} to ${name}`);
    return existing ? 'updated' : 'created';
  } finally {
    await client.end();
  }
}
