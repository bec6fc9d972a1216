/**
 * Micro benchmark of the pure decode + COPY-format path, messages per second on one core.
 * Run: npx tsc -p tsconfig.json --outDir /tmp/tick-bench && node /tmp/tick-bench/bench/decode.bench.js
 */

import { bookLine, callbackLine, tickLine } from '../src/transform/copy-format.js';
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

const cases: [string, Buffer[], (b: Buffer) => void][] = [
  [
    'tick (ISO time, string price)',
    messages(
      (k) =>
        `{"symbol":"PETR4","exchange":"B3","price":"30.${k % 100}","volume":${100 + k},"aggressor":"BUY","tickTime":"2026-11-24T10:00:${sec(k)}.${frac(k * 37)}-03:00","tradeId":${123456 + k}}`,
    ),
    (b) => decodeTick(b, ctx),
  ],
  [
    'tick + tickLine',
    messages(
      (k) =>
        `{"symbol":"PETR4","exchange":"B3","price":"30.${k % 100}","volume":${100 + k},"aggressor":"BUY","tickTime":"2026-11-24T10:00:${sec(k)}.${frac(k * 37)}-03:00","tradeId":${123456 + k}}`,
    ),
    (b) => {
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
    (b) => decodeTick(b, ctx),
  ],
  [
    'tick (lossless path: 18 digits)',
    messages(
      (k) =>
        `{"symbol":"PETR4","price":1234567890.1234${String(k % 10000).padStart(4, '0')},"volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00.123456Z"}`,
    ),
    (b) => decodeTick(b, ctx),
  ],
  [
    'book 10×10 + bookLine',
    messages((k) => {
      const side = (start: number, step: number) =>
        Array.from(
          { length: 10 },
          (_, i) => `{"price":"${(start + step * i).toFixed(2)}","volume":${100 * (i + 1)}}`,
        ).join(',');
      return `{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:${sec(k)}.${frac(k)}Z","bids":[${side(30.12, -0.01)}],"asks":[${side(30.13, 0.01)}]}`;
    }, 2_000),
    (b) => {
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
    (b) => {
      const d = decodeCallback(b, ctx);
      if (d.ok) {
        for (const c of d.callbacks) callbackLine(c);
        for (const t of d.ticks) tickLine(t);
      }
    },
  ],
];

function measure(buffers: Buffer[], fn: (b: Buffer) => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (const b of buffers) fn(b);
    n += buffers.length;
    elapsed = performance.now() - start;
  }
  return (n / elapsed) * 1000;
}

for (const [name, buffers] of cases) {
  for (const b of buffers.slice(0, 3)) {
    const probe = name.startsWith('book')
      ? decodeBook(b, ctx)
      : name.startsWith('TRADE')
        ? decodeCallback(b, ctx)
        : decodeTick(b, ctx);
    if (!probe.ok) throw new Error(`${name}: sample message does not decode: ${probe.error.message}`);
  }
}
// Reference point for a busy machine: the floor any JSON decoder pays.
const reference = cases[0]?.[1] ?? [];
cases.push(['(reference: toString + JSON.parse)', reference, (b) => JSON.parse(b.toString('utf8'))]);

// Best of several interleaved rounds: on a shared machine the slowest rounds measure the neighbours.
const best = new Map<string, number>();
for (let round = 0; round < 4; round++) {
  for (const [name, buffers, fn] of cases) {
    const rate = measure(buffers, fn, round === 0 ? 300 : 1000); // round 0 warms up
    if (round > 0) best.set(name, Math.max(best.get(name) ?? 0, rate));
  }
}
for (const [name, rate] of best)
  console.log(`${name.padEnd(36)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} msgs/s`);
