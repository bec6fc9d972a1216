import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { BatchHistogram } from './batch-histogram.js';

/** Every metric of the worker, recorded where its I/O happens. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tick_ingest_' });
  const m = {
    registry,
    rowsWritten: new Counter({
      name: 'tick_ingest_rows_written_total',
      help: 'Rows committed, by table',
      labelNames: ['table'],
      registers: [registry],
    }),
    bytesWritten: new Counter({
      name: 'tick_ingest_copy_bytes_total',
      help: 'COPY text bytes committed, by table',
      labelNames: ['table'],
      registers: [registry],
    }),
    messagesConsumed: new Counter({
      name: 'tick_ingest_messages_consumed_total',
      help: 'Kafka messages read, by topic',
      labelNames: ['topic'],
      registers: [registry],
    }),
    messagesReread: new Counter({
      name: 'tick_ingest_messages_reread_total',
      help: 'Kafka messages read again (after a failure, a rebalance or a restart), by topic: not new data',
      labelNames: ['topic'],
      registers: [registry],
    }),
    offsetResets: new Counter({
      name: 'tick_ingest_offset_resets_total',
      help: 'Stored offsets found outside the partition log when claiming (topic recreated, retention), by topic and reason',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    }),
    fatalErrors: new Counter({
      name: 'tick_ingest_fatal_errors_total',
      help: 'Errors waiting cannot fix (permissions, a missing table, a bug): the worker stops, by where they happened',
      labelNames: ['stage'],
      registers: [registry],
    }),
    invalidMessages: new Counter({
      name: 'tick_ingest_invalid_messages_total',
      help: 'Messages that failed decoding or validation, by topic and reason',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'tick_ingest_dead_lettered_total',
      help: 'Messages written to the dead-letter topic, by source topic and reason',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    }),
    callbacksByStatus: new Counter({
      name: 'tick_ingest_callbacks_total',
      help: 'ProfitDLL callbacks stored, by status',
      labelNames: ['status'],
      registers: [registry],
    }),
    flushDuration: new Histogram({
      name: 'tick_ingest_flush_duration_seconds',
      help: 'Time of one flush transaction (COPY of all tables + offsets + commit)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    copyDuration: new Histogram({
      name: 'tick_ingest_copy_duration_seconds',
      help: 'Time of one COPY, by table',
      labelNames: ['table'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'tick_ingest_batch_rows',
      help: 'Rows in one flushed batch',
      buckets: [1, 10, 100, 1000, 5000, 10000, 20000, 50000, 100000],
      registers: [registry],
    }),
    flushErrors: new Counter({
      name: 'tick_ingest_flush_errors_total',
      help: 'Failed flush attempts, by kind (retriable, data, fenced, committed: stored by an earlier attempt; bars: bars given up, ticks written)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    bufferRows: new Gauge({
      name: 'tick_ingest_buffer_rows',
      help: 'Rows buffered or queued for the database, not yet committed',
      registers: [registry],
    }),
    pendingFlushes: new Gauge({
      name: 'tick_ingest_pending_flushes',
      help: 'Closed batches waiting for or in a flush',
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'tick_ingest_consumer_lag',
      help: 'High watermark minus next offset to read, by topic and partition',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
    // Observed for every committed row: a histogram without an object per observation.
    e2eLatency: new BatchHistogram(
      'tick_ingest_e2e_latency_seconds',
      'Kafka message timestamp to database commit',
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registry,
    ),
    fetchPaused: new Gauge({
      name: 'tick_ingest_fetch_paused',
      help: '1 while fetching waits for the database (backpressure)',
      registers: [registry],
    }),
    barsUpserted: new Counter({
      name: 'tick_ingest_bars_upserted_total',
      help: 'OHLCV bars inserted or updated, by timeframe',
      labelNames: ['timeframe'],
      registers: [registry],
    }),
    barWriteDuration: new Histogram({
      name: 'tick_ingest_bar_write_duration_seconds',
      help: 'Time the bar step takes inside a flush transaction (all timeframes)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    databaseUp: new Gauge({
      name: 'tick_ingest_database_up',
      help: '1 while the database answers the health probe (every 5 s), 0 while it does not, with or without traffic',
      registers: [registry],
    }),
    duplicateTrades: new Counter({
      name: 'tick_ingest_duplicate_trades_total',
      help: 'Ticks not stored because their trade (symbol, trading day, trade number) was already stored',
      registers: [registry],
    }),
    feedGapsOpen: new Gauge({
      name: 'tick_ingest_feed_gaps_open',
      help: 'Open holes in the trade numbers (data_capture.feed_gaps with filled_at null), as last seen',
      registers: [registry],
    }),
    partitionsOwned: new Gauge({
      name: 'tick_ingest_partitions_owned',
      help: 'Partitions this replica holds a claim on',
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
