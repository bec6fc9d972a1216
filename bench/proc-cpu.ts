/**
 * CPU time from /proc, for CPU per row over a drain: far less noisy than rows/s on a shared
 * machine, since time spent waiting for a core another user holds is not counted.
 * Clock ticks (utime, stime, cutime, cstime of /proc/<pid>/stat), converted with `getconf CLK_TCK`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  /** User + system time of the process, all its threads (live and ended), in clock ticks. */
  self: number;
  /** User + system time of its waited-for (reaped) children, in clock ticks. */
  children: number;
}

/**
 * One /proc/<pid>/stat (or task/<tid>/stat) line. The command name sits in parentheses and may
 * hold spaces and parentheses itself, so the fields are counted from the last ')'.
 */
export function parseStat(line: string): ProcStat {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  // After ')': state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17), 1-based as in proc(5).
  const f = line
    .slice(close + 2)
    .trim()
    .split(' ');
  const field = (n: number) => {
    const v = Number(f[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc stat field ${n} missing: ${line.slice(0, 80)}`);
    return v;
  };
  return {
    pid: Number(line.slice(0, open).trim()),
    ppid: field(4),
    self: field(14) + field(15),
    children: field(16) + field(17),
  };
}

let clkTck: number | undefined;
/** Clock ticks per second (USER_HZ), from `getconf CLK_TCK`. */
export function clockTicks(): number {
  clkTck ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!(clkTck > 0)) throw new Error(`getconf CLK_TCK gave ${clkTck}`);
  return clkTck;
}

function readStat(path: string): ProcStat | undefined {
  try {
    return parseStat(readFileSync(path, 'utf8'));
  } catch {
    return undefined; // ended between listing and reading
  }
}

/** A process's own CPU (all its threads), in clock ticks. */
export function processTicks(pid: number): number {
  const s = readStat(`/proc/${pid}/stat`);
  if (!s) throw new Error(`process ${pid} is gone`);
  return s.self;
}

export interface TreeTicks {
  /** All the server's processes, in clock ticks. */
  total: number;
  /** Each live child's own time (self + reaped children), by pid. */
  children: Map<number, number>;
}

/**
 * A server's CPU with all its processes, in clock ticks: the parent's own and reaped children's
 * time plus the live children's. Read before and after a window, the difference counts every
 * child that lived in it, also those that ended in between (their time moved into the parent's
 * cutime/cstime when reaped), as PostgreSQL's postmaster reaps its backends.
 */
export function treeTicks(rootPid: number): TreeTicks {
  const root = readStat(`/proc/${rootPid}/stat`);
  if (!root) throw new Error(`process ${rootPid} is gone`);
  let total = root.self + root.children;
  const children = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(`/proc/${name}/stat`);
    if (s?.ppid !== rootPid) continue;
    total += s.self + s.children;
    children.set(s.pid, s.self + s.children);
  }
  return { total, children };
}

/** Each thread's CPU in clock ticks, by thread id; threads that ended are no longer listed. */
export function threadTicks(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const s = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (s) out.set(Number(tid), s.self);
  }
  return out;
}

/** µs of CPU per row from a clock-tick difference. */
export function usPerRow(ticks: number, rows: number, ticksPerS: number): number {
  if (rows <= 0) throw new Error(`no rows in the window (${rows})`);
  return +((ticks * 1_000_000) / ticksPerS / rows).toFixed(2);
}

/** The PostgreSQL postmaster: the parent of the backend serving a connection. */
export function postmasterOf(backendPid: number): number {
  const s = readStat(`/proc/${backendPid}/stat`);
  if (!s) throw new Error(`backend ${backendPid} is not a process on this machine`);
  return s.ppid;
}

/** The Kafka broker's JVM (kafka.Kafka) whose properties file listens on `port`. */
export function kafkaBrokerPid(port: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = args.indexOf('kafka.Kafka');
    const props = at >= 0 ? args[at + 1] : undefined;
    if (!props) continue;
    const text = readFileSync(props, { encoding: 'utf8', flag: 'r' });
    if (text.includes(`PLAINTEXT://127.0.0.1:${port}`)) return Number(name);
  }
  throw new Error(`no kafka.Kafka process listening on port ${port}`);
}
