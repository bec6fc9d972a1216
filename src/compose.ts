import type { Server } from 'node:http';
import { hostname } from 'node:os';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { barStep } from './bars/index.js';
import type { Config } from './config.js';
import { registerCodecs } from './consumers/codecs.js';
import { type DeadLetter, DeadLetterQueue } from './consumers/dead-letter.js';
import { kafkaConfig } from './consumers/kafka-client.js';
import { KafkaSource } from './consumers/kafka-source.js';
import { withClient } from './db.js';
import { databasePoolOptions } from './db-options.js';
import { errorMessage } from './errors.js';
import { startHttpServer } from './observability/http.js';
import type { Logger } from './observability/log.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { type ClaimStore, Pipeline } from './pipeline.js';
import { checkTrades, countOpenGaps, forgetTrades } from './trades/index.js';
import type { TopicKind } from './transform/decode-batch.js';
import { DecodeThread } from './transform/decode-thread.js';
import { CopySink, type RejectedRow } from './writers/copy-sink.js';
import { claimPartition } from './writers/offset-store.js';

/** The worker as its process runs it: the pipeline wired to real Kafka and PostgreSQL, and its HTTP endpoints. */
export interface Worker {
  readonly metrics: Metrics;
  /** Resolves with the first error waiting cannot fix; the process should then stop and exit non-zero. */
  readonly fatal: Promise<unknown>;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly httpPort: number | undefined;
}

/** The composition root: every real part is built here, and only here. */
export function createWorker(cfg: Config, log: Logger): Worker {
  registerCodecs();
  const metrics = createMetrics();
  const pool = new pg.Pool({
    ...databasePoolOptions(cfg),
    // A silent network or a stuck server must fail a statement, never hang it.
    statement_timeout: cfg.DB_STATEMENT_TIMEOUT_MS,
    lock_timeout: cfg.DB_LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: cfg.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    query_timeout: cfg.DB_QUERY_TIMEOUT_MS,
    connectionTimeoutMillis: cfg.DB_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on('error', (err) => log.warn({ err: errorMessage(err) }, 'idle database connection failed'));
  const kafka = new kafkajs.Kafka(kafkaConfig(cfg));
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // Chosen explicitly (kafkajs warns otherwise); dead letters keep their source keys.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  const topicKinds = new Map<string, TopicKind>([
    [cfg.TOPIC_TICKS, 'ticks'],
    [cfg.TOPIC_BOOK, 'book'],
    [cfg.TOPIC_CALLBACKS, 'callbacks'],
  ]);
  const deadLetters = new DeadLetterQueue(producer, cfg.TOPIC_DLQ, metrics, cfg.DLQ_MAX_REQUEST_BYTES);
  const owner = `${hostname()}:${process.pid}`;
  const claims: ClaimStore = {
    claim: (topic, partition, fetchedFrom, watermarks) =>
      withClient(pool, async (client) => {
        const claim = await claimPartition(client, {
          groupId: cfg.KAFKA_GROUP_ID,
          topic,
          partition,
          fetchedFrom,
          owner,
          watermarks,
          policy: cfg.OFFSET_OUT_OF_RANGE,
        });
        // The open holes live in the database: a replica taking over a partition reports them too.
        metrics.feedGapsOpen.set(await countOpenGaps(client));
        return claim;
      }),
  };
  let reportFatal: (err: unknown) => void = () => undefined;
  const fatal = new Promise<unknown>((resolve) => {
    reportFatal = resolve;
  });
  const pipeline = new Pipeline(
    {
      source: new KafkaSource(
        kafka,
        {
          groupId: cfg.KAFKA_GROUP_ID,
          topics: [...topicKinds.keys()],
          sessionTimeoutMs: cfg.KAFKA_SESSION_TIMEOUT_MS,
          fetchPartitionBytes: cfg.KAFKA_FETCH_PARTITION_BYTES,
          fetchBytes: cfg.KAFKA_FETCH_BYTES,
        },
        log,
        metrics,
      ),
      decoder: new DecodeThread(
        cfg.TICK_INGEST_FAULT_DECODE_EXIT_AFTER === undefined
          ? {}
          : { faultExitAfter: cfg.TICK_INGEST_FAULT_DECODE_EXIT_AFTER },
      ),
      sink: new CopySink(pool, metrics, {
        groupId: cfg.KAFKA_GROUP_ID,
        deadLetter: (rows) => deadLetters.send(rows.map(rejectedToDeadLetter)),
        ...(cfg.BARS_ENABLED ? { bars: barStep(cfg.EXCHANGE_TIME_ZONE, metrics, log) } : {}),
        trades: {
          check: (ticks) => checkTrades(ticks, cfg.EXCHANGE_TIME_ZONE),
          forget: (client, ticks, rows) => forgetTrades(client, ticks, rows, cfg.EXCHANGE_TIME_ZONE),
        },
        deadlineMs: cfg.FLUSH_DEADLINE_MS,
      }),
      deadLetters,
      claims,
      clock: { now: Date.now },
      metrics,
      log,
      onFatal: (err) => reportFatal(err),
    },
    {
      topicKinds,
      batch: { maxRows: cfg.FLUSH_ROWS, maxBytes: cfg.FLUSH_BYTES, maxAgeMs: cfg.FLUSH_INTERVAL_MS },
      maxPendingFlushes: cfg.MAX_PENDING_FLUSHES,
      lanes: cfg.FLUSH_LANES,
      decode: {
        timeZone: cfg.EXCHANGE_TIME_ZONE,
        futureWindowUs: cfg.FUTURE_WINDOW_MS * 1000,
        pastWindowUs: cfg.PAST_WINDOW_MS * 1000,
      },
      flushDeadlineMs: cfg.FLUSH_DEADLINE_MS,
    },
  );

  let server: Server | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let dbHealthy = false;
  const checkDatabase = async () => {
    try {
      await pool.query('select 1');
      dbHealthy = true;
      metrics.databaseUp.set(1);
    } catch (err) {
      if (dbHealthy) log.warn({ err: errorMessage(err) }, 'database unreachable');
      dbHealthy = false;
      metrics.databaseUp.set(0);
    }
  };

  const worker: Worker = {
    metrics,
    fatal,
    get httpPort() {
      const addr = server?.address();
      return typeof addr === 'object' && addr ? addr.port : undefined;
    },
    async start() {
      server = await startHttpServer(
        cfg.METRICS_PORT,
        metrics.registry,
        { live: () => !pipeline.failed, ready: () => dbHealthy && pipeline.ready },
        cfg.METRICS_HOST,
      );
      await checkDatabase();
      healthTimer = setInterval(() => void checkDatabase(), 5_000);
      await producer.connect();
      await pipeline.start();
      log.info(
        { port: worker.httpPort, group: cfg.KAFKA_GROUP_ID, topics: [...topicKinds.keys()] },
        'worker started',
      );
    },
    async stop() {
      await pipeline.stop();
      await producer.disconnect();
      clearInterval(healthTimer);
      await pool.end();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      log.info('worker stopped');
    },
  };
  return worker;
}

function rejectedToDeadLetter(r: RejectedRow): DeadLetter {
  return { source: r.source, code: r.code, message: `${r.table}: ${r.message}` };
}
