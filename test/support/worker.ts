import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '../..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the HTTP port once the worker logged that it started. */
  started: Promise<number>;
  /** Every JSON log line the worker printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Start `tick-ingest run` through its real launcher (bin/, with its heap flags), as an operator would. */
export function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(resolve(root, 'bin/tick-ingest.js'), ['run'], {
    env: { PATH: process.env.PATH ?? '', METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | string>((res) =>
    child.on('exit', (code, signal) => res(code ?? signal ?? -1)),
  );
  const started = new Promise<number>((res, rej) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'worker started') res(Number(entry.port));
      } catch {
        logs.push({ raw: line });
      }
    });
    void exited.then((code) =>
      rej(new Error(`worker exited (${code}) before starting: ${stderr.slice(-2000)}`)),
    );
  });
  return { child, started, logs, exited };
}

/** Poll until `check` returns true, or fail with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
