import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../../src/observability/http.js';

describe('startHttpServer binds to METRICS_HOST', () => {
  it.each([
    ['127.0.0.1', ['127.0.0.1']],
    [undefined, ['::', '0.0.0.0']],
  ])('host %s listens on %s', async (host, expected) => {
    const server = await startHttpServer(0, new Registry(), () => true, host);
    try {
      const addr = server.address() as AddressInfo;
      expect(expected).toContain(addr.address);
      const res = await fetch(`http://127.0.0.1:${addr.port}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
