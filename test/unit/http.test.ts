import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../src/observability/http.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function probe(live: boolean, ready: boolean) {
  server = await startHttpServer(0, new Registry(), { live: () => live, ready: () => ready });
  const port = (server.address() as { port: number }).port;
  const status = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  return {
    healthz: await status('/healthz'),
    readyz: await status('/readyz'),
    metrics: await status('/metrics'),
  };
}

describe('HTTP probes', () => {
  it.each([
    [true, true, { healthz: 200, readyz: 200, metrics: 200 }],
    [true, false, { healthz: 200, readyz: 503, metrics: 200 }],
    [false, false, { healthz: 503, readyz: 503, metrics: 200 }],
  ])('live %s, ready %s → %o', async (live, ready, expected) => {
    expect(await probe(live, ready)).toEqual(expected);
  });
});
