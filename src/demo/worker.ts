import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { spawnWorker, type WorkerProcess } from '../worker-process.js';

export type WorkerChild = WorkerProcess;

/** `tick-ingest run` as a child process, as an operator starts it; its JSON log goes to a file. */
export function startWorkerChild(root: string, env: Record<string, string>, logFile: string): WorkerChild {
  const log = createWriteStream(logFile);
  const proc = spawnWorker({ env, cwd: root, onLine: (line) => log.write(`${line}\n`) });
  proc.child.stderr?.pipe(log, { end: false });
  const started = proc.started.catch((err: Error) => {
    throw new Error(`${err.message}; see ${logFile}`);
  });
  void proc.exited.then(() => log.end());
  return { ...proc, started };
}

/** `preferred` when nothing listens there, else 0 (the worker then picks a free port). */
export function portOrAny(preferred: number): Promise<number> {
  return new Promise((res) => {
    const probe = createServer();
    probe.once('error', () => res(0));
    probe.listen(preferred, () => probe.close(() => res(preferred)));
  });
}
