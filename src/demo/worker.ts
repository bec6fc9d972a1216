import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** `tick-ingest run` as a child process, as an operator starts it; its JSON log goes to a file. */
export interface WorkerChild {
  child: ChildProcess;
  /** Resolves with the /metrics port once the worker logged that it started. */
  started: Promise<number>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export function startWorkerChild(root: string, env: Record<string, string>, logFile: string): WorkerChild {
  const child = spawn(resolve(root, 'bin/tick-ingest.js'), ['run'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | string>((res) =>
    child.on('exit', (code, signal) => res(code ?? signal ?? -1)),
  );
  const started = new Promise<number>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      log.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'worker started') res(Number(entry.port));
      } catch {
        // not a JSON log line: kept in the file only
      }
    });
    void exited.then((code) => rej(new Error(`worker exited (${code}) before starting; see ${logFile}`)));
  });
  void exited.then(() => log.end());
  return { child, started, exited };
}

/** `preferred` when nothing listens there, else 0 (the worker then picks a free port). */
export function portOrAny(preferred: number): Promise<number> {
  return new Promise((res) => {
    const probe = createServer();
    probe.once('error', () => res(0));
    probe.listen(preferred, () => probe.close(() => res(preferred)));
  });
}
