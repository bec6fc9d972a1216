import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { databasePoolOptions } from '../../src/db-options.js';

const dir = mkdtempSync(join(tmpdir(), 'db-options-'));
const urlCa = join(dir, 'url-ca.pem');
const envCa = join(dir, 'env-ca.pem');
writeFileSync(urlCa, 'URL CA');
writeFileSync(envCa, 'ENV CA');

const options = (env: Record<string, string>) =>
  databasePoolOptions(loadConfig({ KAFKA_BROKERS: 'k:9092', ...env }));

/** What the TLS options amount to: off, or whether the chain and the host name are checked, and which CA. */
function tls(ssl: unknown) {
  if (ssl === false) return 'off';
  const o = ssl as { ca?: string; rejectUnauthorized?: boolean; checkServerIdentity?: () => unknown };
  return {
    chain: o.rejectUnauthorized !== false,
    host: o.rejectUnauthorized !== false && o.checkServerIdentity === undefined,
    ca: o.ca ?? 'system',
  };
}

describe('databasePoolOptions', () => {
  it.each([
    ['no sslmode anywhere', 'postgres://u@db/x', {}, 'off'],
    ['sslmode=disable', 'postgres://u@db/x?sslmode=disable', { PGSSLMODE: 'verify-full' }, 'off'],
    [
      'require without a CA',
      'postgres://u@db/x?sslmode=require',
      {},
      { chain: false, host: false, ca: 'system' },
    ],
    [
      'require with a CA (as libpq: verify-ca)',
      'postgres://u@db/x',
      { PGSSLMODE: 'require', DATABASE_SSL_CA_FILE: envCa },
      { chain: true, host: false, ca: 'ENV CA' },
    ],
    [
      'verify-ca',
      'postgres://u@db/x',
      { PGSSLMODE: 'verify-ca' },
      { chain: true, host: false, ca: 'system' },
    ],
    [
      'verify-full from PGSSLMODE',
      'postgres://u@db/x',
      { PGSSLMODE: 'verify-full', DATABASE_SSL_CA_FILE: envCa },
      { chain: true, host: true, ca: 'ENV CA' },
    ],
    [
      'the URL winning over the environment',
      `postgres://u@db/x?sslmode=verify-full&sslrootcert=${urlCa}`,
      { PGSSLMODE: 'disable', DATABASE_SSL_CA_FILE: envCa },
      { chain: true, host: true, ca: 'URL CA' },
    ],
  ])('%s', (_what, url, env, expected) => {
    expect(tls(options({ DATABASE_URL: url, ...env }).ssl)).toEqual(expected);
  });

  it('takes sslmode and sslrootcert out of the connection string and keeps the rest', () => {
    const o = options({
      DATABASE_URL: `postgres://u:p@db:5433/x?sslmode=verify-full&sslrootcert=${urlCa}&options=-c%20a%3Db`,
    });
    expect(o.connectionString).toBe('postgres://u:p@db:5433/x?options=-c+a%3Db');
    expect([o.application_name, o.max, o.password]).toEqual(['tick-ingest', 6, undefined]);
  });

  it('passes PGPASSWORD only when the URL has no password', () => {
    expect(options({ DATABASE_URL: 'postgres://u@db/x', PGPASSWORD: 'env' }).password).toBe('env');
    expect(options({ DATABASE_URL: 'postgres://u:url@db/x', PGPASSWORD: 'env' }).password).toBeUndefined();
  });
});
