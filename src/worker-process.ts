import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The launcher operators run (`tick-ingest`), with its V8 heap flags in the shebang. */
export const LAUNCHER = resolve(import.meta.dirname, '../bin/tick-ingest.js');

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the HTTP port once the worker logged that it started; rejects if it exits first. */
  started: Promise<number>;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Each stdout line (the worker's JSON log), parsed when it is JSON. */
  onLine?: (line: string, entry: Record<string, unknown> | undefined) => void;
  /** Node flags to run the launcher with (e.g. --cpu-prof); the shebang's heap flags are kept. */
  nodeFlags?: string[];
  cwd?: string;
}

/**
 * `tick-ingest run` as a child process, as an operator starts it: for the demo, the tests and the
 * benchmark. stderr is left to the caller (`child.stderr`).
 */
export function spawnWorker(opts: SpawnOptions): WorkerProcess {
  const [cmd, args] = opts.nodeFlags?.length
    ? [process.execPath, [...launcherHeapFlags(), ...opts.nodeFlags, LAUNCHER, 'run']]
    : [LAUNCHER, ['run']];
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((res) =>
    child.on('exit', (code, signal) => res(code ?? signal ?? -1)),
  );
  const started = new Promise<number>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let entry: Record<string, unknown> | undefined;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = undefined;
      }
      opts.onLine?.(line, entry);
      if (entry?.msg === 'worker started') res(Number(entry.port));
    });
    void exited.then((code) => rej(new Error(`worker exited (${code}) before starting`)));
  });
  return { child, started, exited };
}

/** The heap flags of the launcher's shebang, for when node itself must be given more flags. */
function launcherHeapFlags(): string[] {
  return (readFileSync(LAUNCHER, 'utf8').split('\n')[0] ?? '').split(' ').filter((f) => f.startsWith('--'));
}
