/**
 * The small error vocabulary of the worker (after Kafka Connect): retriable errors are retried with
 * backoff and never lose data; data errors are isolated to the rows that cause them, which are
 * dead-lettered; an offset conflict means part of a batch is not ours to write (fenced) or already
 * written (a retry after a COMMIT whose reply was lost); anything else is fatal: the worker cannot fix
 * it by waiting (permission denied, a missing table, a bug), so it says so and exits for a restart.
 */
export type ErrorKind = 'retriable' | 'data' | 'conflict' | 'fatal';

/** Why a partition of a batch cannot advance: another replica owns it now, or its rows are stored already. */
export type ConflictReason = 'fenced' | 'committed';

export interface PartitionConflict {
  topic: string;
  partition: number;
  reason: ConflictReason;
}

export class OffsetConflictError extends Error {
  constructor(readonly conflicts: readonly PartitionConflict[]) {
    super(
      `offsets did not advance: ${conflicts.map((c) => `${c.topic}[${c.partition}] ${c.reason}`).join(', ')}`,
    );
    this.name = 'OffsetConflictError';
  }
}

/** A failure that passes: the work is done again (a lost thread, an overrun deadline). */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A step overran its deadline (a silent network): its connection was dropped, the work is retried. */
export class DeadlineError extends TransientError {
  override name = 'DeadlineError';
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms; its connection was dropped`);
  }
}

// SQLSTATEs worth waiting for: connection exceptions (08), insufficient resources (53), operator
// intervention (57P01 admin shutdown … 57P05), statement timeout / cancel (57014), serialization
// failure and deadlock (40001, 40P01), lock timeout (55P03).
const RETRIABLE_SQLSTATE = /^(08...|53...|57P0.|57014|40001|40P01|55P03)$/;
// Socket-level failures (Node system error codes).
const RETRIABLE_SYSCALL = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// node-postgres reports a lost or timed-out connection by message only.
const RETRIABLE_PG_MESSAGE =
  /connection terminated|timeout exceeded when trying to connect|query read timeout|not queryable|connection timeout/i;

export function classifyError(err: unknown): ErrorKind {
  if (err instanceof OffsetConflictError) return 'conflict';
  if (err instanceof TransientError) return 'retriable';
  const e = (err ?? {}) as { code?: unknown; name?: unknown; retriable?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code.length === 5 && (code.startsWith('22') || code.startsWith('23'))) return 'data';
  if (RETRIABLE_SQLSTATE.test(code) || RETRIABLE_SYSCALL.has(code)) return 'retriable';
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS'))
    return isRetriableKafkaError(e) ? 'retriable' : 'fatal';
  if (typeof e.message === 'string' && RETRIABLE_PG_MESSAGE.test(e.message)) return 'retriable';
  return 'fatal';
}

// kafkajs marks protocol errors retriable or not; its connection and timeout errors are transient, and
// "retries exceeded" wraps the last retriable cause.
const RETRIABLE_KAFKA_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
]);

function isRetriableKafkaError(e: { name?: unknown; retriable?: unknown }): boolean {
  return e.retriable === true || RETRIABLE_KAFKA_ERRORS.has(String(e.name));
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
  /** Run during each wait, e.g. a Kafka heartbeat so the group keeps the member; a throw ends the retrying. */
  whileWaiting?: () => Promise<unknown>;
}

/**
 * Retry `fn` with backoff while its error is retriable, until it succeeds or `giveUp` says stop.
 * Any other error is rethrown at once: waiting cannot fix it.
 */
export async function retryWithBackoff<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (classifyError(err) !== 'retriable' || opts.giveUp()) throw err;
      opts.onRetry(err, attempt);
      await new Promise((r) => setTimeout(r, backoffMs(attempt)));
      await opts.whileWaiting?.();
    }
  }
}
