import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/schema/index.js';
import {
  BOOK_COLUMNS,
  bookLine,
  CALLBACK_COLUMNS,
  callbackLine,
  TICK_COLUMNS,
  tickLine,
} from '../../src/transform/copy-format.js';
import {
  type BookRow,
  type CallbackRow,
  type DecodeContext,
  type Decoded,
  decodeBook,
  decodeCallback,
  decodeTick,
  type TickRow,
} from '../../src/transform/index.js';
import { type FreshDatabase, freshDatabase } from '../support/fresh.js';

const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: Date.parse('2026-11-24T14:00:00Z') * 1000,
  pastWindowUs: 31 * 86_400_000_000,
  futureWindowUs: 300_000_000,
};

/** Strings that break naive COPY text: delimiters, escapes, the null marker, the end marker, quotes, unicode. */
const TRICKY = [
  'tab\there',
  'new\nline',
  'cr\rlf\r\n',
  'back\\slash\\',
  '\\N',
  '\\.',
  'ends with backslash\\',
  `quotes "double" and 'single'`,
  'ação ñ 中文 Ω',
  'emoji 😀👍🏽',
  '\b\f\v bell\u0007 del\u007f',
  'json-ish {"a":[1]}',
  'line sep \u2028 para \u2029',
];

function ok(d: Decoded): Extract<Decoded, { ok: true }> {
  if (!d.ok) throw new Error(`decode failed: ${JSON.stringify(d.error)}`);
  return d;
}

describe('COPY text lines round-trip through PostgreSQL', () => {
  let db: FreshDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase('copyfmt');
    client = new pg.Client({ connectionString: db.url });
    // The real tables (the schema's own files), so the lines are checked against the real column types.
    await migrate(db.url);
    await client.connect();
    await client.query(`set search_path = data_capture; set timezone = 'UTC'`);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const copy = (table: string, columns: readonly string[], lines: string[]) =>
    pipeline(
      Readable.from(lines),
      client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`)),
    );

  it('market_ticks: tricky strings, exact decimals and µs timestamps', async () => {
    const ticks: TickRow[] = [];
    TRICKY.forEach((s, k) => {
      const message = {
        symbol: s,
        exchange: `X${k}`,
        price: k % 2 ? '1234567890.12345678' : 0.00000001,
        volume: k % 3 ? 100 : '0.5',
        aggressor: 'neutral',
        tickTime: `2026-11-24T10:00:00.${String(123456 + k).padStart(6, '0')}789-03:00`,
        source: s,
        tradeId: k,
      };
      ticks.push(...ok(decodeTick(Buffer.from(JSON.stringify(message)), ctx)).ticks);
    });
    // ProfitDLL local time and a .120000 fraction.
    ticks.push(
      ...ok(
        decodeTick(
          Buffer.from(
            '{"symbol":"PETR4","price":30.12,"volume":"1e2","aggressor":"BUY","tickTime":"24/11/2026 10:00:00.120"}',
          ),
          ctx,
        ),
      ).ticks,
    );
    await copy('market_ticks', TICK_COLUMNS, ticks.map(tickLine));

    const { rows } = await client.query(`
      select symbol, exchange, trim_scale(price)::text as price, trim_scale(volume)::text as volume, aggressor,
             (extract(epoch from tick_time) * 1000000)::bigint::text as us, tick_time::text as t, source
      from market_ticks order by id`);
    expect(rows).toEqual(
      ticks.map((r) => ({
        symbol: r.symbol,
        exchange: r.exchange,
        price: r.price,
        volume: r.volume,
        aggressor: r.aggressor,
        us: String(r.tickTimeUs),
        t: expect.any(String),
        source: r.source,
      })),
    );
    expect(rows[0]).toMatchObject({ price: '0.00000001', volume: '0.5', t: '2026-11-24 13:00:00.123456+00' });
    expect(rows[1]).toMatchObject({ price: '1234567890.12345678', t: '2026-11-24 13:00:00.123457+00' });
    expect(rows.at(-1)).toMatchObject({ price: '30.12', volume: '100', t: '2026-11-24 13:00:00.12+00' });
    expect(rows.slice(0, -1).map((r) => r.symbol)).toEqual(TRICKY);
  });

  it('order_book_snapshots: jsonb sides keep exact decimals; computed aggregates land', async () => {
    const books: BookRow[] = TRICKY.map(
      (s, k) =>
        ok(
          decodeBook(
            Buffer.from(
              `{"symbol":${JSON.stringify(s)},"exchange":"B3","snapshotTime":"2026-11-24T13:00:0${k % 10}.000001Z",` +
                `"bids":[{"price":1234567890.12345678,"volume":"100"},{"price":"30.5","volume":0.25}],` +
                `"asks":[{"price":"1234567890.12345679","volume":1e-8}]}`,
            ),
            ctx,
          ),
        ).books[0] as BookRow,
    );
    await copy('order_book_snapshots', BOOK_COLUMNS, books.map(bookLine));

    const { rows } = await client.query(`
      select symbol, bids->0->>'price' as top_bid, asks->0->>'volume' as top_ask_volume,
             jsonb_array_length(bids) as levels, trim_scale(best_bid)::text as best_bid,
             trim_scale(spread)::text as spread, trim_scale(total_bid_volume)::text as total_bid,
             (extract(epoch from snapshot_time) * 1000000)::bigint::text as us
      from order_book_snapshots order by id`);
    expect(rows).toEqual(
      books.map((b) => ({
        symbol: b.symbol,
        top_bid: '1234567890.12345678',
        top_ask_volume: '0.00000001',
        levels: 2,
        best_bid: '1234567890.12345678',
        spread: '0.00000001',
        total_bid: '100.25',
        us: String(b.snapshotTimeUs),
      })),
    );
  });

  it('profitdll_callbacks: payload jsonb as received, error messages and nulls', async () => {
    const callbacks: CallbackRow[] = [];
    for (const s of TRICKY) {
      const payload = `{"symbol":"PETR4","note":${JSON.stringify(s)},"price":1234567890.12345678,"volume":1,"aggressor":${JSON.stringify(s)}}`;
      const state = `{"type":"STATE","callbackTime":"24/11/2026 10:00:00.250","payload":{"note":${JSON.stringify(s)}}}`;
      const trade = `{"type":"TRADE","callbackTime":"24/11/2026 10:00:00.251","payload":${payload}}`;
      callbacks.push(...ok(decodeCallback(Buffer.from(state), ctx)).callbacks);
      callbacks.push(...ok(decodeCallback(Buffer.from(trade), ctx)).callbacks); // FAILED: aggressor
    }
    const processed = ok(
      decodeCallback(
        Buffer.from(
          '{"type":"TRADE","callbackTime":"24/11/2026 10:00:00.252","payload":{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY"}}',
        ),
        ctx,
      ),
    ).callbacks;
    callbacks.push(...processed);
    expect(callbacks.map((c) => c.status).slice(0, 2)).toEqual(['SKIPPED', 'FAILED']);
    expect(processed[0]?.errorMessage).toBeNull();
    await copy('profitdll_callbacks', CALLBACK_COLUMNS, callbacks.map(callbackLine));

    const { rows } = await client.query(`
      select callback_type, payload::text as payload, payload->>'note' as note, payload->>'price' as price,
             (extract(epoch from callback_time) * 1000000)::bigint::text as us, status, error_message
      from profitdll_callbacks order by id`);
    expect(rows).toHaveLength(callbacks.length);
    for (const [k, c] of callbacks.entries()) {
      const row = rows[k];
      const same = await client.query('select $1::jsonb = $2::jsonb as same', [row.payload, c.payload]);
      expect(same.rows[0].same).toBe(true);
      expect(row).toMatchObject({
        callback_type: c.callbackType,
        us: String(c.callbackTimeUs),
        status: c.status,
        error_message: c.errorMessage,
      });
    }
    expect(rows.filter((r) => r.callback_type === 'STATE').map((r) => r.note)).toEqual(TRICKY);
    expect(rows.filter((r) => r.status === 'FAILED').map((r) => r.price)).toEqual(
      TRICKY.map(() => '1234567890.12345678'),
    );
    expect(rows.at(-1)).toMatchObject({ status: 'PROCESSED', error_message: null });
    expect(rows[1].error_message).toContain('aggressor must be BUY, SELL or NEUTRAL, got "tab\\there"');
  });

  it('every row the decoders accept from near-miss messages is accepted by PostgreSQL', async () => {
    // Each message is a seed with one byte replaced: whatever still decodes must COPY without error.
    const seeds: [string, (b: Buffer, c: DecodeContext) => Decoded][] = [
      [
        '{"symbol":"PE\\tR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00.123456-03:00"}',
        decodeTick,
      ],
      [
        '{"symbol":"PETR4","snapshotTime":"24/11/2026 10:00:00.123","bids":[{"price":30.12,"volume":100}],"asks":[{"price":"30.13","volume":5}]}',
        decodeBook,
      ],
      [
        '{"type":"TRADE","callbackTime":"24/11/2026 10:00:00.250","payload":{"symbol":"PETR4","price":30.12,"volume":1,"aggressor":"SELL","x":"\\u00e9\\n"}}',
        decodeCallback,
      ],
    ];
    const bytes = Buffer.from('{}[]":,.-+eE019\\u/ TZ\xff');
    const lines = { ticks: [] as string[], books: [] as string[], callbacks: [] as string[] };
    for (const [seed, decode] of seeds) {
      const original = Buffer.from(seed);
      for (let at = 0; at < original.length; at++) {
        for (const byte of bytes) {
          const value = Buffer.from(original);
          value[at] = byte;
          const d = decode(value, ctx);
          if (!d.ok) continue;
          lines.ticks.push(...d.ticks.map(tickLine));
          lines.books.push(...d.books.map(bookLine));
          lines.callbacks.push(...d.callbacks.map(callbackLine));
        }
      }
    }
    const before = await client.query(
      'select (select count(*) from market_ticks)::int as t, (select count(*) from order_book_snapshots)::int as b, (select count(*) from profitdll_callbacks)::int as c',
    );
    await copy('market_ticks', TICK_COLUMNS, lines.ticks);
    await copy('order_book_snapshots', BOOK_COLUMNS, lines.books);
    await copy('profitdll_callbacks', CALLBACK_COLUMNS, lines.callbacks);
    const after = await client.query(
      'select (select count(*) from market_ticks)::int as t, (select count(*) from order_book_snapshots)::int as b, (select count(*) from profitdll_callbacks)::int as c',
    );
    expect(lines.ticks.length).toBeGreaterThan(50);
    expect(lines.books.length).toBeGreaterThan(50);
    expect(lines.callbacks.length).toBeGreaterThan(50);
    expect(after.rows[0]).toEqual({
      t: before.rows[0].t + lines.ticks.length,
      b: before.rows[0].b + lines.books.length,
      c: before.rows[0].c + lines.callbacks.length,
    });
  });
});
