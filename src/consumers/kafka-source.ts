import kafkajs, {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
} from 'kafkajs';
import { errorMessage, retryWithBackoff } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { type PartitionOffset, partitionKey, type SourceBatch, type Watermarks } from '../records.js';
import { packFetched } from './fetched-records.js';

export interface SourceOptions {
  groupId: string;
  topics: string[];
  sessionTimeoutMs: number;
  /** kafkajs maxBytesPerPartition and maxBytes of a fetch. */
  fetchPartitionBytes: number;
  fetchBytes: number;
}

/** What the pipeline does with what the source reads. */
export interface SourceHandlers {
  /**
   * First batch of a partition in this group generation (or after `reclaim`): claim it and say where
   * to start. `fetchedFrom` is where Kafka started; `watermarks` bound the partition's log.
   */
  claim(topic: string, partition: number, fetchedFrom: string, watermarks: Watermarks): Promise<string>;
  /** The group rebalanced: every claim and uncommitted row is void. */
  rebalanced(): void;
  /** Messages at or past the claimed offset, in order. May wait (backpressure); `heartbeat` keeps the membership. */
  handle(batch: SourceBatch, heartbeat: () => Promise<void>): Promise<void>;
  /** Handling a batch failed: it will be read again (the partition was sought back); the pipeline judges the error. */
  failed(err: unknown, batch: SourceBatch): void;
}

/** The source as the pipeline sees it. */
export interface Source {
  readonly isRunning: boolean;
  start(handlers: SourceHandlers): Promise<void>;
  /** Claim this partition again before its next batch (after a fence), reading on from the stored offset. */
  reclaim(topic: string, partition: number): void;
  /** Advisory commit to Kafka after the database commit, so lag tools see progress; never rejects (logged). */
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  pauseAll(): void;
  /** Resolves once the batch handed over last has been handled. */
  handled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Kafka source. Offsets live in the database, so kafkajs auto-commit is off and Kafka's own commit
 * is only advisory (for lag tooling). `resolveOffset` is called when a batch is handed over: in kafkajs
 * it moves the fetch position only, so the next batches are fetched while this one is decoded. A batch
 * whose handling fails is read again: the partition is sought back to where that batch started.
 */
export class KafkaSource implements Source {
  private consumer: Consumer;
  private readonly admin: Admin;
  private handlers: SourceHandlers | undefined;
  /** Per partition claimed in this generation: where the next batch continues (our position). */
  private readonly positions = new Map<string, bigint>();
  /** Per partition, the highest offset ever handed over: below it a message is a re-read. */
  private readonly handedUpTo = new Map<string, bigint>();
  private running = false;
  private stopped = false;
  /** Bumped on every (re)join: a batch or claim from an older generation is dropped. */
  private generation = 0;
  /** The batch handed over last, still being handled; the next one waits for it. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: SourceOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.consumer = this.createConsumer();
    // Few retries: a missing topic is reported and waited for here, not retried for ever inside kafkajs.
    this.admin = kafka.admin({ retry: { retries: 3, initialRetryTime: 300 } });
  }

  private createConsumer(): Consumer {
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.opts.sessionTimeoutMs / 10)),
      // A fetch's messages live until each partition's batch is handed over: fetch sizes bound
      // the worker's peak memory; larger ones cost less CPU per row (docs/scaling.md).
      maxBytesPerPartition: this.opts.fetchPartitionBytes,
      maxBytes: this.opts.fetchBytes,
      maxWaitTimeInMs: 100,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
    });
    const { GROUP_JOIN, CRASH, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => {
      // Also after kafkajs restarted the consumer on its own (a crash with restart: true).
      this.running = true;
      this.newGeneration();
      this.log.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
    });
    consumer.on(CRASH, (e) => {
      this.running = false;
      this.log.error({ err: errorMessage(e.payload.error), restart: e.payload.restart }, 'consumer crashed');
      // kafkajs gives up on some errors (e.g. no group coordinator while the broker was away):
      // then a new consumer takes over, or the worker would idle forever.
      if (!e.payload.restart && consumer === this.consumer && !this.stopped) void this.replaceConsumer();
    });
    consumer.on(STOP, () => {
      this.running = false;
    });
    return consumer;
  }

  /** Every claim and position is void; lag is reported again only for partitions read from now on. */
  private newGeneration(): void {
    this.generation++;
    this.positions.clear();
    this.metrics.consumerLag.reset();
    this.handlers?.rebalanced();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Connect, wait for the topics, subscribe and run; safe to call again after a failed attempt. */
  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
    await this.admin.connect();
    await this.waitForTopics();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.eachBatch(payload, handlers),
    });
    this.running = true;
  }

  /** A topic not created yet is no error: say once which, then wait for it (or for the broker to create it). */
  private async waitForTopics(): Promise<void> {
    let said = false;
    for (;;) {
      const existing = new Set(await this.admin.listTopics());
      const missing = this.opts.topics.filter((t) => !existing.has(t));
      if (missing.length === 0) return;
      try {
        // A broker with auto.create.topics.enable creates them on this request.
        await this.admin.fetchTopicMetadata({ topics: missing });
        return;
      } catch (err) {
        if (!isUnknownTopic(err)) throw err;
      }
      if (!said) this.log.warn({ missing }, 'topics do not exist yet; waiting for them to be created');
      said = true;
      if (this.stopped) throw new Error(`stopped while waiting for topics ${missing.join(', ')}`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  private async replaceConsumer(): Promise<void> {
    const handlers = this.handlers;
    if (!handlers) return;
    this.newGeneration();
    await this.consumer.disconnect().catch(() => undefined);
    this.consumer = this.createConsumer();
    await retryWithBackoff(() => this.start(handlers), {
      giveUp: () => this.stopped,
      onRetry: (err, attempt) =>
        this.log.warn({ err: errorMessage(err), attempt }, 'restarting the consumer failed; retrying'),
    }).then(
      () => this.log.info('consumer restarted'),
      (err: unknown) =>
        handlers.failed(err, { topic: '', partition: -1, fromOffset: '0', ...packFetched([]) }),
    );
  }

  private async eachBatch(payload: EachBatchPayload, handlers: SourceHandlers): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const last = batch.messages[batch.messages.length - 1];
    if (!last) return;
    await this.inFlight;
    if (!isRunning() || isStale()) return;
    const key = partitionKey(topic, partition);
    this.metrics.consumerLag.set(
      { topic, partition: String(partition) },
      Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n),
    );

    const generation = this.generation;
    let position = this.positions.get(key);
    if (position === undefined) {
      const first = batch.messages[0]?.offset ?? last.offset;
      // The database may be away: retry the claim, keeping the group membership; a heartbeat that
      // fails (the group rebalanced without us) ends the claim, so a stale member never claims.
      const claimed = await retryWithBackoff(
        async () => handlers.claim(topic, partition, first, await this.watermarks(topic, partition)),
        {
          giveUp: () => !isRunning(),
          onRetry: (err, attempt) =>
            this.log.warn({ err: errorMessage(err), attempt, topic, partition }, 'claim failed; retrying'),
          whileWaiting: heartbeat,
        },
      );
      // A claim that returns into a newer generation is not ours to use: the new owner claims again.
      if (!isRunning() || isStale() || generation !== this.generation) return;
      position = BigInt(claimed);
      this.positions.set(key, position);
      if (position !== BigInt(first)) {
        // Kafka's position differs from the rows we hold (its advisory commit lags or runs ahead,
        // or the policy moved an out-of-range offset): read from ours.
        this.log.info(
          { topic, partition, from: claimed, kafka: first },
          'seeking to the offset stored with the rows',
        );
        this.consumer.seek({ topic, partition, offset: claimed });
        return;
      }
    }
    const from = position;
    // In offset order: messages before our position (Kafka sent more than asked) lead the batch.
    const skip = firstAtOrAfter(batch.messages, from);
    const messages = skip === 0 ? batch.messages : batch.messages.slice(skip);
    this.countMessages(topic, key, skip, messages);
    if (messages.length > 0) {
      // Packed now, so kafkajs's objects die young while the batch waits and is decoded.
      const handed: SourceBatch = { topic, partition, fromOffset: from.toString(), ...packFetched(messages) };
      this.positions.set(key, BigInt(last.offset) + 1n);
      // Handled after this returns, so kafkajs already fetches the next batches while this one is
      // decoded (its fetcher waits for eachBatch to return before it fetches again).
      this.inFlight = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => (generation === this.generation ? handlers.handle(handed, heartbeat) : undefined))
        .catch((err: unknown) => this.handlingFailed(err, handed, generation));
    }
    if (!isStale()) resolveOffset(last.offset);
    await heartbeat();
  }

  /** Nothing past a batch whose handling failed may be taken: read it again from where it started. */
  private handlingFailed(err: unknown, batch: SourceBatch, generation: number): void {
    if (generation === this.generation && !this.stopped) {
      this.positions.set(partitionKey(batch.topic, batch.partition), BigInt(batch.fromOffset));
      try {
        this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: batch.fromOffset });
      } catch (seekErr) {
        // Not running any more: the next owner reads from the stored offset anyway.
        this.log.debug({ err: errorMessage(seekErr) }, 'seek after a failed batch: consumer not running');
      }
    }
    this.handlers?.failed(err, batch);
  }

  private countMessages(topic: string, key: string, skipped: number, handed: readonly KafkaMessage[]): void {
    const seen = this.handedUpTo.get(key) ?? -1n;
    const fresh = handed.length - firstAtOrAfter(handed, seen + 1n);
    if (fresh > 0) this.metrics.messagesConsumed.inc({ topic }, fresh);
    const reread = skipped + handed.length - fresh;
    if (reread > 0) this.metrics.messagesReread.inc({ topic }, reread);
    const last = handed[handed.length - 1];
    if (last && BigInt(last.offset) > seen) this.handedUpTo.set(key, BigInt(last.offset));
  }

  private async watermarks(topic: string, partition: number): Promise<Watermarks> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    const p = offsets.find((o) => o.partition === partition);
    if (!p) throw new kafkajs.KafkaJSError(`no offsets for ${topic}[${partition}]`, { retriable: true });
    return { low: p.low, high: p.high };
  }

  reclaim(topic: string, partition: number): void {
    this.positions.delete(partitionKey(topic, partition));
  }

  handled(): Promise<void> {
    return this.inFlight;
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    try {
      await this.consumer.commitOffsets(
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.nextOffset })),
      );
    } catch (err) {
      // Not the source of truth: a failure here (e.g. during a rebalance) costs only a re-read that the claim filters.
      this.log.debug({ err: errorMessage(err) }, 'advisory Kafka commit failed');
    }
  }

  /** Stop fetching; the batch being handled finishes. A consumer that is not running has nothing to pause. */
  pauseAll(): void {
    try {
      this.consumer.pause(this.opts.topics.map((topic) => ({ topic })));
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'pause: consumer not running');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    await this.consumer.disconnect();
    await this.admin.disconnect();
  }
}

/** Index of the first message at or past `offset` in offset-ordered `messages` (their length if none). */
function firstAtOrAfter(messages: readonly { offset: string }[], offset: bigint): number {
  const first = messages[0];
  // Usually the whole batch is: one comparison, not one per message.
  if (!first || BigInt(first.offset) >= offset) return 0;
  let lo = 1;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BigInt((messages[mid] as { offset: string }).offset) >= offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function isUnknownTopic(err: unknown): boolean {
  for (let e = err as { type?: unknown; originalError?: unknown; cause?: unknown } | undefined; e; )
    if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    else e = (e.originalError ?? e.cause) as typeof e;
  return false;
}
