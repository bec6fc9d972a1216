import PQueue from 'p-queue';
import type { DeadLetter, DeadLetters } from './consumers/dead-letter.js';
import type { Source, SourceHandlers } from './consumers/kafka-source.js';
import { backoffMs, classifyError, errorMessage, OffsetConflictError, retryWithBackoff } from './errors.js';
import type { Logger } from './observability/log.js';
import type { Metrics } from './observability/metrics.js';
import { partitionKey, type SourceBatch, type SourceRef, TABLES, type Watermarks } from './records.js';
import type { BatchContext, DecodedBatch, TopicKind } from './transform/decode-batch.js';
import type { Decoder } from './transform/decode-thread.js';
import { BatchBuffer, type BatchLimits, type FlushBatch, sourceRefs } from './writers/batch.js';
import type { Sink } from './writers/copy-sink.js';
import type { Claim } from './writers/offset-store.js';

/**
 * The sink lifecycle, in the order the code follows it (after Kafka Connect's SinkTask):
 *  1. start: the decoder, then the source (which waits for its topics).
 *  2. assigned: the first batch of a partition in a generation claims it in the database (epoch + 1,
 *     the stored next offset checked against the log); the source reads on from that offset.
 *  3. put: each Kafka batch is decoded and validated on the decode thread; invalid messages go to the
 *     DLQ (acknowledged first); valid rows join the open batch.
 *  4. flush: each lane's open batch (a lane owns some partitions) closes on rows, bytes or age and
 *     is queued in its lane; one transaction moves its offsets (compare-and-set, fenced by the
 *     claim's epoch), COPYs its rows and writes their bars. Lanes write at the same time; fetching
 *     waits while the queues are full.
 *  5. committed: Kafka gets an advisory commit (the next flush does not wait for it).
 *  6. revoked: on a rebalance every claim and the open batch are void; a fenced partition is claimed
 *     again; a batch a lost COMMIT reply already stored is dropped.
 *  7. stop: stop fetching, flush what was read, commit, leave the group.
 * Errors: retriable ones are retried with backoff; anything else is fatal and reported through
 * `onFatal` (the process then exits for a restart: nothing uncommitted is lost, it is read again).
 */

/** Claims partitions in the offsets table. */
export interface ClaimStore {
  claim(topic: string, partition: number, fetchedFrom: string, watermarks: Watermarks): Promise<Claim>;
}

export interface Clock {
  now(): number;
}

export interface PipelinePorts {
  source: Source;
  decoder: Decoder;
  sink: Sink;
  deadLetters: DeadLetters;
  claims: ClaimStore;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  /** An error waiting cannot fix: the owner stops the worker. */
  onFatal(err: unknown): void;
}

export interface PipelineSettings {
  topicKinds: ReadonlyMap<string, TopicKind>;
  batch: BatchLimits;
  /** Closed batches waiting for the database, beyond one being written per lane, before fetching pauses. */
  maxPendingFlushes: number;
  /**
   * Flush lanes: each owns its partitions (assigned on first sight, never moved) and writes their
   * batches in order, one at a time; lanes write at the same time on their own connections.
   */
  lanes: number;
  decode: BatchContext;
  /** A flush running longer makes the pipeline not ready. */
  flushDeadlineMs: number;
}

/**
 * A flush lane: the open batch of its partitions and the queue of their closed batches. One flush
 * at a time per lane: a second flush of a partition overlapping the first could hold a chunk the
 * first's retry needs while waiting (for its offsets) for the first to commit, a deadlock
 * PostgreSQL cannot see. Two lanes never wait for each other in the worker; what they wait for in
 * PostgreSQL (a symbol's lock, a chunk being created), PostgreSQL sees and resolves.
 */
class Lane {
  readonly buffer: BatchBuffer;
  readonly queue = new PQueue({ concurrency: 1 });
  ageTimer: NodeJS.Timeout | undefined;
  flushStartedAt: number | undefined;

  constructor(limits: BatchLimits, now: () => number) {
    this.buffer = new BatchBuffer(limits, now);
  }
}

export class Pipeline {
  private readonly lanes: Lane[];
  /** Each partition's lane, kept for the process's life: its batches are then always written in order. */
  private readonly laneOf = new Map<string, Lane>();
  private readonly epochs = new Map<string, string>();
  private stopping = false;
  private fatal: unknown;
  /** Rows in closed batches not yet committed (queued or being written). */
  private queuedRows = 0;
  /** The advisory Kafka commits of committed flushes, chained (Source.commit never rejects). */
  private kafkaCommits: Promise<void> = Promise.resolve();

  constructor(
    private readonly ports: PipelinePorts,
    private readonly settings: PipelineSettings,
  ) {
    this.lanes = Array.from(
      { length: settings.lanes },
      () => new Lane(settings.batch, () => ports.clock.now()),
    );
  }

  /** Not stopping, no fatal error, the source consuming, and no flush past its deadline. */
  get ready(): boolean {
    return !this.stopping && this.fatal === undefined && this.ports.source.isRunning && !this.flushOverdue;
  }

  get failed(): boolean {
    return this.fatal !== undefined;
  }

  private get flushOverdue(): boolean {
    const now = this.ports.clock.now();
    return this.lanes.some(
      (l) => l.flushStartedAt !== undefined && now - l.flushStartedAt > this.settings.flushDeadlineMs,
    );
  }

  /** The partition's lane: when first seen, the one owning the fewest of the claimed partitions. */
  private lane(key: string): Lane {
    let lane = this.laneOf.get(key);
    if (!lane) {
      const owned = new Map(this.lanes.map((l) => [l, 0]));
      for (const k of this.epochs.keys()) {
        const l = this.laneOf.get(k);
        if (l) owned.set(l, (owned.get(l) ?? 0) + 1);
      }
      lane = this.lanes.reduce((a, b) => ((owned.get(b) ?? 0) < (owned.get(a) ?? 0) ? b : a));
      this.laneOf.set(key, lane);
    }
    return lane;
  }

  async start(): Promise<void> {
    await this.ports.decoder.start();
    const handlers: SourceHandlers = {
      claim: (topic, partition, fetchedFrom, marks) => this.claim(topic, partition, fetchedFrom, marks),
      rebalanced: () => this.rebalanced(),
      handle: (batch, heartbeat) => this.handle(batch, heartbeat),
      failed: (err, batch) => this.handlingFailed(err, batch),
    };
    // A broker still starting must not end the worker: wait for it.
    await this.retrying(
      'subscribe to the topics',
      () => this.ports.source.start(handlers),
      async () => undefined,
    );
  }

  private async claim(
    topic: string,
    partition: number,
    fetchedFrom: string,
    marks: Watermarks,
  ): Promise<string> {
    const { log, metrics } = this.ports;
    let c: Claim;
    try {
      c = await this.ports.claims.claim(topic, partition, fetchedFrom, marks);
    } catch (err) {
      if (classifyError(err) === 'fatal') this.fail(err, 'claim');
      throw err;
    }
    if (c.reset) {
      metrics.offsetResets.inc({ topic, reason: c.reset.reason });
      log.error(
        { topic, partition, ...c.reset, from: c.nextOffset },
        c.reset.reason === 'beyond_end'
          ? 'stored offset is beyond the end of the log (topic recreated?): reading from the policy offset'
          : 'stored offset is before the start of the log (retention removed unread messages): reading from the policy offset',
      );
    }
    this.epochs.set(partitionKey(topic, partition), c.epoch);
    metrics.partitionsOwned.set(this.epochs.size);
    log.info({ topic, partition, from: c.nextOffset, epoch: c.epoch }, 'claimed partition');
    return c.nextOffset;
  }

  private rebalanced(): void {
    this.epochs.clear();
    this.ports.metrics.partitionsOwned.set(0);
    for (const lane of this.lanes) {
      const dropped = lane.buffer.take();
      if (dropped)
        this.ports.log.info(
          { rows: dropped.rows },
          'rebalance: dropped the open batch; its messages will be read again',
        );
    }
    this.updateBufferGauge();
  }

  /** put: decode one Kafka batch, dead-letter what is invalid, add the rest to the open batch. */
  private async handle(batch: SourceBatch, heartbeat: () => Promise<void>): Promise<void> {
    // Handed over after stop began (or after a fatal error): not taken, read again by the next owner.
    if (this.stopping || this.fatal !== undefined) return;
    const { topic, partition, offsets } = batch;
    const key = partitionKey(topic, partition);
    const kind = this.settings.topicKinds.get(topic);
    if (!kind) throw new Error(`no decoder for topic ${topic}`);
    const epoch = this.epochs.get(key);
    // The claim went void (a rebalance, or a fence: the partition is claimed again) after the batch
    // was handed over: not taken; the next claim reads on from the stored offset.
    if (epoch === undefined) return;
    const decoded = await this.ports.decoder.decode(
      kind,
      batch.values,
      batch.timestampsMs,
      this.settings.decode,
    );
    const invalid = this.countVerdicts(decoded, batch);
    if (invalid.length > 0)
      await this.retrying(
        'dead-letter invalid messages',
        () => this.ports.deadLetters.send(invalid),
        heartbeat,
      );
    // A rebalance or a fence during those awaits voids these rows: they are read again under the new claim.
    if (this.epochs.get(key) !== epoch) return;
    // From here to the end of the method nothing awaits, so the batch cannot close half-filled.
    const lane = this.lane(key);
    const open = lane.buffer.open();
    open.add(batch, decoded.rows, decoded.ticks);
    open.advance(topic, partition, batch.fromOffset, String(offsets[offsets.length - 1]), epoch);
    this.afterAdd(lane);
    await this.waitForRoom(heartbeat);
  }

  /** Count what the decoder said of each message; the invalid ones as dead letters. */
  private countVerdicts(decoded: DecodedBatch, origin: SourceBatch): DeadLetter[] {
    const { metrics } = this.ports;
    for (const status of decoded.callbackStatuses) metrics.callbacksByStatus.inc({ status });
    const sources = sourceRefs(
      origin,
      decoded.invalid.map((bad) => bad.message),
    );
    return decoded.invalid.map((bad, k): DeadLetter => {
      metrics.invalidMessages.inc({ topic: origin.topic, reason: bad.code });
      return { source: sources[k] as SourceRef, code: bad.code, message: bad.text };
    });
  }

  /** The source read the batch again from its start; here only: is it worth going on? */
  private handlingFailed(err: unknown, batch: SourceBatch): void {
    if (classifyError(err) !== 'retriable') {
      this.fail(err, 'handle');
      return;
    }
    this.ports.log.warn(
      { err: errorMessage(err), topic: batch.topic, partition: batch.partition, from: batch.fromOffset },
      'handling a batch failed; reading it again',
    );
  }

  private afterAdd(lane: Lane): void {
    if (lane.buffer.isDue()) {
      this.closeBatch(lane);
      return;
    }
    this.updateBufferGauge();
    if (!lane.ageTimer) {
      const wait = lane.buffer.msUntilDue();
      if (wait !== undefined) lane.ageTimer = setTimeout(() => this.closeBatch(lane), wait);
    }
  }

  /** flush: close the lane's open batch and queue its transaction. */
  private closeBatch(lane: Lane): void {
    if (lane.ageTimer) clearTimeout(lane.ageTimer);
    lane.ageTimer = undefined;
    const batch = lane.buffer.take();
    if (!batch) return;
    const rows = batch.rows;
    this.queuedRows += rows;
    this.ports.metrics.pendingFlushes.inc();
    void lane.queue
      .add(() => this.flush(lane, batch))
      .finally(() => {
        this.queuedRows -= rows;
        this.ports.metrics.pendingFlushes.dec();
        this.updateBufferGauge();
      });
    this.updateBufferGauge();
  }

  private updateBufferGauge(): void {
    const open = this.lanes.reduce((n, l) => n + l.buffer.rows, 0);
    this.ports.metrics.bufferRows.set(open + this.queuedRows);
  }

  /** Backpressure: while the database is behind, stop taking batches from Kafka (memory stays bounded). */
  private async waitForRoom(heartbeat: () => Promise<void>): Promise<void> {
    const queued = () => this.lanes.reduce((n, l) => n + l.queue.size + l.queue.pending, 0);
    // Fetching pauses once MAX_PENDING_FLUSHES batches wait beyond one per lane (one lane: beyond
    // the one being written).
    const full = () => queued() - this.lanes.length + 1 > this.settings.maxPendingFlushes;
    if (!full()) return;
    this.ports.metrics.fetchPaused.set(1);
    try {
      while (full() && this.fatal === undefined) {
        let next: () => void = () => undefined;
        const written = new Promise<void>((resolve) => {
          next = resolve;
          for (const l of this.lanes) l.queue.on('next', next);
        });
        await Promise.race([written, sleep(1_000)]);
        // Every lane's listener goes, whether it fired or not (an idle lane's would pile up).
        for (const l of this.lanes) l.queue.off('next', next);
        await heartbeat().catch(() => undefined);
      }
    } finally {
      this.ports.metrics.fetchPaused.set(0);
    }
  }

  private async flush(lane: Lane, batch: FlushBatch): Promise<void> {
    const { sink, source, metrics, log, clock } = this.ports;
    for (let attempt = 0; !batch.isEmpty && this.fatal === undefined; attempt++) {
      lane.flushStartedAt = clock.now();
      try {
        await sink.write(batch);
        this.observeLatency(batch);
        // Advisory, so the next flush does not wait for it (~3 ms a flush); in order, one at a time.
        const offsets = [...batch.offsets.values()];
        this.kafkaCommits = this.kafkaCommits.then(() => source.commit(offsets));
        batch.release();
        return;
      } catch (err) {
        const kind = classifyError(err);
        if (err instanceof OffsetConflictError) {
          this.resolveConflicts(lane, batch, err);
          continue;
        }
        metrics.flushErrors.inc({ kind });
        if (kind !== 'retriable') {
          this.fail(err, 'flush');
          return;
        }
        const wait = backoffMs(attempt);
        log.warn(
          { err: errorMessage(err), code: (err as { code?: string }).code, attempt, retryInMs: wait },
          'flush failed; will retry',
        );
        await sleep(wait);
      } finally {
        lane.flushStartedAt = undefined;
      }
    }
  }

  /**
   * Partitions that could not advance leave the batch: 'committed' ones are stored already (an earlier
   * attempt's COMMIT reply was lost); 'fenced' ones are another claim's now, so they are claimed again
   * and their rows, here and in the open batch, read again from the stored offset.
   */
  private resolveConflicts(lane: Lane, batch: FlushBatch, err: OffsetConflictError): void {
    const { metrics, log, source } = this.ports;
    const keys = new Set(err.conflicts.map((c) => partitionKey(c.topic, c.partition)));
    // A batch written under an older claim than the one now held (queued before a rebalance): the
    // current claim already reads on from the stored offset, so only the batch's rows go.
    const current = new Set(
      [...keys].filter((k) => {
        const epoch = batch.offsets.get(k)?.epoch;
        return epoch === undefined || epoch === this.epochs.get(k);
      }),
    );
    const dropped = batch.dropPartitions(keys);
    const fenced = new Set<string>();
    for (const c of err.conflicts) {
      metrics.flushErrors.inc({ kind: c.reason });
      const key = partitionKey(c.topic, c.partition);
      if (c.reason === 'fenced' && current.has(key)) {
        fenced.add(key);
        this.epochs.delete(key);
        source.reclaim(c.topic, c.partition);
      }
    }
    if (fenced.size > 0) lane.buffer.open().dropPartitions(fenced);
    metrics.partitionsOwned.set(this.epochs.size);
    log.warn(
      { conflicts: err.conflicts, droppedRows: dropped },
      'offsets did not advance: rows already stored (a lost COMMIT reply) or of a partition claimed elsewhere were dropped; fenced partitions are claimed again',
    );
  }

  private observeLatency(batch: FlushBatch): void {
    const now = this.ports.clock.now();
    const histogram = this.ports.metrics.e2eLatency;
    for (const table of TABLES)
      for (const { rows, origin } of batch.tables[table].parts)
        for (let r = 0; r < rows.messages.length; r++)
          histogram.observe((now - (origin.timestampsMs[rows.messages[r] as number] as number)) / 1000);
  }

  private fail(err: unknown, stage: string): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    this.ports.metrics.fatalErrors.inc({ stage });
    this.ports.log.fatal(
      { err: errorMessage(err), code: (err as { code?: string }).code, stage },
      'fatal error: waiting cannot fix it; stopping (uncommitted messages are read again after a restart)',
    );
    this.ports.onFatal(err);
  }

  private retrying(what: string, fn: () => Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    return retryWithBackoff(fn, {
      giveUp: () => this.stopping || this.fatal !== undefined,
      onRetry: (err, attempt) =>
        this.ports.log.warn({ err: errorMessage(err), attempt }, `${what} failed; retrying`),
      whileWaiting: heartbeat,
    }).catch((err: unknown) => {
      if (classifyError(err) === 'fatal') this.fail(err, what);
      throw err;
    });
  }

  /** stop: stop fetching, flush what was read, commit, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ports.source.pauseAll();
    // The batch being handled finishes (one is handed over at a time); later ones return at once.
    await this.ports.source.handled();
    if (this.fatal === undefined) for (const lane of this.lanes) this.closeBatch(lane);
    await Promise.all(this.lanes.map((l) => l.queue.onIdle()));
    await this.kafkaCommits;
    await this.ports.source.stop();
    await this.ports.decoder.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
