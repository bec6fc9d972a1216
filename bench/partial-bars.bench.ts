/**
 * Micro benchmark of the flush's partial 1-minute bars (src/bars/partial.ts): CPU ns per tick (one core).
 * Run: npx tsx bench/partial-bars.bench.ts
 */
import { partialBars } from '../src/bars/partial.js';
import type { TickColumns, TickIds } from '../src/records.js';
import { TickColumnsBuilder } from '../src/tick-columns.js';

/** A flush of `n` ticks: `symbols` symbols interleaved, B3-like prices and volumes, or BTC-like fractions. */
function flush(n: number, symbols: number, fractional: boolean): { ticks: TickColumns; ids: TickIds } {
  const ticks = new TickColumnsBuilder();
  const t0 = Date.parse('2026-11-24T13:00:00Z') * 1000;
  for (let k = 0; k < n; k++) {
    ticks.add(
      `SYM${k % symbols}`,
      'B3',
      fractional ? `9${k % 7}123.${(k * 7919) % 100_000_000}` : `30.${k % 100}`,
      fractional ? `0.00${(k * 104_729) % 1_000_000}` : String(100 * (1 + (k % 50))),
      t0 + k * 3_000,
      String(123_456 + k),
    );
  }
  return { ticks: ticks.build(), ids: { starts: [9_000_000_000n], ends: [n] } };
}

for (const [name, n, symbols, fractional] of [
  ['5,000 ticks, 1 symbol, integer volumes', 5000, 1, false],
  ['5,000 ticks, 50 symbols interleaved, integer volumes', 5000, 50, false],
  ['5,000 ticks, 3 symbols, 8-decimal volumes and prices', 5000, 3, true],
  ['5,000 ticks, 2,500 symbols (2 ticks a bar: the cost per bar)', 5000, 2500, false],
] as const) {
  const { ticks, ids } = flush(n, symbols, fractional);
  for (let i = 0; i < 200; i++) partialBars(ticks, ids);
  const rounds = 400;
  const start = process.cpuUsage();
  let rows = 0;
  for (let i = 0; i < rounds; i++) rows += partialBars(ticks, ids).symbols.length;
  const cpu = process.cpuUsage(start);
  const ns = ((cpu.user + cpu.system) * 1000) / (rounds * n);
  console.log(`${name}: ${ns.toFixed(0)} CPU ns/tick (${rows / rounds} partial bars per flush)`);
}
