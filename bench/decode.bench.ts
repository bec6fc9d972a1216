/**
 * Micro benchmark of the pure decode + COPY-format path on one core, in messages per second of CPU
 * time and CPU µs per message; the decodeBatch cases compare the fast path with the general path
 * it falls back to.
 * Run: npx tsc -p tsconfig.json --outDir /tmp/tick-bench && node /tmp/tick-bench/bench/decode.bench.js
 */

import { bookLine, callbackLine, tickLine } from '../src/transform/copy-format.js';
import { type BatchContext, decodeBatch, decodeBatchGeneral } from '../src/transform/decode-batch.js';
import { type DecodeContext, decodeBook, decodeCallback, decodeTick } from '../src/transform/index.js';

const ctx: DecodeContext = {
  timeZone: 'America/Sao_Paulo',
  recordTimeUs: Date.parse('2026-11-24T14:00:00Z') * 1000,
  pastWindowUs: 31 * 86_400_000_000,
  futureWindowUs: 300_000_000,
};

/** Distinct buffers per message, as Kafka hands them over; times advance so no cache is unrealistically hot. */
function messages(make: (k: number) => string, n = 10_000): Buffer[] {
  return Array.from({ length: n }, (_, k) => Buffer.from(make(k)));
}
const frac = (k: number) => String(k % 1_000_000).padStart(6, '0');
const sec = (k: number) => String(Math.floor(k / 500) % 60).padStart(2, '0');

const batchCtx: BatchContext = {
  timeZone: ctx.timeZone,
  pastWindowUs: ctx.pastWindowUs,
  futureWindowUs: ctx.futureWindowUs,
};
const BATCH = 500;
/** Messages in batches of BATCH, each with its Kafka timestamp, as the decode thread gets them. */
function batches(buffers: Buffer[]): { values: Buffer[]; timestampsMs: number[] }[] {
  const out = [];
  for (let at = 0; at < buffers.length; at += BATCH) {
    const values = buffers.slice(at, at + BATCH);
    out.push({ values, timestampsMs: values.map(() => ctx.recordTimeUs / 1000) });
  }
  return out;
}

const ticks = messages(
  (k) =>
    `{"symbol":"PETR4","exchange":"B3","price":"30.${k % 100}","volume":${100 + k},"aggressor":"BUY","tickTime":"2026-11-24T10:00:${sec(k)}.${frac(k * 37)}-03:00","tradeId":${123456 + k}}`,
);
const books = messages((k) => {
  const side = (start: number, step: number) =>
    Array.from(
      { length: 10 },
      (_, i) => `{"price":"${(start + step * i).toFixed(2)}","volume":${100 * (i + 1)}}`,
    ).join(',');
  return `{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:${sec(k)}.${frac(k)}Z","bids":[${side(30.12, -0.01)}],"asks":[${side(30.13, 0.01)}]}`;
}, 2_000);
const tickBatches = batches(ticks);
const bookBatches = batches(books);

/** [name, items, messages per item, work on one item] */
const cases: [string, unknown[], number, (item: never) => void][] = [
  ['tick (ISO time, string price)', ticks, 1, (b: Buffer) => decodeTick(b, ctx)],
  [
    'tick + tickLine',
    ticks,
    1,
    (b: Buffer) => {
      const d = decodeTick(b, ctx);
      if (d.ok) for (const t of d.ticks) tickLine(t);
    },
  ],
  [
    'tick (ProfitDLL local time)',
    messages(
      (k) =>
        `{"symbol":"WINZ26","price":125430.5,"volume":2,"aggressor":"sell","tickTime":"24/11/2026 10:00:${sec(k)}.${frac(k).slice(3)}"}`,
    ),
    1,
    (b: Buffer) => decodeTick(b, ctx),
  ],
  [
    'tick (lossless path: 18 digits)',
    messages(
      (k) =>
        `{"symbol":"PETR4","price":1234567890.1234${String(k % 10000).padStart(4, '0')},"volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00.123456Z"}`,
    ),
    1,
    (b: Buffer) => decodeTick(b, ctx),
  ],
  [
    'book 10×10 + bookLine',
    books,
    1,
    (b: Buffer) => {
      const d = decodeBook(b, ctx);
      if (d.ok) for (const r of d.books) bookLine(r);
    },
  ],
  [
    'TRADE callback + lines',
    messages(
      (k) =>
        `{"type":"TRADE","callbackTime":"24/11/2026 10:00:${sec(k)}.${frac(k).slice(3)}","payload":{"symbol":"PETR4","price":30.12,"volume":100,"aggressor":"BUY","tradeId":${k}}}`,
    ),
    1,
    (b: Buffer) => {
      const d = decodeCallback(b, ctx);
      if (d.ok) {
        for (const c of d.callbacks) callbackLine(c);
        for (const t of d.ticks) tickLine(t);
      }
    },
  ],
  ...(['general', 'fast'] as const).flatMap((path) => {
    const decode = path === 'fast' ? decodeBatch : decodeBatchGeneral;
    type Batch = { values: Buffer[]; timestampsMs: number[] };
    return [
      [
        `decodeBatch ticks, ${path} path`,
        tickBatches,
        BATCH,
        (b: Batch) => decode('ticks', b.values, b.timestampsMs, batchCtx),
      ],
      [
        `decodeBatch books, ${path} path`,
        bookBatches,
        BATCH,
        (b: Batch) => decode('book', b.values, b.timestampsMs, batchCtx),
      ],
    ] as [string, unknown[], number, (item: never) => void][];
  }),
  // The decode thread's answer crosses to the main thread by structured clone (both sides counted here).
  [
    'decodeBatch ticks answer: structuredClone',
    tickBatches.map((b) => decodeBatch('ticks', b.values, b.timestampsMs, batchCtx)),
    BATCH,
    (d: unknown) => structuredClone(d),
  ],
];

/** Messages per second of this thread's CPU time (less noisy than wall time on a shared machine). */
function measure(items: unknown[], weight: number, fn: (item: never) => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - start < ms) {
    for (const item of items) fn(item as never);
    n += items.length * weight;
  }
  const used = process.cpuUsage(cpu);
  return (n / (used.user + used.system)) * 1e6;
}

for (const [name, items, weight] of cases) {
  if (weight !== 1) continue;
  for (const b of (items as Buffer[]).slice(0, 3)) {
    const probe = name.startsWith('book')
      ? decodeBook(b, ctx)
      : name.startsWith('TRADE')
        ? decodeCallback(b, ctx)
        : decodeTick(b, ctx);
    if (!probe.ok) throw new Error(`${name}: sample message does not decode: ${probe.error.message}`);
  }
}
// Reference point for a busy machine: the floor any JSON decoder pays.
cases.push(['(reference: toString + JSON.parse)', ticks, 1, (b: Buffer) => JSON.parse(b.toString('utf8'))]);
const probes = [
  ...tickBatches.map((b) => ['ticks', b] as const),
  ...bookBatches.map((b) => ['book', b] as const),
];
for (const [kind, b] of probes) {
  const d = decodeBatch(kind, b.values, b.timestampsMs, batchCtx);
  if (
    d.invalid.length > 0 ||
    JSON.stringify(d) !== JSON.stringify(decodeBatchGeneral(kind, b.values, b.timestampsMs, batchCtx))
  )
    throw new Error(`decodeBatch ${kind}: the fast path does not answer as the general path`);
}

// Best of several interleaved rounds: on a shared machine the slowest rounds measure the neighbours.
const best = new Map<string, number>();
for (let round = 0; round < 6; round++) {
  for (const [name, items, weight, fn] of cases) {
    const rate = measure(items, weight, fn, round === 0 ? 300 : 700); // round 0 warms up
    if (round > 0) best.set(name, Math.max(best.get(name) ?? 0, rate));
  }
}
for (const [name, rate] of best)
  console.log(
    `${name.padEnd(42)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} msgs/CPU-s ${(1e6 / rate).toFixed(2).padStart(7)} CPU µs/msg`,
  );
