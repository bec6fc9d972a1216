import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { databasePoolOptions } from '../../src/db-options.js';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.js';

/**
 * PostgreSQL over TLS for real: a private cluster (the shared stack's server is not reconfigured)
 * that accepts only TLS connections with a password (pg_hba `hostssl` + scram), serving a
 * certificate for `localhost` signed by a CA this test makes with openssl.
 */
const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** A self-signed CA, `<ca>.crt` and `<ca>.key` in `dir`. */
function makeCa(dir: string, ca: string) {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    ],
    dir,
  );
}

/** server.crt and server.key for `cn` (subjectAltName DNS:cn only), signed by `ca`. */
function makeServerCertificate(dir: string, ca: string, cn: string) {
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    dir,
  );
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=DNS:${cn}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'san.ext',
      '-out',
      'server.crt',
    ],
    dir,
  );
}

describe('PostgreSQL over TLS with databasePoolOptions', () => {
  let dir: string;
  let server: PrivatePostgres | undefined;
  let port: number;
  const password = 'tls-secret';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tick-ingest-pg-tls-'));
    chmodSync(dir, 0o755);
    makeCa(dir, 'test-ca');
    makeCa(dir, 'other-ca');
    makeServerCertificate(dir, 'test-ca', 'localhost');
    // The server reads its key only when postgres owns it and nobody else may read it.
    const [uid, gid] = ['-u', '-g'].map((flag) =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' })),
    );
    chownSync(join(dir, 'server.key'), uid as number, gid as number);
    chmodSync(join(dir, 'server.key'), 0o600);
    server = await startPrivatePostgres({
      tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') },
    });
    port = server.port;
    const owner = new pg.Client({ connectionString: server.ownerUrl });
    await owner.connect();
    await owner.query(`create role tls_user login password '${password}'`);
    await owner.end();
  }, 120_000);

  afterAll(() => {
    server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const url = (host: string, query = '') =>
    `postgres://tls_user:${password}@${host}:${port}/postgres${query}`;

  /** Connects with the worker's pool options and says whether the session is encrypted, and how. */
  async function session(env: Record<string, string>) {
    const pool = new pg.Pool(databasePoolOptions(loadConfig({ KAFKA_BROKERS: 'k:9092', ...env })));
    try {
      const { rows } = await pool.query<{ ssl: boolean; version: string; user: string; app: string }>(
        `select s.ssl, s.version, current_user as user, current_setting('application_name') as app
           from pg_stat_ssl s where s.pid = pg_backend_pid()`,
      );
      return rows[0];
    } finally {
      await pool.end();
    }
  }

  it('sslmode=verify-full with the CA in the URL: an encrypted session, as the worker names itself', async () => {
    const s = await session({
      DATABASE_URL: url('localhost', `?sslmode=verify-full&sslrootcert=${join(dir, 'test-ca.crt')}`),
    });
    expect(s).toEqual({
      ssl: true,
      version: expect.stringMatching(/^TLSv1\.[23]$/),
      user: 'tls_user',
      app: 'tick-ingest',
    });
  });

  it('PGSSLMODE=verify-full and DATABASE_SSL_CA_FILE do the same', async () => {
    const s = await session({
      DATABASE_URL: url('localhost'),
      PGSSLMODE: 'verify-full',
      DATABASE_SSL_CA_FILE: join(dir, 'test-ca.crt'),
    });
    expect(s?.ssl).toBe(true);
  });

  it('verify-full refuses a certificate that does not name the host; verify-ca accepts it', async () => {
    const ca = join(dir, 'test-ca.crt');
    await expect(
      session({ DATABASE_URL: url('127.0.0.1'), PGSSLMODE: 'verify-full', DATABASE_SSL_CA_FILE: ca }),
    ).rejects.toThrow(/Hostname\/IP does not match certificate's altnames/);
    const s = await session({
      DATABASE_URL: url('127.0.0.1'),
      PGSSLMODE: 'verify-ca',
      DATABASE_SSL_CA_FILE: ca,
    });
    expect(s?.ssl).toBe(true);
  });

  it('verify-ca refuses a certificate another CA signed; require (no CA) encrypts without verifying', async () => {
    await expect(
      session({
        DATABASE_URL: url('localhost'),
        PGSSLMODE: 'verify-ca',
        DATABASE_SSL_CA_FILE: join(dir, 'other-ca.crt'),
      }),
    ).rejects.toThrow(/self[- ]signed certificate|unable to verify|unable to get local issuer/);
    const s = await session({ DATABASE_URL: url('localhost', '?sslmode=require') });
    expect(s?.ssl).toBe(true);
  });

  it('without TLS the server refuses the connection (so the checks above could fail)', async () => {
    await expect(session({ DATABASE_URL: url('localhost') })).rejects.toThrow(
      /no pg_hba\.conf entry.*no encryption/,
    );
  });
});
