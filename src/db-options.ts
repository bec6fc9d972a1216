import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { Config, SslMode } from './config.js';

/**
 * The worker's pool options from its configuration: TLS as libpq's sslmode means it, whether given
 * in DATABASE_URL (sslmode, sslrootcert) or by PGSSLMODE / DATABASE_SSL_CA_FILE; the URL wins.
 * node-postgres would read sslmode itself, but with its own meaning (its `require` verifies the
 * certificate, with a deprecation warning), so both parameters are taken out of the URL here.
 *   disable      no TLS (the default)
 *   require      TLS, the certificate not verified, unless a CA is given (then as verify-ca)
 *   verify-ca    TLS, the certificate signed by the CA (the system's CAs when none is given)
 *   verify-full  as verify-ca, and the certificate names the host connected to
 */
export function databasePoolOptions(cfg: Config): pg.PoolConfig {
  const url = new URL(cfg.DATABASE_URL);
  const mode = (url.searchParams.get('sslmode') ?? cfg.PGSSLMODE ?? 'disable') as SslMode;
  const caFile = url.searchParams.get('sslrootcert') ?? cfg.DATABASE_SSL_CA_FILE;
  // Deleting re-encodes the query, so only when there is something to delete.
  for (const p of ['sslmode', 'sslrootcert']) if (url.searchParams.has(p)) url.searchParams.delete(p);
  return {
    connectionString: url.toString(),
    ...(cfg.PGPASSWORD && !url.password ? { password: cfg.PGPASSWORD } : {}),
    ssl: tlsOptions(mode, caFile ? readFileSync(caFile, 'utf8') : undefined),
    application_name: 'tick-ingest',
    max: 6,
  };
}

function tlsOptions(mode: SslMode, ca: string | undefined): pg.PoolConfig['ssl'] {
  const withCa = ca ? { ca } : {};
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return ca ? { ...withCa, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
    case 'verify-ca':
      return { ...withCa, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...withCa, rejectUnauthorized: true };
  }
}
