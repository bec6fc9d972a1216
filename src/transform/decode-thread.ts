import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { TransientError } from '../errors.js';
import { packBytes } from '../packed.js';
import type { PackedBytes } from '../records.js';
import type { BatchContext, DecodedBatch, TopicKind } from './decode-batch.js';

export interface DecodeRequest {
  id: number;
  kind: TopicKind;
  /** The message values, moved here for the call (the answer moves them back). */
  values: PackedBytes;
  /** Kafka timestamp of each value, ms since the epoch. */
  timestampsMs: Float64Array;
  ctx: BatchContext;
}
export type DecodeResponse =
  | { id: number; result: DecodedBatch; values: PackedBytes }
  | { id: number; error: string };

const FROM_SOURCE = import.meta.url.endsWith('.ts');
/**
 * Semi-space of the thread's heap, MB. 16 (the main thread's) let its young generation reach 32 MB
 * with ~7 in use; 4 took the drain's peak RSS from 283-301 to 254-257 MB at the same CPU per row
 * (1 cost ~1.5 µs/row more: too many scavenges).
 */
const THREAD_SEMI_SPACE_MB = 4;

/** What the thread is started with. */
export interface ThreadData {
  /** Fault injection (tests only): the thread exits after answering this many batches. */
  exitAfter?: number;
}

/** The thread: the built entry, or, run from the sources (tests, tsx), the TypeScript one through tsx. */
function newThread(workerData: ThreadData): Worker {
  // The thread's garbage dies young (a batch's strings live until its answer is sent): a small
  // young generation does. V8 sizes it from this flag when the thread's heap is made (the
  // launcher's --max-semi-space-size, meant for the main thread, would otherwise apply here too,
  // and Worker resourceLimits cannot lower it); the main thread's heap is sized already.
  v8.setFlagsFromString(`--max-semi-space-size=${THREAD_SEMI_SPACE_MB}`);
  if (!FROM_SOURCE) return new Worker(new URL('./decode-thread-main.js', import.meta.url), { workerData });
  const entry = JSON.stringify(new URL('./decode-thread-main.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`, {
    eval: true,
    workerData,
  });
}

/** What the pipeline needs of a decoder. */
export interface Decoder {
  start(): Promise<void>;
  /**
   * `values` may be moved away while the call runs (its arrays detached) and are back in the same
   * object when it resolves; when it rejects they may be gone (the batch is read again anyway).
   */
  decode(
    kind: TopicKind,
    values: PackedBytes,
    timestampsMs: Float64Array,
    ctx: BatchContext,
  ): Promise<DecodedBatch>;
  stop(): Promise<void>;
}

/**
 * Decoding on a thread of its own: the main thread keeps to Kafka and PostgreSQL I/O, so a
 * flush's round trips are answered at once instead of after the decoding of a whole batch, and
 * the decoding runs on the second core. A thread that dies fails the batches it held (they are
 * read again) and the next batch starts a new one.
 */
export class DecodeThread implements Decoder {
  private worker: Worker | undefined;
  /** The fault switch applies to the first thread only: the one started after it is healthy. */
  private exitAfter: number | undefined;

  constructor(opts: { faultExitAfter?: number } = {}) {
    this.exitAfter = opts.faultExitAfter;
  }

  private nextId = 0;
  private readonly pending = new Map<
    number,
    { values: PackedBytes; resolve(d: DecodedBatch): void; reject(e: Error): void }
  >();

  /** Start the thread and wait until it answers, so a thread that cannot start fails the worker's start. */
  async start(): Promise<void> {
    await this.decode(
      'ticks',
      packBytes(0, () => null),
      new Float64Array(0),
      {
        timeZone: 'UTC',
        futureWindowUs: 0,
        pastWindowUs: 0,
      },
    );
  }

  decode(
    kind: TopicKind,
    values: PackedBytes,
    timestampsMs: Float64Array,
    ctx: BatchContext,
  ): Promise<DecodedBatch> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<DecodedBatch>((resolve, reject) => {
      this.pending.set(id, { values, resolve, reject });
      // Moved, not cloned (a clone copies the batch's bytes twice); the answer moves them back.
      const req: DecodeRequest = { id, kind, values, timestampsMs, ctx };
      worker.postMessage(req, [values.data.buffer as ArrayBuffer, values.lengths.buffer as ArrayBuffer]);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.rejectPending(new TransientError('decode thread stopped'));
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = newThread(this.exitAfter === undefined ? {} : { exitAfter: this.exitAfter });
    this.exitAfter = undefined;
    worker.on('message', (res: DecodeResponse) => {
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if ('error' in res) p.reject(new TransientError(`decode thread: ${res.error}`));
      else {
        p.values.data = res.values.data;
        p.values.lengths = res.values.lengths;
        p.resolve(res.result);
      }
    });
    worker.on('error', (err) =>
      this.lost(worker, new TransientError(`decode thread failed: ${err.message}`)),
    );
    worker.on('exit', (code) =>
      this.lost(worker, new TransientError(`decode thread exited with code ${code}`)),
    );
    // Idle, it must not keep the process alive; stop() ends it.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.rejectPending(err);
  }

  private rejectPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
