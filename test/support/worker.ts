import { spawnWorker, type WorkerProcess } from '../../src/worker-process.js';

export type { WorkerProcess };

/** `tick-ingest run` through its real launcher, with every JSON log line kept in `logs`. */
export function startWorker(
  env: Record<string, string>,
): WorkerProcess & { logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const proc = spawnWorker({
    env: { METRICS_PORT: '0', ...env },
    onLine: (line, entry) => logs.push(entry ?? { raw: line }),
  });
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // Say why a worker that never started died.
  const started = proc.started.catch((err: Error) => {
    throw new Error(`${err.message}: ${stderr.slice(-2000)}`);
  });
  return { ...proc, started, logs };
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
