import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { errorMessage, retryWithBackoff } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { type PartitionOffset, partitionKey } from '../records.js';

export interface SourceOptions {
  groupId: string;
  topics: string[];
  sessionTimeoutMs: number;
}

/** What the pipeline does with what the source reads. */
export interface SourceHandlers {
  /**
   * First batch of a partition in this group generation: claim it and say where to start.
   * `fetchedFrom` is where Kafka started (its committed offset); the returned offset is ours.
   */
  claim(topic: string, partition: number, fetchedFrom: string): Promise<string>;
  /** The group rebalanced: every claim and uncommitted row is void. */
  rebalanced(): void;
  /** Messages at or past the claimed offset, in order. May wait (backpressure); `heartbeat` keeps the membership. */
  handle(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<void>;
}

/**
 * The Kafka source. Offsets live in the database, so kafkajs auto-commit is off and Kafka's
 * own commit is only advisory (for lag tooling). `resolveOffset` is called as soon as a batch
 * is handed over: in kafkajs it moves the fetch position, not a durable commit.
 */
export class KafkaSource {
  private consumer: Consumer;
  private handlers: SourceHandlers | undefined;
  /** Partitions whose claim is done in this generation, with the first offset to keep. */
  private readonly starts = new Map<string, bigint>();
  private running = false;
  private stopped = false;
  /** Bumped on every (re)join: a batch handed over in an older generation is dropped, not handled. */
  private generation = 0;
  /** The batch handed over last, still being handled; the next one waits for it. */
  private inFlight: Promise<void> = Promise.resolve();
  private handleError: unknown;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: SourceOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.consumer = this.createConsumer();
  }

  private createConsumer(): Consumer {
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.opts.sessionTimeoutMs / 10)),
      // Fetched bytes stay referenced (message values are slices of the response) until their rows
      // are committed, so fetch sizes bound the worker's memory as much as the batch limits do.
      maxBytesPerPartition: 1 << 20,
      maxBytes: 8 << 20,
      maxWaitTimeInMs: 100,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
    });
    const { GROUP_JOIN, CRASH, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => {
      // Also after kafkajs restarted the consumer on its own (a crash with restart: true).
      this.running = true;
      this.generation++;
      this.starts.clear();
      this.handlers?.rebalanced();
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

  get isRunning(): boolean {
    return this.running;
  }

  /** Connect, subscribe and run; safe to call again after a failed attempt (e.g. a topic not created yet). */
  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.eachBatch(payload, handlers),
    });
    this.running = true;
  }

  private async replaceConsumer(): Promise<void> {
    const handlers = this.handlers;
    if (!handlers) return;
    this.starts.clear();
    handlers.rebalanced();
    await this.consumer.disconnect().catch(() => undefined);
    this.consumer = this.createConsumer();
    await retryWithBackoff(() => this.start(handlers), {
      giveUp: () => this.stopped,
      onRetry: (err, attempt) =>
        this.log.warn({ err: errorMessage(err), attempt }, 'restarting the consumer failed; retrying'),
    }).then(
      () => this.log.info('consumer restarted'),
      () => undefined,
    );
  }

  private async eachBatch(payload: EachBatchPayload, handlers: SourceHandlers): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const last = batch.messages[batch.messages.length - 1];
    if (!last) return;
    await this.inFlight;
    this.rethrowHandleError();
    if (!isRunning() || isStale()) return;
    this.metrics.consumerLag.set(
      { topic, partition: String(partition) },
      Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n),
    );

    const key = partitionKey(topic, partition);
    let start = this.starts.get(key);
    if (start === undefined) {
      const first = (batch.messages[0] as KafkaMessage).offset;
      // The database may be away: retry the claim, keeping the group membership, never crash.
      start = BigInt(
        await retryWithBackoff(() => handlers.claim(topic, partition, first), {
          giveUp: () => !isRunning(),
          onRetry: (err, attempt) =>
            this.log.warn({ err: errorMessage(err), attempt, topic, partition }, 'claim failed; retrying'),
          whileWaiting: heartbeat,
        }),
      );
      if (!isRunning() || isStale()) return;
      this.starts.set(key, start);
      if (start < BigInt(first)) {
        // Kafka's committed offset ran ahead of the rows we hold: read the gap again.
        this.log.warn(
          { topic, partition, from: start.toString(), kafka: first },
          'seeking back to the offset stored with the rows',
        );
        this.consumer.seek({ topic, partition, offset: start.toString() });
        return;
      }
    }
    let messages = batch.messages;
    if (BigInt((messages[0] as KafkaMessage).offset) < start) {
      const from = start;
      messages = messages.filter((m) => BigInt(m.offset) >= from);
    }
    if (messages.length > 0) {
      this.metrics.messagesConsumed.inc({ topic }, messages.length);
      const generation = this.generation;
      // Handled after this returns, so kafkajs already fetches the next batches while this one is
      // decoded (its fetcher waits for eachBatch to return before it fetches again).
      this.inFlight = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() =>
          generation === this.generation ? handlers.handle(topic, partition, messages, heartbeat) : undefined,
        )
        .catch((err: unknown) => {
          this.handleError = err;
        });
    }
    if (!isStale()) resolveOffset(last.offset);
    await heartbeat();
  }

  /** A failure of the batch handled in the background surfaces in kafkajs's next eachBatch, as if thrown there. */
  private rethrowHandleError(): void {
    const err = this.handleError;
    if (err === undefined) return;
    this.handleError = undefined;
    throw err;
  }

  /** Resolves once the batch handed over last has been handled (stop waits for it before flushing). */
  handled(): Promise<void> {
    return this.inFlight;
  }

  /** Advisory commit to Kafka after the database commit, so lag tools see progress. */
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
  }
}
