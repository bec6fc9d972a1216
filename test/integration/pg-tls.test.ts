import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { databasePoolOptions } from '../../src/db-options.js';

/**
 * PostgreSQL over TLS for real: a private PostgreSQL 15 cluster (the shared stack's server is not
 * reconfigured) that accepts only TLS connections with a password (pg_hba `hostssl` + scram),
 * serving a certificate for `localhost` signed by a CA this test makes with openssl.
 */
const PG_BIN = '/usr/lib/postgresql/15/bin';
const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], { stdio: 'pipe' });
const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

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
  let data: string;
  let port: number;
  let started = false;
  const password = 'tls-secret';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tick-ingest-pg-tls-'));
    chmodSync(dir, 0o755);
    makeCa(dir, 'test-ca');
    makeCa(dir, 'other-ca');
    makeServerCertificate(dir, 'test-ca', 'localhost');
    data = join(dir, 'data');
    const [uid, gid] = ['-u', '-g'].map((flag) =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' })),
    );
    // The server reads its key only when postgres owns it and nobody else may read it.
    for (const f of ['server.key', 'server.crt', '.']) chownSync(join(dir, f), uid as number, gid as number);
    chmodSync(join(dir, 'server.key'), 0o600);
    asPostgres('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=reject',
      '--encoding=UTF8',
    ]);
    port = await freePort();
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      [
        `port = ${port}`,
        `listen_addresses = 'localhost'`,
        `unix_socket_directories = '${dir}'`,
        'ssl = on',
        `ssl_cert_file = '${join(dir, 'server.crt')}'`,
        `ssl_key_file = '${join(dir, 'server.key')}'`,
        "password_encryption = 'scram-sha-256'",
        'fsync = off',
        'shared_buffers = 16MB',
      ].join('\n'),
    );
    // TLS or nothing: a plaintext connection finds no pg_hba line and is refused.
    writeFileSync(
      join(data, 'pg_hba.conf'),
      'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n',
    );
    asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', 'start']);
    started = true;
    execFileSync(
      'psql',
      [
        '-X',
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-c',
        `create role tls_user login password '${password}'`,
      ],
      { stdio: 'pipe' },
    );
  }, 120_000);

  afterAll(() => {
    if (started) asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
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
