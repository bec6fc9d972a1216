import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startWorker, type WorkerProcess } from '../support/worker.js';
import { sumMetric } from './metrics-text.js';

export const LOG_DIR = resolve(import.meta.dirname, 'logs');

/**
 * One worker process (`tick-ingest run`) under test: its probes (/readyz, /metrics, RSS from
 * /proc) and whether it died on its own (a crash) or because the suite killed it.
 */
export class Replica {
  readonly proc: WorkerProcess;
  port = 0;
  killedBySuite = false;
  exitCode: number | string | undefined;
  readonly logFile: string;

  private constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.proc = startWorker(env);
    mkdirSync(LOG_DIR, { recursive: true });
    this.logFile = resolve(LOG_DIR, `${name}.log`);
    // The worker logs JSON lines on stdout; keep them all for the post-mortem.
    const file = createWriteStream(this.logFile);
    // end: false — stdout ending first must not close the file before a crash's trace on stderr.
    this.proc.child.stdout?.pipe(file, { end: false });
    this.proc.child.stderr?.pipe(file, { end: false });
    this.proc.child.on('close', () => file.end());
    void this.proc.exited.then((code) => (this.exitCode = code));
  }

  static async start(name: string, env: Record<string, string>): Promise<Replica> {
    const r = new Replica(name, env);
    r.port = await r.proc.started;
    return r;
  }

  get pid(): number {
    return this.proc.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Died without the suite asking: a crash. */
  get crashed(): boolean {
    return !this.alive && !this.killedBySuite;
  }

  async kill9(): Promise<void> {
    this.killedBySuite = true;
    this.proc.child.kill('SIGKILL');
    await this.proc.exited;
  }

  /** Graceful stop; resolves with the exit code (0 when the worker flushed and left cleanly). */
  async stop(timeoutMs = 30_000): Promise<number | string> {
    if (!this.alive) return this.exitCode ?? -1;
    this.killedBySuite = true;
    this.proc.child.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.proc.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async ready(): Promise<boolean | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      return res.status === 200;
    } catch {
      return undefined;
    }
  }

  /**
   * Sum of a metric's samples over all labels, or undefined when /metrics does not answer. Throws
   * when the worker does not expose the metric at all (see `sumMetric`).
   */
  async metric(name: string): Promise<number | undefined> {
    let text: string;
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, {
        signal: AbortSignal.timeout(2_000),
      });
      text = await res.text();
    } catch {
      return undefined;
    }
    return sumMetric(text, name);
  }

  /** Freeze the process (SIGSTOP): its sockets stay open, it answers nothing, its session times out. */
  freeze(): void {
    this.proc.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc.child.kill('SIGCONT');
  }

  /** The JSON log lines written so far (stdout and stderr share the file; non-JSON lines are skipped). */
  logLines(): Array<Record<string, unknown>> {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const out: Array<Record<string, unknown>> = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // A line cut short by a kill -9.
      }
    }
    return out;
  }

  /** Resident set size in bytes, from the kernel. */
  rssBytes(): number | undefined {
    return rssFromStatus(this.pid);
  }
}

function rssFromStatus(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
