/**
 * The small error vocabulary of the sink (after Kafka Connect): retriable errors are retried with
 * backoff and never lose data; data errors are isolated to the rows that cause them, which are
 * dead-lettered; a fenced write means another replica owns the partition now, so the batch is dropped.
 */
export type ErrorKind = 'retriable' | 'data' | 'fenced';

export class FencedError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    super(`partition ${topic}[${partition}] is owned by another replica now (epoch moved on)`);
    this.name = 'FencedError';
  }
}

export function classifyError(err: unknown): ErrorKind {
  if (err instanceof FencedError) return 'fenced';
  // SQLSTATE class 22 (data exception) and 23 (integrity constraint violation) are the rows' fault.
  // Everything else (connection loss, class 08, 40001, 57P01, pool timeouts, broker outages) is retried.
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('22') || code.startsWith('23')) && code.length === 5)
    return 'data';
  return 'retriable';
}
/** Exponential backoff with jitter, capped. */
export function backoffMs(attempt: number, baseMs = 200, capMs = 10_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface RetryOptions {
  /** Checked after a failure: true ends the retrying and rethrows (e.g. while shutting down). */
  giveUp: () => boolean;
  onRetry: (err: unknown, attempt: number) => void;
  /** Run during each wait, e.g. a Kafka heartbeat so the group keeps the member. */
  whileWaiting?: () => Promise<unknown>;
}

/** Retry `fn` with backoff until it succeeds or `giveUp` says stop. */
export async function retryWithBackoff<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (opts.giveUp()) throw err;
      opts.onRetry(err, attempt);
      await new Promise((r) => setTimeout(r, backoffMs(attempt)));
      await opts.whileWaiting?.().catch(() => undefined);
    }
  }
}
