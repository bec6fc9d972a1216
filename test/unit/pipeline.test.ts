import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../src/consumers/dead-letter.js';
import type { Source, SourceHandlers } from '../../src/consumers/kafka-source.js';
import { CopyRowsBuilder } from '../../src/copy-rows.js';
import { OffsetConflictError, TransientError } from '../../src/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { unpackBytes } from '../../src/packed.js';
import { Pipeline } from '../../src/pipeline.js';
import type { PartitionOffset } from '../../src/records.js';
import { TickColumnsBuilder } from '../../src/tick-columns.js';
import type { DecodedBatch } from '../../src/transform/decode-batch.js';
import type { Decoder } from '../../src/transform/decode-thread.js';
import type { FlushBatch } from '../../src/writers/batch.js';
import type { Sink } from '../../src/writers/copy-sink.js';
import { emptyCopyRows, linesOf } from '../support/copy-rows.js';
import { sourceBatch } from '../support/source-batch.js';

/**
 * The pipeline's decisions with fake ports and no servers, as Kafka Connect tests its WorkerSinkTask:
 * a source whose handlers the test calls, a decoder that turns "PETR4" into a tick row and "bad"
 * into an invalid message, and a sink that does what each test scripts and counts its calls.
 */
type Step = 'ok' | Error | (() => Promise<void>);

function setup(
  opts: {
    script?: Step[];
    maxRows?: number;
    maxPendingFlushes?: number;
    lanes?: number;
    /** Awaited by each advisory Kafka commit before it is recorded. */
    commitWait?: () => Promise<void>;
  } = {},
) {
  const metrics = createMetrics();
  const calls = { reclaims: [] as string[], commits: [] as PartitionOffset[][], stopped: [] as string[] };
  let handlers: SourceHandlers | undefined;
  const source: Source = {
    isRunning: true,
    start: async (h) => {
      handlers = h;
    },
    reclaim: (topic, partition) => calls.reclaims.push(`${topic}[${partition}]`),
    commit: async (offsets) => {
      await opts.commitWait?.();
      calls.commits.push([...offsets]);
    },
    pauseAll: () => undefined,
    handled: async () => undefined,
    stop: async () => {
      calls.stopped.push('source');
    },
  };
  const decoder: Decoder = {
    start: async () => undefined,
    stop: async () => {
      calls.stopped.push('decoder');
    },
    decode: async (_kind, values) => {
      const rows = new CopyRowsBuilder(true);
      const ticks = new TickColumnsBuilder();
      const d: Omit<DecodedBatch, 'rows' | 'ticks'> = { callbackStatuses: [], invalid: [] };
      unpackBytes(values).forEach((v, i) => {
        const text = String(v);
        if (text === 'bad') d.invalid.push({ message: i, code: 'not_json', text: 'bad' });
        else if (text === 'die') throw new TransientError('decode thread exited with code 70');
        else {
          rows.add(`${text}\n`, i);
          ticks.add(text, 'B3', '1', '1', 0, null);
        }
      });
      return { ...d, ticks: ticks.build(), rows: [rows.build(), emptyCopyRows(), emptyCopyRows()] };
    },
  };
  const script = [...(opts.script ?? [])];
  const writes: { lines: string[]; offsets: PartitionOffset[] }[] = [];
  const sink: Sink = {
    write: async (batch: FlushBatch) => {
      const lines = batch.tables.market_ticks.parts.flatMap((p) => linesOf(p.rows, true));
      writes.push({ lines, offsets: [...batch.offsets.values()] });
      const step = script.shift() ?? 'ok';
      if (step instanceof Error) throw step;
      if (typeof step === 'function') await step();
    },
  };
  const letters: DeadLetter[] = [];
  const fatal: unknown[] = [];
  let epoch = 0;
  const pipeline = new Pipeline(
    {
      source,
      decoder,
      sink,
      deadLetters: {
        send: async (l) => {
          letters.push(...l);
        },
      },
      claims: { claim: async (_t, _p, fetchedFrom) => ({ nextOffset: fetchedFrom, epoch: String(++epoch) }) },
      clock: { now: () => 0 },
      metrics,
      log: pino({ level: 'silent' }),
      onFatal: (err) => fatal.push(err),
    },
    {
      topicKinds: new Map([['ticks', 'ticks']]),
      batch: { maxRows: opts.maxRows ?? 2, maxBytes: 1 << 20, maxAgeMs: 60_000 },
      maxPendingFlushes: opts.maxPendingFlushes ?? 4,
      lanes: opts.lanes ?? 1,
      decode: { timeZone: 'UTC', futureWindowUs: 0, pastWindowUs: 0 },
      flushDeadlineMs: 1_000,
    },
  );
  const h = () => handlers as SourceHandlers;
  /** Claim a partition at `from`, as the source does before its first batch. */
  const claim = (partition: number, from = 0) =>
    h().claim('ticks', partition, String(from), { low: '0', high: '1000' });
  /** Hand over messages `values` of a partition starting at offset `from`. */
  const put = (partition: number, from: number, values: string[]) => {
    const batch = sourceBatch(
      'ticks',
      partition,
      values.map((v, i) => ({ offset: String(from + i), timestamp: '0', key: null, value: Buffer.from(v) })),
      String(from),
    );
    return h().handle(batch, async () => undefined);
  };
  /** Let queued flushes run (their retries back off 100–200 ms first). */
  const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));
  const gauge = async (name: 'bufferRows' | 'partitionsOwned') =>
    (await metrics[name].get()).values[0]?.value;
  /** Messages observed in the e2e latency histogram. */
  const latencies = async () =>
    (await metrics.e2eLatency.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const count = async (name: 'flushErrors' | 'fatalErrors', label: string) =>
    (await metrics[name].get()).values.find((v) => Object.values(v.labels).includes(label))?.value ?? 0;
  return { pipeline, h, claim, put, settle, writes, letters, fatal, calls, gauge, count, latencies, metrics };
}

describe('Pipeline decisions (fake ports, no servers)', () => {
  it('writes a batch, then commits its offsets to Kafka (advisory); invalid messages go to the DLQ first', async () => {
    const p = setup();
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4', 'bad', 'VALE3']);
    await p.settle();
    expect(p.letters.map((l) => l.source.offset)).toEqual(['1']);
    expect(p.writes).toEqual([
      {
        lines: ['PETR4\n', 'VALE3\n'],
        offsets: [{ topic: 'ticks', partition: 0, fromOffset: '0', nextOffset: '3', epoch: '1' }],
      },
    ]);
    expect(p.calls.commits).toEqual([p.writes[0]?.offsets]);
    // Each stored row's latency, once it is committed.
    expect(await p.latencies()).toBe(2);
  });

  it('retries a retriable error (connection reset) with the same batch, and never reports it fatal', async () => {
    const p = setup({ script: [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'ok'] });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4', 'VALE3']);
    await p.settle(600);
    expect(p.writes.length).toBe(2);
    expect(p.writes[1]).toEqual(p.writes[0]);
    expect(p.fatal).toEqual([]);
    expect(await p.count('flushErrors', 'retriable')).toBe(1);
    expect(p.calls.commits.length).toBe(1);
    expect(await p.latencies()).toBe(2);
  });

  it('an error waiting cannot fix (permission denied) is fatal: reported once, not retried, not ready', async () => {
    const denied = Object.assign(new Error('permission denied for table market_ticks'), { code: '42501' });
    const p = setup({ script: [denied] });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4', 'VALE3']);
    await p.settle(300);
    expect(p.writes.length).toBe(1);
    expect(p.fatal).toEqual([denied]);
    expect(await p.count('fatalErrors', 'flush')).toBe(1);
    expect(p.pipeline.failed).toBe(true);
    expect(p.pipeline.ready).toBe(false);
    expect(p.calls.commits).toEqual([]);
    // Nothing more is taken: the process exits and the messages are read again after a restart.
    await p.put(0, 2, ['ITUB4', 'BBDC4']);
    await p.settle();
    expect(p.writes.length).toBe(1);
  });

  it('a fenced partition is dropped from the batch and claimed again; the other partitions are written', async () => {
    const fenced = new OffsetConflictError([{ topic: 'ticks', partition: 1, reason: 'fenced' }]);
    const p = setup({ script: [fenced, 'ok'], maxRows: 4 });
    await p.pipeline.start();
    await p.claim(0);
    await p.claim(1);
    await p.put(0, 0, ['PETR4', 'VALE3']);
    await p.put(1, 10, ['ITUB4', 'BBDC4']);
    await p.settle();
    expect(p.writes.map((w) => w.lines)).toEqual([
      ['PETR4\n', 'VALE3\n', 'ITUB4\n', 'BBDC4\n'],
      ['PETR4\n', 'VALE3\n'],
    ]);
    expect(p.calls.reclaims).toEqual(['ticks[1]']);
    expect(await p.count('flushErrors', 'fenced')).toBe(1);
    expect(await p.gauge('partitionsOwned')).toBe(1);
    // Until the source claims it again, a batch of the fenced partition handed over meanwhile is not
    // taken (the new claim reads it again from the stored offset), and never fatal.
    await p.put(1, 12, ['WEGE3', 'ABEV3', 'RENT3', 'MGLU3']);
    await p.settle();
    expect(p.writes.length).toBe(2);
    expect(p.fatal).toEqual([]);
    await p.claim(1, 10);
    await p.put(1, 10, ['ITUB4', 'BBDC4', 'WEGE3', 'ABEV3']);
    await p.settle();
    expect(p.writes[2]?.offsets).toEqual([
      { topic: 'ticks', partition: 1, fromOffset: '10', nextOffset: '14', epoch: '3' },
    ]);
  });

  it('a COMMIT whose reply was lost: the retry finds the batch stored and drops it (written once)', async () => {
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const committed = new OffsetConflictError([{ topic: 'ticks', partition: 0, reason: 'committed' }]);
    const p = setup({ script: [lost, committed] });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4', 'VALE3']);
    await p.settle(600);
    expect(p.writes.length).toBe(2);
    expect(await p.count('flushErrors', 'committed')).toBe(1);
    expect(p.calls.reclaims).toEqual([]);
    expect(p.fatal).toEqual([]);
    // The partition goes on from the stored offset.
    await p.put(0, 2, ['ITUB4', 'BBDC4']);
    await p.settle();
    expect(p.writes[2]?.offsets[0]).toMatchObject({ fromOffset: '2', nextOffset: '4' });
  });

  it('a failed hand-over (decode thread died) is read again by the source; a bug in handling is fatal', async () => {
    const p = setup();
    await p.pipeline.start();
    await p.claim(0);
    const batch = sourceBatch('ticks', 0, []);
    await expect(p.put(0, 0, ['die'])).rejects.toThrow('decode thread exited');
    p.h().failed(new TransientError('decode thread exited with code 70'), batch);
    expect(p.fatal).toEqual([]);
    p.h().failed(new TypeError('x is undefined'), batch);
    expect(p.fatal.length).toBe(1);
    expect(await p.count('fatalErrors', 'handle')).toBe(1);
  });

  it('stop mid-flush waits for the flush to commit, then stops the source and the decoder', async () => {
    let release: () => void = () => undefined;
    const blocked = () => new Promise<void>((r) => (release = r));
    const p = setup({ script: [blocked] });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4', 'VALE3']);
    await p.put(0, 2, ['ITUB4']); // open, not due
    await p.settle();
    const stopped = p.pipeline.stop();
    await p.settle();
    expect(p.calls.stopped).toEqual([]);
    release();
    await stopped;
    expect(p.writes.map((w) => w.lines)).toEqual([['PETR4\n', 'VALE3\n'], ['ITUB4\n']]);
    expect(p.calls.commits.length).toBe(2);
    expect(p.calls.stopped).toEqual(['source', 'decoder']);
  });

  it('does not hold the next flush for the advisory Kafka commit; stop waits for the commits, in order', async () => {
    const releases: (() => void)[] = [];
    const p = setup({ commitWait: () => new Promise<void>((r) => releases.push(r)) });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4', 'VALE3']);
    await p.put(0, 2, ['ITUB4', 'BBAS3']);
    await p.settle();
    // Both batches written while the first Kafka commit is still waiting; the second not yet sent.
    expect(p.writes).toHaveLength(2);
    expect(releases).toHaveLength(1);
    const stopped = p.pipeline.stop();
    await p.settle();
    expect(p.calls.stopped).toEqual([]);
    releases[0]?.();
    await p.settle();
    expect(releases).toHaveLength(2);
    releases[1]?.();
    await stopped;
    expect(p.calls.commits).toEqual(p.writes.map((w) => w.offsets));
    expect(p.calls.stopped).toEqual(['source', 'decoder']);
  });

  it('a batch queued under a claim a rebalance replaced is dropped when fenced, without claiming again', async () => {
    let release: () => void = () => undefined;
    const fenced = new OffsetConflictError([{ topic: 'ticks', partition: 0, reason: 'fenced' }]);
    const heldThenFenced = async () => {
      await new Promise<void>((r) => (release = r));
      throw fenced;
    };
    const p = setup({ script: [heldThenFenced, 'ok'] });
    await p.pipeline.start();
    await p.claim(0); // epoch 1
    await p.put(0, 0, ['PETR4', 'VALE3']); // written under epoch 1, held
    p.h().rebalanced();
    await p.claim(0); // epoch 2: reads again from the stored offset
    await p.put(0, 0, ['PETR4', 'VALE3']); // queued behind the held one
    release();
    await p.settle();
    expect(p.writes.map((w) => w.offsets.map((o) => `${o.fromOffset}-${o.nextOffset}@${o.epoch}`))).toEqual([
      ['0-2@1'],
      ['0-2@2'],
    ]);
    expect(p.calls.reclaims).toEqual([]);
    expect(await p.count('flushErrors', 'fenced')).toBe(1);
    expect(await p.gauge('partitionsOwned')).toBe(1);
    await p.pipeline.stop();
    expect(p.calls.commits).toEqual([p.writes[1]?.offsets]);
  });

  it('two lanes write two partitions at the same time; a partition’s batches stay in order in its lane', async () => {
    let release: () => void = () => undefined;
    const blocked = () => new Promise<void>((r) => (release = r));
    const p = setup({ script: [blocked], lanes: 2 });
    await p.pipeline.start();
    await p.claim(0);
    await p.claim(1);
    await p.put(0, 0, ['PETR4', 'VALE3']); // lane 1: written, held open by the sink
    await p.put(0, 2, ['ITUB4', 'BBAS3']); // lane 1: queued behind it
    await p.put(1, 0, ['WEGE3', 'ABEV3']); // lane 2: written meanwhile
    await p.settle();
    expect(p.writes.map((w) => w.lines)).toEqual([
      ['PETR4\n', 'VALE3\n'],
      ['WEGE3\n', 'ABEV3\n'],
    ]);
    release();
    await p.settle();
    expect(
      p.writes.map((w) => w.offsets.map((o) => `${o.partition}:${o.fromOffset}-${o.nextOffset}`)),
    ).toEqual([['0:0-2'], ['1:0-2'], ['0:2-4']]);
    await p.pipeline.stop();
    expect(p.calls.commits).toHaveLength(3);
  });

  it('pauses the source once MAX_PENDING_FLUSHES batches wait beyond one written per lane', async () => {
    const releases: (() => void)[] = [];
    const held = () => new Promise<void>((r) => releases.push(r));
    const p = setup({ script: [held, held, held], lanes: 2, maxPendingFlushes: 1 });
    await p.pipeline.start();
    await p.claim(0);
    await p.claim(1);
    await p.put(0, 0, ['PETR4', 'VALE3']); // lane 1, being written
    await p.put(1, 0, ['WEGE3', 'ABEV3']); // lane 2, being written
    let returned = false;
    const third = p.put(0, 2, ['ITUB4', 'BBAS3']).then(() => {
      returned = true;
    }); // waits in lane 1: the source must pause
    await p.settle();
    expect(returned).toBe(false);
    expect((await p.metrics.fetchPaused.get()).values[0]?.value).toBe(1);
    releases[1]?.(); // lane 2 done: room again
    await third;
    expect((await p.metrics.fetchPaused.get()).values[0]?.value).toBe(0);
    for (const r of releases) r();
    await p.settle();
    releases[2]?.();
    await p.pipeline.stop();
    expect(p.writes).toHaveLength(3);
  });

  it('counts every closed, uncommitted batch in the buffer gauge, queued ones too', async () => {
    let release: () => void = () => undefined;
    const blocked = () => new Promise<void>((r) => (release = r));
    const p = setup({ script: [blocked], maxRows: 2 });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['A', 'B']); // closed, being written
    await p.put(0, 2, ['C', 'D']); // closed, queued
    await p.put(0, 4, ['E']); // open
    expect(await p.gauge('bufferRows')).toBe(5);
    release();
    await p.settle();
    expect(await p.gauge('bufferRows')).toBe(1);
  });

  it('a rebalance drops the open batch: its rows are read again under the new claims', async () => {
    const p = setup({ maxRows: 10 });
    await p.pipeline.start();
    await p.claim(0);
    await p.put(0, 0, ['PETR4']);
    p.h().rebalanced();
    await p.pipeline.stop();
    expect(p.writes).toEqual([]);
    expect(await p.gauge('partitionsOwned')).toBe(0);
  });
});
