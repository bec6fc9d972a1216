/**
 * Micro benchmark of the trade-number planning of a flush (src/trades/plan.ts): CPU ns per tick of
 * groupTrades and of planTrades (one core). Run: npx tsx bench/trades-plan.bench.ts
 */
import { TickColumnsBuilder } from '../src/tick-columns.js';
import { groupKey, groupTrades, planTrades, type StoredTrades } from '../src/trades/plan.js';

const ZONE = 'America/Sao_Paulo';
const DAY = '2026-11-24';

/**
 * A flush of `n` numbered ticks over `symbols` symbols interleaved, each symbol's trade numbers
 * continuing from `start`, and what is stored before it: nothing, the range just below (live),
 * or the whole range (a replay: every tick a duplicate).
 */
function flush(n: number, symbols: number, stored: 'none' | 'below' | 'all') {
  const ticks = new TickColumnsBuilder();
  const t0 = Date.parse(`${DAY}T13:00:00Z`) * 1000;
  const start = 1_000_000;
  for (let k = 0; k < n; k++) {
    // The trade number copied from bytes as a decoder makes it: String(n) would carry V8's cached
    // array index, which makes parsing it unrealistically cheap.
    const tradeId = Buffer.from(String(start + Math.floor(k / symbols))).toString('latin1');
    ticks.add(`SYM${k % symbols}`, 'B3', '30.12', '100', t0 + k * 3_000, tradeId);
  }
  const state = new Map<string, StoredTrades>();
  const perSymbol = Math.ceil(n / symbols);
  for (let s = 0; s < symbols && stored !== 'none'; s++)
    state.set(groupKey(`SYM${s}`, DAY), {
      first: 1n,
      last: BigInt(stored === 'all' ? start + perSymbol : start - 1),
      holes: [],
    });
  return { ticks: ticks.build(), state };
}

for (const [name, symbols, stored] of [
  ['1 symbol, nothing stored', 1, 'none'],
  ['50 symbols interleaved, live (continuing the stored range)', 50, 'below'],
  ['50 symbols interleaved, a replay (all duplicates)', 50, 'all'],
] as const) {
  const n = 5000;
  const { ticks, state } = flush(n, symbols, stored);
  for (let i = 0; i < 200; i++) planTrades(n, groupTrades(ticks, ZONE), state);
  const rounds = 400;
  let start = process.cpuUsage();
  for (let i = 0; i < rounds; i++) groupTrades(ticks, ZONE);
  let cpu = process.cpuUsage(start);
  const group = ((cpu.user + cpu.system) * 1000) / (rounds * n);
  const groups = groupTrades(ticks, ZONE);
  start = process.cpuUsage();
  for (let i = 0; i < rounds; i++) planTrades(n, groups, state);
  cpu = process.cpuUsage(start);
  const plan = ((cpu.user + cpu.system) * 1000) / (rounds * n);
  console.log(`${name}: groupTrades ${group.toFixed(0)}, planTrades ${plan.toFixed(0)} CPU ns/tick`);
}
