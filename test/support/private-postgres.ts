import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/demo/prometheus.js';

/**
 * A PostgreSQL 15 cluster of the test's own (initdb in a temp folder, run as the `postgres` OS
 * user), for what the shared stack's server must not be reconfigured for: TLS, password
 * authentication, statement logging. Over TCP it asks for a SCRAM password (TLS only, with
 * `tls`); the owner `postgres` connects through the Unix socket in `dir` without one.
 */
export interface PrivatePostgres {
  dir: string;
  port: number;
  /** The superuser through the socket. */
  ownerUrl: string;
  /** The server's log (every statement, log_statement = all). */
  serverLog: () => string;
  stop: () => void;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], { stdio: 'pipe' });

export async function startPrivatePostgres(opts: { tls?: { certFile: string; keyFile: string } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tick-ingest-private-pg-'));
  const [uid, gid] = ['-u', '-g'].map((flag) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' })),
  );
  chownSync(dir, uid as number, gid as number);
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  asPostgres('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=reject',
    '--encoding=UTF8',
  ]);
  const port = await freePort();
  const tls = opts.tls
    ? ['ssl = on', `ssl_cert_file = '${opts.tls.certFile}'`, `ssl_key_file = '${opts.tls.keyFile}'`]
    : [];
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      `listen_addresses = 'localhost'`,
      `unix_socket_directories = '${dir}'`,
      "password_encryption = 'scram-sha-256'",
      "log_statement = 'all'",
      'fsync = off',
      'shared_buffers = 16MB',
      ...tls,
    ].join('\n'),
  );
  // With TLS, TLS or nothing: a plaintext TCP connection finds no pg_hba line and is refused.
  const host = opts.tls ? 'hostssl' : 'host';
  writeFileSync(
    join(data, 'pg_hba.conf'),
    `local all all trust\n${host} all all 127.0.0.1/32 scram-sha-256\n${host} all all ::1/128 scram-sha-256\n`,
  );
  const log = join(dir, 'server.log');
  asPostgres('pg_ctl', ['-D', data, '-l', log, '-w', 'start']);
  return {
    dir,
    port,
    ownerUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    serverLog: () => readFileSync(log, 'utf8'),
    stop: () => {
      try {
        asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  } satisfies PrivatePostgres;
}
