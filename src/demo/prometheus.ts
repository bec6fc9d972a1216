import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A local Prometheus server (Debian's `prometheus`, installed by scripts/ensure-tools.sh) with the
 * project's own scrape config and alert rules from deploy/prometheus/, pointed at workers on this
 * machine: for `npm run demo` and the live-Prometheus test.
 */

/** Replace one piece of a file, or fail: a deploy file that changed shape must not go unnoticed. */
function replaceOnce(text: string, pattern: RegExp, by: string, what: string): string {
  if (!pattern.test(text)) throw new Error(`deploy/prometheus: cannot find ${what} to rewrite`);
  return text.replace(pattern, by);
}

export interface LocalScrape {
  /** host:port of each worker's /metrics */
  targets: string[];
  /** host:port Prometheus itself listens on */
  self: string;
  /** seconds between scrapes and rule evaluations; the file's own when absent */
  intervalSeconds?: number;
}

/**
 * deploy/prometheus/prometheus.yml with the compose network's DNS discovery of `worker` replaced by
 * static targets on this machine (the job, its metrics path and the rule file stay as they are).
 */
export function localScrapeConfig(text: string, o: LocalScrape): string {
  const targets = `[${o.targets.map((t) => `'${t}'`).join(', ')}]`;
  let out = replaceOnce(
    text,
    /dns_sd_configs:\n(?: {6,}.*\n)+/,
    `static_configs:\n      - targets: ${targets}\n`,
    "the tick-ingest job's dns_sd_configs",
  );
  out = replaceOnce(out, /targets: \[localhost:9090\]/, `targets: ['${o.self}']`, "Prometheus's own target");
  if (o.intervalSeconds !== undefined) {
    const s = `${o.intervalSeconds}s`;
    out = replaceOnce(out, /scrape_interval: \S+/, `scrape_interval: ${s}`, 'scrape_interval');
    out = replaceOnce(out, /scrape_timeout: \S+/, `scrape_timeout: ${s}`, 'scrape_timeout');
    out = replaceOnce(out, /evaluation_interval: \S+/, `evaluation_interval: ${s}`, 'evaluation_interval');
  }
  return out;
}

/**
 * deploy/prometheus/alerts.yml with every `for:` and every range window shortened to `seconds`,
 * so an alert that needs minutes in production fires within a test.
 */
export function shortRules(text: string, seconds: number): string {
  const out = replaceOnce(text, /for: \d+[smh]\b/g, `for: ${seconds}s`, 'a `for:` duration');
  return replaceOnce(out, /\[\d+[smh]\]/g, `[${seconds}s]`, 'a range window');
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const probe = createServer();
    probe.once('error', rej);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => res(port));
    });
  });
}

export interface PrometheusServer {
  url: string;
  child: ChildProcess;
  /** Its output, for a test's failure message. */
  log: () => string;
  stop: () => Promise<void>;
}

export interface PrometheusOptions extends Omit<LocalScrape, 'self'> {
  /** the repository root (deploy/prometheus/ is read from it) */
  root: string;
  /** shorten the rules' `for:` and windows to this many seconds (tests) */
  shortRulesSeconds?: number;
  port?: number;
}

/** Start `prometheus` on loopback with the project's files; resolves once it answers /-/ready. */
export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tick-ingest-prometheus-'));
  const deploy = resolve(o.root, 'deploy/prometheus');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    localScrapeConfig(readFileSync(join(deploy, 'prometheus.yml'), 'utf8'), {
      targets: o.targets,
      self: `127.0.0.1:${port}`,
      intervalSeconds: o.intervalSeconds,
    }),
  );
  const rules = readFileSync(join(deploy, 'alerts.yml'), 'utf8');
  writeFileSync(
    join(dir, 'alerts.yml'),
    o.shortRulesSeconds === undefined ? rules : shortRules(rules, o.shortRulesSeconds),
  );
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const spawnError = new Promise<never>((_, rej) =>
    child.once('error', (err) =>
      rej(new Error(`prometheus could not start (${err.message}): run scripts/ensure-tools.sh`)),
    ),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await Promise.race([
      fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ),
      spawnError,
    ]).catch(async (err: Error) => {
      await stop();
      throw err;
    });
    if (ready) return { url, child, log: () => output, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
