import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';

/**
 * The deployment files checked by the tools that consume them: promtool for Prometheus's config,
 * alert rules and their unit tests, docker compose (or docker-compose) for the stack. The tools must
 * be installed (CI: apt-get install prometheus docker-compose); a missing tool fails the test.
 */
const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

function run(cmd: string, args: string[], cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error)
    throw new Error(`${cmd} could not run (${r.error.message}): install it, see docs/operations.md`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `docker compose` where the plugin exists, else the standalone `docker-compose`. */
function compose(args: string[]) {
  const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  return plugin.status === 0 ? run('docker', ['compose', ...args]) : run('docker-compose', args);
}

describe('Prometheus files pass promtool', () => {
  it('prometheus.yml (and the rule file it loads) is a valid configuration', () => {
    const r = run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it('alerts.yml holds the alerts the operations guide names', () => {
    const r = run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml']);
    expect(r.code, r.out).toBe(0);
    const names = [...read('deploy/prometheus/alerts.yml').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(names).toEqual([
      'TickIngestWorkerDown',
      'TickIngestNoWorker',
      'TickIngestDatabaseUnreachable',
      'TickIngestConsumerLagGrowing',
      'TickIngestNoRowsWritten',
      'TickIngestDeadLetterRate',
      'TickIngestE2ELatencyHigh',
    ]);
  });

  it('every alert fires on its situation and not on the healthy one (promtool test rules)', () => {
    const r = run('promtool', ['test', 'rules', 'alerts.test.yml'], resolve(root, 'deploy/prometheus'));
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it('a rule with a broken expression is refused, so the checks above can fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const broken = read('deploy/prometheus/alerts.yml').replace('up{job="tick-ingest"} == 0', 'up{job= == 0');
    writeFileSync(join(dir, 'alerts.yml'), broken);
    const r = run('promtool', ['check', 'rules', join(dir, 'alerts.yml')]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('parse error');
  });
});

describe('docker-compose.yml', () => {
  it('passes compose config validation', () => {
    const r = compose(['-f', 'docker-compose.yml', 'config', '-q']);
    expect(r.code, r.out).toBe(0);
  });

  it('declares the stack: kafka, timescaledb, migrate, worker, prometheus, grafana', () => {
    const r = compose(['-f', 'docker-compose.yml', 'config', '--services']);
    expect(r.code, r.out).toBe(0);
    expect(r.out.trim().split('\n').sort()).toEqual(
      ['grafana', 'kafka', 'migrate', 'prometheus', 'timescaledb', 'worker'].sort(),
    );
  });

  it('gives the worker no fixed host port, so --scale worker=3 can run', () => {
    const r = compose(['-f', 'docker-compose.yml', 'config']);
    expect(r.code, r.out).toBe(0);
    const worker = /\n {2}worker:\n([\s\S]*?)(?=\n {2}\S|\n\S|$)/.exec(r.out)?.[1] ?? '';
    expect(worker).toContain('9464');
    expect(worker).not.toMatch(/\n {4}ports:/);
  });

  it('fails validation of a broken file, so the check above can fail', () => {
    const r = compose(['-f', 'deploy/prometheus/alerts.yml', 'config', '-q']);
    expect(r.code).not.toBe(0);
  });
});

describe('dashboard and alerts use only metrics the worker exports', () => {
  const exported = async () => {
    const names = new Set<string>();
    for (const m of await createMetrics().registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (m.type.toString() === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    }
    return names;
  };
  const used = (text: string) => new Set([...text.matchAll(/\btick_ingest_[a-z0-9_]+/g)].map((m) => m[0]));

  const dashboard = JSON.parse(read('deploy/grafana/dashboards/tick-ingest.json')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string; datasource: { uid: string } }> }>;
  };

  it.each([['deploy/grafana/dashboards/tick-ingest.json'], ['deploy/prometheus/alerts.yml']])(
    '%s',
    async (file) => {
      const known = await exported();
      const unknown = [...used(read(file))].filter((n) => !known.has(n));
      expect(unknown).toEqual([]);
    },
  );

  it('the dashboard has the panels the issue asks for, on the provisioned datasource', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of [
      'Rows/s per table',
      'COPY latency',
      'Consumer lag per partition',
      'Dead-letter rate',
      'End-to-end latency (Kafka timestamp to commit)',
      'Bar lag',
      'Buffer depth',
      'Memory',
    ])
      expect(titles).toContain(t);
    const datasource = /uid: (\S+)/.exec(read('deploy/grafana/provisioning/datasources/prometheus.yml'))?.[1];
    for (const p of dashboard.panels)
      for (const t of p.targets ?? []) expect(t.datasource.uid, p.title).toBe(datasource);
  });
});
