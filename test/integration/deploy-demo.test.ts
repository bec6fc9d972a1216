import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';

/** `npm run demo`'s program (dist/demo/main.js), on the test stack, with a smaller feed and its own database. */
const root = resolve(import.meta.dirname, '../..');
const database = `demo_test_${randomBytes(3).toString('hex')}`;

function runDemo(): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [resolve(root, 'dist/demo/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: stack().databaseUrl,
      KAFKA_BROKERS: stack().kafkaBrokers,
      DEMO_DATABASE: database,
      DEMO_MESSAGES: '20000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((res) => child.on('exit', (code) => res({ code, out })));
}

describe('the demo', () => {
  afterAll(async () => {
    const admin = new URL(stack().databaseUrl);
    admin.pathname = '/postgres';
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`drop database if exists "${database}" with (force)`);
    await c.end();
    const kafka = testKafka().admin();
    await kafka.connect();
    const mine = (await kafka.listTopics()).filter((t) => t.startsWith(`${database}.`));
    if (mine.length) await kafka.deleteTopics({ topics: mine });
    await kafka.disconnect();
  });

  it('lands every message where the feed says, twice in a row on a recreated database', async () => {
    for (let run = 0; run < 2; run++) {
      const r = await runDemo();
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('demo OK');
      const rows = r.out
        .split('\n')
        .filter((l) => /^(data_capture\.|dead-letter topic|duplicate trades)/.test(l));
      expect(rows).toHaveLength(8);
      for (const row of rows) expect(row).toMatch(/ ok$/);
      expect(r.out).toMatch(/worker \/metrics was served at http:\/\/127\.0\.0\.1:\d+\/metrics/);
      // The demo's Prometheus scraped the worker's final counters: as many rows as the tables hold.
      const landedRows = rows
        .filter((l) => l.startsWith('data_capture.') && !l.startsWith('data_capture.feed_gaps'))
        .reduce(
          (n, l) => n + Number(/ ([\d,]+) +[\d,]+ +ok$/.exec(l)?.[1]?.replaceAll(',', '') ?? Number.NaN),
          0,
        );
      expect(r.out).toContain(`scraped it: ${landedRows.toLocaleString('en-US')} rows written`);
      expect(r.out).toContain('worker exited: 0');
    }
    const db = new URL(stack().databaseUrl);
    db.pathname = `/${database}`;
    const c = new pg.Client({ connectionString: db.toString() });
    await c.connect();
    const { rows } = await c.query<{ n: number }>(
      'select count(*)::int as n from data_capture.profitdll_callbacks',
    );
    await c.end();
    // The second run started from an empty database: one feed's callbacks, not two.
    expect(rows[0]?.n).toBeGreaterThan(1000);
    expect(rows[0]?.n).toBeLessThan(20000 * 0.2);
  });
});
