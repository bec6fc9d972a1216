import type { Producer } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoLocal, rng, TradeNumbers, tickMessages } from '../../src/feed/synthetic.js';
import { migrate } from '../../src/schema/index.js';
import { type FreshDatabase, freshDatabase, freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';
import { startWorker, waitFor } from '../support/worker.js';

interface Msg {
  key: string;
  value: string;
}

/**
 * `tick-ingest run` on a feed with trade numbers: repeats in the same batch, in a later batch, on
 * another partition (TRADE callbacks), a replay of the topics into a fresh consumer group, holes and
 * their backfill, with kill -9 mid-stream. Every trade must be stored once, the bars must count the
 * stored ticks only, and feed_gaps must hold exactly the skipped ranges.
 */
describe('tick-ingest run with trade numbers', () => {
  let db: FreshDatabase;
  let client: pg.Client;
  let producer: Producer;

  beforeAll(async () => {
    db = await freshDatabase('tradesw');
    await migrate(db.url);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    producer = testKafka().producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await client?.end();
    await db?.drop();
  });

  const n = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const send = async (topic: string, msgs: Msg[]) => {
    for (let i = 0; i < msgs.length; i += 2_000)
      await producer.send({ topic, messages: msgs.slice(i, i + 2_000) });
  };

  it('stores each trade once through repeats, kill -9, a full replay and a backfill, and reports the holes exactly', async () => {
    const t = {
      ticks: await freshTopic('tw.ticks', 3),
      book: await freshTopic('tw.book', 1),
      callbacks: await freshTopic('tw.callbacks', 2),
      dlq: await freshTopic('tw.dlq', 1),
    };
    const env = (group: string) => ({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: stack().kafkaBrokers,
      KAFKA_GROUP_ID: group,
      TOPIC_TICKS: t.ticks,
      TOPIC_BOOK: t.book,
      TOPIC_CALLBACKS: t.callbacks,
      TOPIC_DLQ: t.dlq,
      FLUSH_ROWS: '1000',
      FLUSH_INTERVAL_MS: '100',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    });

    // 20,000 trades over 50 symbols in the last hour, some numbers skipped (known holes).
    const skip = rng(99);
    const trades = new TradeNumbers(1, () => (skip() < 0.002 ? 1 + Math.floor(skip() * 3) : 0));
    const total = 20_000;
    const feed: Msg[] = [
      ...tickMessages(total, { startUs: Date.now() * 1000 - 3_600_000_000, stepUs: 1000, trades }),
    ];
    const holes = trades.holes;
    expect(holes).toBeGreaterThan(10);
    // Repeats within a batch: every 50th trade twice in a row.
    const withRepeats = feed.flatMap((m, i) => (i % 50 === 0 ? [m, m] : [m]));
    // Another partition: 1,000 trades again as TRADE callbacks.
    const asCallbacks: Msg[] = feed.slice(5_000, 6_000).map((m) => ({
      key: m.key,
      value: JSON.stringify({
        type: 'TRADE',
        callbackTime: isoLocal(Date.now() * 1000 - 60e6),
        payload: JSON.parse(m.value),
      }),
    }));
    await send(t.ticks, withRepeats);
    await send(t.callbacks, asCallbacks);

    const ticks = () => n('select count(*) n from data_capture.market_ticks');
    const group = `g.${t.ticks}`;
    for (let round = 0; round < 2; round++) {
      const w = startWorker(env(group));
      await w.started;
      await waitFor('some rows', async () => (await ticks()) > (round + 1) * 4_000);
      w.child.kill('SIGKILL');
      await w.exited;
    }
    // A later batch: 2,000 trades sent again while the worker is down.
    await send(t.ticks, feed.slice(0, 2_000));
    const last = startWorker(env(group));
    await last.started;
    const callbacks = () => n(`select count(*) n from data_capture.profitdll_callbacks`);
    await waitFor(
      'every trade and callback',
      async () => (await ticks()) >= total && (await callbacks()) >= 1_000,
      120_000,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const check = async () => ({
      ticks: await ticks(),
      dupKeys: await n(`select count(*) n from (select symbol, trade_id from data_capture.market_ticks
                        group by 1, 2 having count(*) > 1) d`),
      barTrades: await n(`select sum(trade_count) n from data_capture.ohlcv_bars where timeframe = '1m'`),
      dayTrades: await n(`select sum(trade_count) n from data_capture.ohlcv_bars where timeframe = '1d'`),
      barVolumeOff: await n(`select count(*) n from (
          select symbol, time_bucket('1 minute', tick_time, 'America/Sao_Paulo') b, sum(volume) v, count(*) c
            from data_capture.market_ticks group by 1, 2) r
          full join (select * from data_capture.ohlcv_bars where timeframe = '1m') o on o.symbol = r.symbol and o.bar_time = r.b
         where o.volume is distinct from r.v or o.trade_count is distinct from r.c`),
      openHoles: await n('select count(*) n from data_capture.feed_gaps where filled_at is null'),
    });
    const want = {
      ticks: total,
      dupKeys: 0,
      barTrades: total,
      dayTrades: total,
      barVolumeOff: 0,
      openHoles: holes,
    };
    expect(await check()).toEqual(want);

    // A full replay of the topics into a fresh consumer group stores nothing new.
    const replayGroup = `g2.${t.ticks}`;
    const r = startWorker(env(replayGroup));
    await r.started;
    const high = async () => {
      const admin = testKafka().admin();
      await admin.connect();
      try {
        let sum = 0;
        for (const topic of [t.ticks, t.callbacks])
          for (const o of await admin.fetchTopicOffsets(topic)) sum += Number(o.high);
        return sum;
      } finally {
        await admin.disconnect();
      }
    };
    const target = await high();
    await waitFor(
      'the replay group caught up',
      async () =>
        (await n(`select coalesce(sum(next_offset), 0) n from data_capture.ingest_offsets
                   where group_id = '${replayGroup}' and topic in ('${t.ticks}', '${t.callbacks}')`)) >=
        target,
      120_000,
    );
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(await check()).toEqual(want);

    // A backfill (ProfitDLL history) of every missing number, overlapping stored trades: holes filled.
    const { rows: open } = await client.query<{ symbol: string; first: string; last: string; us: string }>(
      `select g.symbol, g.first_missing::text as first, g.last_missing::text as last,
              (select (extract(epoch from m.tick_time) * 1e6)::bigint::text from data_capture.market_ticks m
                where m.symbol = g.symbol and m.trade_id = g.first_missing - 1) as us
         from data_capture.feed_gaps g where g.filled_at is null`,
    );
    const sample = JSON.parse(feed[0]?.value as string) as Record<string, unknown>;
    const backfill: Msg[] = [];
    let missing = 0;
    for (const h of open)
      for (let k = Number(h.first) - 1; k <= Number(h.last) + 1; k++) {
        const inHole = k >= Number(h.first) && k <= Number(h.last);
        if (inHole) missing++;
        backfill.push({
          key: h.symbol,
          value: JSON.stringify({
            ...sample,
            symbol: h.symbol,
            tickTime: isoLocal(Number(h.us)),
            tradeId: k,
          }),
        });
      }
    await send(t.ticks, backfill);
    const b = startWorker(env(group));
    await b.started;
    await waitFor('the backfill', async () => (await ticks()) >= total + missing, 60_000);
    await new Promise((r2) => setTimeout(r2, 1_500));
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const after = await check();
    expect(after).toEqual({
      ...want,
      ticks: total + missing,
      barTrades: total + missing,
      dayTrades: total + missing,
      openHoles: 0,
    });
  });
});
