import type { Server } from 'node:http';
import { hostname } from 'node:os';
import kafkajs, { type Kafka, type KafkaMessage } from 'kafkajs';
import PQueue from 'p-queue';
import pg from 'pg';
import { barStep } from './bars/index.js';
import type { Config } from './config.js';
import { registerCodecs } from './consumers/codecs.js';
import { type DeadLetter, DeadLetterQueue } from './consumers/dead-letter.js';
import { kafkaConfig } from './consumers/kafka-client.js';
import { KafkaSource } from './consumers/kafka-source.js';
import { backoffMs, classifyError, errorMessage, FencedError, retryWithBackoff } from './errors.js';
import { startHttpServer } from './observability/http.js';
import type { Logger } from './observability/log.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { partitionKey, type SourceRef } from './records.js';
import { type TopicKind, tableOfRow } from './transform/decode-batch.js';
import { DecodeThread } from './transform/decode-thread.js';
import { Batch, BatchBuffer } from './writers/batch.js';
import { CopySink, type RejectedRow, type WriteResult } from './writers/copy-sink.js';
import { claimPartition } from './writers/offset-store.js';

/**
 * The sink lifecycle, in the order the code follows it (after Kafka Connect's SinkTask):
 *  1. start: connect the pool, the DLQ producer and the consumer; serve /metrics.
 *  2. assigned: the first batch of a partition in a generation claims it in the database
 *     (epoch + 1) and reads the stored next offset; Kafka's position is corrected to it.
 *  3. put: each Kafka batch is decoded and validated on the decode thread; invalid messages go to
 *     the DLQ (acknowledged first); valid rows join the open batch.
 *  4. flush: the open batch closes on rows, bytes or age and is queued; one transaction COPYs its
 *     rows, merges its ticks into the bars and advances its offsets, fenced by the claim's epoch.
 *     Fetching waits while the queue is full.
 *  5. committed: Kafka gets an advisory commit.
 *  6. revoked: on a rebalance every claim and the open batch are void (a fenced write is dropped).
 *  7. stop: stop fetching, flush, commit, leave the group.
 */
export class Pipeline {
  readonly metrics: Metrics;
  private readonly pool: pg.Pool;
  private readonly kafka: Kafka;
  private readonly producer;
  private readonly source: KafkaSource;
  private readonly dlq: DeadLetterQueue;
  private readonly sink: CopySink;
  private readonly buffer: BatchBuffer;
  private readonly queue: PQueue;
  private readonly topicKinds: Map<string, TopicKind>;
  private readonly decoder = new DecodeThread();
  private readonly epochs = new Map<string, string>();
  private readonly owner = `${hostname()}:${process.pid}`;
  private ageTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private dbHealthy = false;
  private stopping = false;
  /** Rows in closed batches not yet committed. */
  private queuedRows = 0;

  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {
    registerCodecs();
    this.metrics = createMetrics();
    this.pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: 6, application_name: 'tick-ingest' });
    this.pool.on('error', (err) =>
      this.log.warn({ err: errorMessage(err) }, 'idle database connection failed'),
    );
    this.kafka = new kafkajs.Kafka(kafkaConfig(cfg));
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.topicKinds = new Map([
      [cfg.TOPIC_TICKS, 'ticks'],
      [cfg.TOPIC_BOOK, 'book'],
      [cfg.TOPIC_CALLBACKS, 'callbacks'],
    ]);
    this.source = new KafkaSource(
      this.kafka,
      {
        groupId: cfg.KAFKA_GROUP_ID,
        topics: [...this.topicKinds.keys()],
        sessionTimeoutMs: cfg.KAFKA_SESSION_TIMEOUT_MS,
      },
      log,
      this.metrics,
    );
    this.dlq = new DeadLetterQueue(this.producer, cfg.TOPIC_DLQ, this.metrics);
    this.sink = new CopySink(
      this.pool,
      this.metrics,
      cfg.BARS_ENABLED ? barStep(cfg.EXCHANGE_TIME_ZONE, this.metrics, log) : undefined,
    );
    this.buffer = new BatchBuffer({
      maxRows: cfg.FLUSH_ROWS,
      maxBytes: cfg.FLUSH_BYTES,
      maxAgeMs: cfg.FLUSH_INTERVAL_MS,
    });
    // One flush at a time: a second one overlapping it can hold a chunk its predecessor's retry
    // needs while waiting for that predecessor to commit first, a deadlock PostgreSQL cannot see.
    this.queue = new PQueue({ concurrency: 1 });
  }

  get ready(): boolean {
    return !this.stopping && this.dbHealthy && this.source.isRunning;
  }

  async start(): Promise<void> {
    this.server = await startHttpServer(this.cfg.METRICS_PORT, this.metrics.registry, () => this.ready);
    await this.decoder.start();
    await this.checkDatabase();
    this.healthTimer = setInterval(() => void this.checkDatabase(), 5_000);
    await this.producer.connect();
    // A topic not created yet, or a broker still starting, must not end the worker: wait for them.
    await this.retrying(
      'subscribe to the topics',
      () =>
        this.source.start({
          claim: (topic, partition, fetchedFrom) => this.claim(topic, partition, fetchedFrom),
          rebalanced: () => this.rebalanced(),
          handle: (topic, partition, messages, heartbeat) =>
            this.handle(topic, partition, messages, heartbeat),
        }),
      async () => undefined,
    );
    this.log.info(
      { port: this.httpPort, group: this.cfg.KAFKA_GROUP_ID, topics: [...this.topicKinds.keys()] },
      'worker started',
    );
  }

  get httpPort(): number | undefined {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : undefined;
  }

  private async checkDatabase(): Promise<void> {
    try {
      await this.pool.query('select 1');
      this.dbHealthy = true;
    } catch (err) {
      if (this.dbHealthy) this.log.warn({ err: errorMessage(err) }, 'database unreachable');
      this.dbHealthy = false;
    }
  }

  private async claim(topic: string, partition: number, fetchedFrom: string): Promise<string> {
    const c = await claimPartition(
      this.pool,
      this.cfg.KAFKA_GROUP_ID,
      topic,
      partition,
      fetchedFrom,
      this.owner,
    );
    this.epochs.set(partitionKey(topic, partition), c.epoch);
    this.metrics.partitionsOwned.set(this.epochs.size);
    this.log.info({ topic, partition, from: c.nextOffset, epoch: c.epoch }, 'claimed partition');
    return c.nextOffset;
  }

  private rebalanced(): void {
    this.epochs.clear();
    this.metrics.partitionsOwned.set(0);
    const dropped = this.buffer.take();
    if (dropped)
      this.log.info(
        { rows: dropped.rows },
        'rebalance: dropped the open batch; its messages will be read again',
      );
    this.updateBufferGauge();
  }

  /** put: decode one Kafka batch, dead-letter what is invalid, add the rest to the open batch. */
  private async handle(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    // Handed over after stop began: not taken, read again by whoever owns the partition next.
    if (this.stopping) return;
    const kind = this.topicKinds.get(topic);
    const epoch = this.epochs.get(partitionKey(topic, partition));
    if (!kind || epoch === undefined) throw new Error(`no claim or decoder for ${topic}[${partition}]`);
    const staged = await this.decodeInto(topic, partition, kind, messages);
    if (staged.invalid.length > 0)
      await this.retrying('dead-letter invalid messages', () => this.dlq.send(staged.invalid), heartbeat);
    // A rebalance during that await voids these rows: they will be read again under the new claim.
    if (this.epochs.get(partitionKey(topic, partition)) !== epoch) return;
    // From here to the end of the method nothing awaits, so the batch cannot close half-filled.
    const last = messages[messages.length - 1] as KafkaMessage;
    staged.batch.advance(topic, partition, last.offset, epoch);
    this.buffer.open().absorb(staged.batch);
    this.afterAdd();
    await this.waitForRoom(heartbeat);
  }

  private async decodeInto(topic: string, partition: number, kind: TopicKind, messages: KafkaMessage[]) {
    const decoded = await this.decoder.decode(
      kind,
      messages.map((m) => m.value),
      messages.map((m) => Number(m.timestamp)),
      {
        timeZone: this.cfg.EXCHANGE_TIME_ZONE,
        futureWindowUs: this.cfg.FUTURE_WINDOW_MS * 1000,
        pastWindowUs: this.cfg.PAST_WINDOW_MS * 1000,
      },
    );
    const batch = new Batch(0);
    const sources = messages.map((m): SourceRef => {
      const timestampMs = Number(m.timestamp);
      batch.messageTimestamps.push(timestampMs);
      return { topic, partition, offset: m.offset, key: m.key, value: m.value, timestampMs };
    });
    for (let i = 0; i < decoded.lines.length; i++) {
      batch.addRow(
        tableOfRow(decoded, i),
        decoded.lines[i] as string,
        sources[decoded.messages[i] as number] as SourceRef,
      );
    }
    batch.addTicks(decoded.ticks);
    for (const status of decoded.callbackStatuses) this.metrics.callbacksByStatus.inc({ status });
    const invalid = decoded.invalid.map((bad): DeadLetter => {
      this.metrics.invalidMessages.inc({ topic, reason: bad.code });
      return { source: sources[bad.message] as SourceRef, code: bad.code, message: bad.text };
    });
    return { batch, invalid };
  }

  private afterAdd(): void {
    if (this.buffer.isDue()) {
      this.closeBatch();
      return;
    }
    this.updateBufferGauge();
    if (!this.ageTimer) {
      const wait = this.buffer.msUntilDue();
      if (wait !== undefined) this.ageTimer = setTimeout(() => this.closeBatch(), wait);
    }
  }

  /** flush: close the open batch and queue its transaction. */
  private closeBatch(): void {
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    const batch = this.buffer.take();
    if (!batch) return;
    this.metrics.pendingFlushes.inc();
    void this.queue
      .add(() => this.flush(batch))
      .finally(() => {
        this.metrics.pendingFlushes.dec();
        this.updateBufferGauge();
      });
    this.updateBufferGauge();
  }

  private updateBufferGauge(): void {
    this.metrics.bufferRows.set(this.buffer.rows + this.queuedRows);
  }

  /** Backpressure: while the database is behind, stop taking batches from Kafka (memory stays bounded). */
  private async waitForRoom(heartbeat: () => Promise<void>): Promise<void> {
    if (this.queue.size + this.queue.pending <= this.cfg.MAX_PENDING_FLUSHES) return;
    this.metrics.fetchPaused.set(1);
    try {
      while (this.queue.size + this.queue.pending > this.cfg.MAX_PENDING_FLUSHES) {
        await Promise.race([new Promise((resolve) => this.queue.once('next', resolve)), sleep(1_000)]);
        await heartbeat().catch(() => undefined);
      }
    } finally {
      this.metrics.fetchPaused.set(0);
    }
  }

  private async flush(batch: Batch): Promise<void> {
    this.queuedRows += batch.rows;
    try {
      for (let attempt = 0; !batch.isEmpty; attempt++) {
        const end = this.metrics.flushDuration.startTimer();
        try {
          const result = await this.sink.write(batch, {
            groupId: this.cfg.KAFKA_GROUP_ID,
            deadLetter: (rows) => this.dlq.send(rows.map(rejectedToDeadLetter)),
          });
          end();
          this.dbHealthy = true;
          this.recordCommitted(batch, result);
          await this.source.commit([...batch.offsets.values()]);
          return;
        } catch (err) {
          const kind = classifyError(err);
          this.metrics.flushErrors.inc({ kind });
          if (err instanceof FencedError) {
            const dropped = batch.dropPartitions(new Set([partitionKey(err.topic, err.partition)]));
            this.log.warn(
              { topic: err.topic, partition: err.partition, dropped },
              'fenced: another replica owns the partition; dropped its rows',
            );
            continue;
          }
          this.dbHealthy = false;
          const wait = backoffMs(attempt);
          this.log.warn(
            { err: errorMessage(err), code: (err as { code?: string }).code, attempt, retryInMs: wait },
            'flush failed; will retry',
          );
          await sleep(wait);
        }
      }
    } finally {
      this.queuedRows -= batch.rows;
    }
  }

  private recordCommitted(batch: Batch, result: WriteResult): void {
    for (const [table, n] of Object.entries(result.rowsByTable))
      if (n > 0) this.metrics.rowsWritten.inc({ table }, n);
    for (const [table, n] of Object.entries(result.bytesByTable))
      if (n > 0) this.metrics.bytesWritten.inc({ table }, n);
    for (const [timeframe, n] of Object.entries(result.barsByTimeframe))
      if (n > 0) this.metrics.barsUpserted.inc({ timeframe }, n);
    this.metrics.batchRows.observe(batch.rows);
    const now = Date.now();
    for (const ts of batch.messageTimestamps) this.metrics.e2eLatency.observe((now - ts) / 1000);
  }

  private retrying(what: string, fn: () => Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    return retryWithBackoff(fn, {
      giveUp: () => this.stopping,
      onRetry: (err, attempt) =>
        this.log.warn({ err: errorMessage(err), attempt }, `${what} failed; retrying`),
      whileWaiting: heartbeat,
    });
  }

  /** stop: stop fetching, flush what was read, commit, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.source.pauseAll();
    // The batch being handled finishes (one is handed over at a time); later ones return at once.
    await this.source.handled();
    this.closeBatch();
    await this.queue.onIdle();
    await this.source.stop();
    await this.producer.disconnect();
    clearInterval(this.healthTimer);
    await this.pool.end();
    await this.decoder.stop();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.log.info('worker stopped');
  }
}

function rejectedToDeadLetter(r: RejectedRow): DeadLetter {
  return { source: r.source, code: r.code, message: `${r.table}: ${r.message}` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
