import { execFileSync } from 'node:child_process';
import type { Kafka, Producer } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMEFRAMES } from '../../src/bars/index.js';
import { bookValue, isoLocal, tickMessages } from '../../src/feed/synthetic.js';
import { migrate } from '../../src/schema/index.js';
import { MISMATCHES_SQL, SP } from '../support/bars.js';
import { type FreshDatabase, freshDatabase, freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';
import { startWorker, waitFor } from '../support/worker.js';

const nowIso = () => isoLocal(Date.now() * 1000 - 60_000_000);
const tick = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    symbol: 'PETR4',
    exchange: 'B3',
    price: '30.12',
    volume: 100,
    aggressor: 'BUY',
    tickTime: nowIso(),
    ...over,
  });

/** Every kind of bad message we could think of, each with the topic it is sent to. */
function invalidFeed(topics: Topics): Array<{ topic: string; value: string | null; why: string }> {
  const t = topics.ticks;
  const b = topics.book;
  const c = topics.callbacks;
  const future = isoLocal((Date.now() + 3_600_000) * 1000);
  const goodBook = JSON.parse(bookValue('VALE3', 60, 3, Date.now() * 1000 - 60_000_000)) as Record<
    string,
    unknown
  >;
  return [
    { topic: t, value: '{"symbol":', why: 'not JSON' },
    { topic: t, value: '[1,2,3]', why: 'JSON array' },
    { topic: t, value: '"hello"', why: 'JSON string' },
    { topic: t, value: null, why: 'null value (tombstone)' },
    { topic: t, value: tick({ price: '-30.12' }), why: 'negative price' },
    { topic: t, value: tick({ price: 0 }), why: 'zero price' },
    { topic: t, value: tick({ price: '12345678901.5' }), why: 'price too large for numeric(18,8)' },
    { topic: t, value: tick({ price: 'NaN' }), why: 'NaN price' },
    { topic: t, value: tick({ price: 'Infinity' }), why: 'Infinity price' },
    { topic: t, value: tick({ price: '30.123456789' }), why: '9 decimals' },
    { topic: t, value: tick({ volume: 0 }), why: 'zero volume' },
    { topic: t, value: tick({ aggressor: 'BOTH' }), why: 'unknown aggressor' },
    { topic: t, value: tick({ tickTime: 'yesterday' }), why: 'bad timestamp' },
    { topic: t, value: tick({ tickTime: future }), why: 'future timestamp' },
    { topic: t, value: tick({ tickTime: '31/02/2026 10:00:00.000' }), why: '31 February' },
    { topic: t, value: tick({ symbol: 'PE\u0000TR4' }), why: 'NUL in a string' },
    { topic: t, value: tick({ symbol: 'X'.repeat(51) }), why: 'over-long symbol' },
    { topic: t, value: tick({ symbol: undefined }), why: 'missing symbol' },
    { topic: t, value: tick({ symbol: 42 }), why: 'symbol is a number' },
    {
      topic: b,
      value: JSON.stringify({ ...goodBook, bids: [{ price: '61', volume: 1 }] }),
      why: 'crossed book',
    },
    { topic: b, value: JSON.stringify({ ...goodBook, asks: [] }), why: 'empty side' },
    {
      topic: b,
      value: JSON.stringify({
        ...goodBook,
        bids: [
          { price: '59.98', volume: 1 },
          { price: '59.99', volume: 1 },
        ],
      }),
      why: 'side out of order',
    },
    {
      topic: c,
      value: JSON.stringify({ callbackTime: nowIso(), payload: {} }),
      why: 'callback without type',
    },
    {
      topic: c,
      value: JSON.stringify({ type: 'FOO', callbackTime: nowIso(), payload: {} }),
      why: 'unknown callback type',
    },
    {
      topic: c,
      value: JSON.stringify({ type: 'STATE', callbackTime: 'soon', payload: {} }),
      why: 'bad callback time',
    },
    {
      topic: c,
      value: JSON.stringify({ type: 'STATE', callbackTime: nowIso(), payload: 'x' }),
      why: 'payload not an object',
    },
  ];
}

interface Topics {
  ticks: string;
  book: string;
  callbacks: string;
  dlq: string;
}

async function countRows(db: pg.Client, sql: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql);
  return Number(rows[0]?.n ?? 0);
}

async function dlqMessages(kafka: Kafka, topic: string, expected: number) {
  const consumer = kafka.consumer({ groupId: `${topic}.reader.${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<{ value: string | null; headers: Record<string, string> }> = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`DLQ had ${got.length} of ${expected} messages`)),
      60_000,
    );
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        got.push({ value: message.value?.toString() ?? null, headers });
        if (got.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return got;
}

describe('tick-ingest run against the real stack', () => {
  let db: FreshDatabase;
  let client: pg.Client;
  let kafka: Kafka;
  let producer: Producer;

  beforeAll(async () => {
    db = await freshDatabase('worker');
    await migrate(db.url);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    kafka = testKafka();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await client?.end();
    await db?.drop();
  });

  async function topics(prefix: string): Promise<Topics> {
    return {
      ticks: await freshTopic(`${prefix}.ticks`, 3),
      book: await freshTopic(`${prefix}.book`, 2),
      callbacks: await freshTopic(`${prefix}.callbacks`, 2),
      dlq: await freshTopic(`${prefix}.dlq`, 1),
    };
  }

  /** Every bar timeframe equal to a recomputation from the ticks in the database, every column. */
  async function expectBarsEqualTicks(): Promise<void> {
    for (const tf of TIMEFRAMES) {
      const { rows } = await client.query(MISMATCHES_SQL, [tf.interval, tf.name, SP]);
      expect(rows, `timeframe ${tf.name}`).toEqual([]);
    }
  }

  // The worker runs as an operator runs it: a login user with only tick_ingest_writer's rights;
  // test-sized batches, or (`shipped`) the defaults operators get.
  const workerEnv = (t: Topics, group: string, sizing: 'test' | 'shipped' = 'test') => ({
    DATABASE_URL: db.writerUrl,
    KAFKA_BROKERS: stack().kafkaBrokers,
    KAFKA_GROUP_ID: group,
    TOPIC_TICKS: t.ticks,
    TOPIC_BOOK: t.book,
    TOPIC_CALLBACKS: t.callbacks,
    TOPIC_DLQ: t.dlq,
    ...(sizing === 'test' ? { FLUSH_ROWS: '500', FLUSH_INTERVAL_MS: '100' } : {}),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  });

  it('lands a mixed feed exactly: valid once, invalid in the DLQ or FAILED, compressed batches read', async () => {
    const t = await topics('mixed');
    const group = `g.${t.ticks}`;
    const since = Date.now() * 1000 - 120_000_000;
    // 300 ticks by kafkajs, 4 × 25 by librdkafka (kcat) with each codec.
    await producer.send({
      topic: t.ticks,
      messages: [...tickMessages(300, { startUs: since, uniqueVolumes: true })].map((m) => ({
        key: m.key,
        value: m.value,
      })),
    });
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'];
    codecs.forEach((codec, k) => {
      const lines = [
        ...tickMessages(25, { startUs: since, firstSeq: 1000 * (k + 1), uniqueVolumes: true }),
      ].map((m) => `${m.key}|${m.value}`);
      execFileSync('kcat', ['-P', '-b', stack().kafkaBrokers, '-t', t.ticks, '-z', codec, '-K', '|'], {
        input: `${lines.join('\n')}\n`,
      });
    });
    await producer.send({
      topic: t.ticks,
      messages: [
        {
          key: 'EXACT',
          value: tick({
            symbol: 'EXACT',
            price: '30.12',
            volume: '1234567890.12345678',
            tickTime: '2026-11-24T13:00:00.123456789-03:00',
          }),
        },
      ],
    });
    const books = Array.from({ length: 20 }, (_, i) => ({
      key: 'VALE3',
      value: bookValue('VALE3', 60 + i / 10, 5, since + i * 1000),
    }));
    await producer.send({ topic: t.book, messages: books });
    const cb = (type: string, payload: unknown) => ({
      key: 'cb',
      value: JSON.stringify({ type, callbackTime: nowIso(), payload }),
    });
    const callbacks = [
      cb('TRADE', { symbol: 'CALLBK', price: 33.5, volume: 200, aggressor: 'SELL' }),
      cb('TRADE', { symbol: 'CALLBK', price: 33.51, volume: 100, aggressor: 'BUY', tickTime: nowIso() }),
      cb('PRICE_DEPTH', JSON.parse(bookValue('BBAS3', 28, 3, Date.now() * 1000 - 60_000_000))),
      cb('TRADE', { symbol: 'CALLBK', price: -1, volume: 100, aggressor: 'BUY' }),
      cb('PRICE_DEPTH', {
        symbol: 'BBAS3',
        bids: [{ price: 29, volume: 1 }],
        asks: [{ price: 28, volume: 1 }],
      }),
      cb('PRICE_DEPTH', { symbol: 'BBAS3', side: 'bid', position: 0, price: 28, volume: 100 }),
      cb('STATE', { connection: 'MARKET', result: 4 }),
      cb('ORDER', { clOrdId: 'abc', status: 'NEW' }),
      cb('OFFER_BOOK', { symbol: 'PETR4', action: 'ADD', position: 3 }),
    ];
    await producer.send({ topic: t.callbacks, messages: callbacks });
    const invalid = invalidFeed(t);
    for (const m of invalid)
      await producer.send({ topic: m.topic, messages: [{ key: 'bad', value: m.value }] });

    const worker = startWorker(workerEnv(t, group));
    try {
      const port = await worker.started;
      const expectedTicks = 300 + 100 + 1 + 2; // + the two PROCESSED TRADE callbacks
      await waitFor('all rows', async () => {
        const ticks = await countRows(client, 'select count(*) n from data_capture.market_ticks');
        const cbs = await countRows(client, 'select count(*) n from data_capture.profitdll_callbacks');
        return ticks >= expectedTicks && cbs >= callbacks.length;
      });
      const dead = await dlqMessages(kafka, t.dlq, invalid.length);
      // Let any straggler (a duplicate would be one) land before counting exactly.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await countRows(client, 'select count(*) n from data_capture.market_ticks')).toBe(expectedTicks);
      expect(
        await countRows(
          client,
          "select count(distinct volume) n from data_capture.market_ticks where symbol not in ('CALLBK', 'EXACT')",
        ),
      ).toBe(400);
      expect(await countRows(client, 'select count(*) n from data_capture.order_book_snapshots')).toBe(21);
      const statuses = await client.query<{ status: string; n: number }>(
        'select status, count(*)::int n from data_capture.profitdll_callbacks group by status order by status',
      );
      expect(statuses.rows).toEqual([
        { status: 'FAILED', n: 2 },
        { status: 'PROCESSED', n: 3 },
        { status: 'SKIPPED', n: 4 },
      ]);
      const failed = await client.query<{ error_message: string }>(
        "select error_message from data_capture.profitdll_callbacks where status = 'FAILED'",
      );
      for (const r of failed.rows) expect(r.error_message).toBeTruthy();

      // Exact decimals and microseconds survive.
      const exact = await client.query<{ price: string; volume: string; t: string }>(
        `select price::text, volume::text, to_char(tick_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') t
           from data_capture.market_ticks where symbol = 'EXACT'`,
      );
      expect(exact.rows).toEqual([
        { price: '30.12000000', volume: '1234567890.12345678', t: '2026-11-24 16:00:00.123456' },
      ]);

      // The DLQ holds every invalid message unchanged, with its provenance.
      expect(dead).toHaveLength(invalid.length);
      expect(dead.map((d) => d.value).sort()).toEqual(invalid.map((m) => m.value).sort());
      for (const d of dead) {
        expect(Object.keys(d.headers)).toEqual(
          expect.arrayContaining([
            'x-source-topic',
            'x-source-partition',
            'x-source-offset',
            'x-error',
            'x-failed-at',
          ]),
        );
        expect([t.ticks, t.book, t.callbacks]).toContain(d.headers['x-source-topic']);
      }

      // Offsets stored with the rows: every partition read to its end.
      const offsets = await client.query<{ topic: string; n: string }>(
        'select topic, sum(next_offset)::text n from data_capture.ingest_offsets where group_id = $1 group by topic',
        [group],
      );
      const stored = Object.fromEntries(offsets.rows.map((r) => [r.topic, Number(r.n)]));
      expect(stored[t.ticks]).toBe(401 + 19);
      expect(stored[t.book]).toBe(23);
      expect(stored[t.callbacks]).toBe(callbacks.length + 4);

      // The bar builder ran after the commits: every 1m bucket with ticks has its bar, with the right count.
      await waitFor('1m bars for every tick bucket', async () => {
        const missing = await countRows(
          client,
          `select count(*) n from (
             select symbol, time_bucket('1 minute', tick_time, 'America/Sao_Paulo') b, count(*) c
               from data_capture.market_ticks group by 1, 2) t
           left join data_capture.ohlcv_bars o on o.symbol = t.symbol and o.timeframe = '1m' and o.bar_time = t.b
           where o.trade_count is distinct from t.c`,
        );
        return missing === 0;
      });

      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/tick_ingest_rows_written_total\{table="market_ticks"\} 403/);
      expect(metrics).toMatch(/tick_ingest_dead_lettered_total\{topic="[^"]+",reason="[a-z_]+"\} \d+/);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      const t0 = Date.now();
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  it('kill -9 mid-stream then restart: every row exactly once', async () => {
    const t = await topics('kill');
    const group = `g.${t.ticks}`;
    const total = 30_000;
    const feed = [
      // Trade numbers above the earlier feeds' of today, which share this database.
      ...tickMessages(total, {
        uniqueVolumes: true,
        startUs: Date.now() * 1000 - 3_600_000_000,
        firstSeq: 100_000,
      }),
    ];
    for (let i = 0; i < feed.length; i += 5_000) {
      await producer.send({
        topic: t.ticks,
        messages: feed.slice(i, i + 5_000).map((m) => ({ key: m.key, value: m.value })),
      });
    }
    const count = () =>
      countRows(
        client,
        `select count(*) n from data_capture.market_ticks where symbol <> 'EXACT' and volume > 0 and tick_time < now() - interval '50 minutes'`,
      );
    const before = await count();
    const env = { ...workerEnv(t, group), FLUSH_ROWS: '1000' };
    const atKill: number[] = [];
    for (let round = 0; round < 2; round++) {
      const w = startWorker(env);
      await w.started;
      // Polled often: the kill must land while the drain is on, not after it ended.
      const target = before + (round + 1) * 3_000;
      const deadline = Date.now() + 60_000;
      while ((await count()) <= target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      w.child.kill('SIGKILL');
      await w.exited;
      atKill.push((await count()) - before);
    }
    // Each kill landed mid-drain: after it, rows were past its target and short of the whole feed.
    expect(atKill[0]).toBeGreaterThan(3_000);
    expect(atKill[1]).toBeGreaterThan(6_000);
    for (const n of atKill) expect(n).toBeLessThan(total);
    const last = startWorker(env);
    await last.started;
    await waitFor('all rows', async () => (await count()) >= before + total, 90_000);
    await new Promise((r) => setTimeout(r, 1_500));
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    expect((await count()) - before).toBe(total);
    const dupes = await countRows(
      client,
      `select count(*) n from (select volume from data_capture.market_ticks where tick_time < now() - interval '50 minutes' group by volume having count(*) > 1) d`,
    );
    expect(dupes).toBe(0);
    // Each tick merged into the bars exactly once, across the kills.
    await expectBarsEqualTicks();
  });

  it('two replicas with the shipped defaults (FLUSH_ROWS, MAX_PENDING_FLUSHES, ...) split the partitions and write each row once', async () => {
    const t = await topics('pair');
    const group = `g.${t.ticks}`;
    // The trade numbers go with the ticks: this feed numbers its trades from 1 again.
    await client.query(
      'truncate data_capture.market_ticks, data_capture.ohlcv_bars, data_capture.trade_sequences, data_capture.feed_gaps',
    );
    // Enough for full default-sized batches (FLUSH_ROWS 20,000) and the one-pending-flush backpressure.
    const total = 120_000;
    const feed = [...tickMessages(total, { uniqueVolumes: true, seed: 7 })];
    const a = startWorker(workerEnv(t, group, 'shipped'));
    const b = startWorker(workerEnv(t, group, 'shipped'));
    await Promise.all([a.started, b.started]);
    for (let i = 0; i < feed.length; i += 5_000) {
      await producer.send({
        topic: t.ticks,
        messages: feed.slice(i, i + 5_000).map((m) => ({ key: m.key, value: m.value })),
      });
    }
    const count = () => countRows(client, 'select count(*) n from data_capture.market_ticks');
    await waitFor('all rows', async () => (await count()) >= total, 90_000);
    await new Promise((r) => setTimeout(r, 1_500));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(await count()).toBe(total);
    expect(await countRows(client, 'select count(distinct volume) n from data_capture.market_ticks')).toBe(
      total,
    );
    const owners = await countRows(
      client,
      `select count(distinct owner) n from data_capture.ingest_offsets where group_id = '${group}' and topic = '${t.ticks}'`,
    );
    expect(owners).toBe(2);
    await expectBarsEqualTicks();
  });

  it('rows the database rejects inside a COPY batch are isolated and dead-lettered; the rest lands', async () => {
    const t = await topics('poison');
    const group = `g.${t.ticks}`;
    // The trade numbers go with the ticks: this feed numbers its trades from 1 again.
    await client.query(
      'truncate data_capture.market_ticks, data_capture.ohlcv_bars, data_capture.trade_sequences, data_capture.feed_gaps',
    );
    await client.query(
      'alter table data_capture.market_ticks add constraint poison_volume check (volume <> 777)',
    );
    try {
      const feed = [...tickMessages(3_000, { uniqueVolumes: true, seed: 11 })];
      const poisoned = new Set([5, 776, 1_500, 2_999]);
      const messages = feed.map((m, i) => ({
        key: m.key,
        value: poisoned.has(i) ? m.value.replace(/"volume":\d+/, '"volume":777') : m.value,
      }));
      await producer.send({ topic: t.ticks, messages });
      const w = startWorker({ ...workerEnv(t, group), FLUSH_ROWS: '1000' });
      await w.started;
      const dead = await dlqMessages(kafka, t.dlq, poisoned.size);
      await waitFor(
        'the other rows',
        async () =>
          (await countRows(client, 'select count(*) n from data_capture.market_ticks')) >=
          3_000 - poisoned.size,
      );
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      expect(await countRows(client, 'select count(*) n from data_capture.market_ticks')).toBe(
        3_000 - poisoned.size,
      );
      expect(
        await countRows(client, 'select count(*) n from data_capture.market_ticks where volume = 777'),
      ).toBe(0);
      expect(dead.map((d) => d.headers['x-error-code'])).toEqual(Array(poisoned.size).fill('db_23514'));
      expect(dead.map((d) => d.value).sort()).toEqual([...poisoned].map((i) => messages[i]?.value).sort());
      // The bars hold the committed ticks only: every timeframe equals a recomputation from them.
      await expectBarsEqualTicks();
    } finally {
      await client.query('alter table data_capture.market_ticks drop constraint poison_volume');
    }
  });
});
