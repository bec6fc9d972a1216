import { describe, expect, it } from 'vitest';
import { connectTick } from '../../bench/peer-feed.js';
import { clockTicks, parseStat, processTicks, usPerRow } from '../../bench/proc-cpu.js';
import { tickMessages } from '../../src/feed/synthetic.js';
import { TICK_COLUMNS } from '../../src/transform/copy-format.js';

/** A /proc/<pid>/stat line with the given command name and utime/stime/cutime/cstime. */
const statLine = (comm: string, ut: number, st: number, cut: number, cst: number, ppid = 1) =>
  `4242 (${comm}) S ${ppid} 4242 4242 0 -1 4194560 2318 0 0 0 ${ut} ${st} ${cut} ${cst} 20 0 3 0 1491 ` +
  '1154850816 18013 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

describe('parseStat', () => {
  it.each([
    ['plain name', 'postgres', 120, 30, 7, 3, 50],
    ['name with spaces', 'V8 DefaultWorke', 1, 2, 0, 0, 9],
    ['name with parentheses and a space', 'x) S 1 (y', 500, 250, 10, 20, 2],
    ['name that is empty', '', 0, 0, 0, 0, 1],
  ])('%s', (_, comm, ut, st, cut, cst, ppid) => {
    expect(parseStat(statLine(comm, ut, st, cut, cst, ppid))).toEqual({
      pid: 4242,
      ppid,
      self: ut + st,
      children: cut + cst,
    });
  });

  it.each([
    ['no parentheses', '4242 postgres S 1'],
    ['cut short', '4242 (postgres) S 1 4242'],
  ])('refuses a line %s', (_, line) => {
    expect(() => parseStat(line)).toThrow(/stat/);
  });

  it('reads this process: /proc agrees with process.cpuUsage() to within a few ticks', () => {
    const hz = clockTicks();
    const ticks0 = processTicks(process.pid);
    const usage0 = process.cpuUsage();
    let x = 0;
    while (cpuMs(process.cpuUsage(usage0)) < 200) x += Math.sqrt(x + 1);
    const usedMs = cpuMs(process.cpuUsage(usage0));
    const procMs = ((processTicks(process.pid) - ticks0) * 1000) / hz;
    expect(Math.abs(procMs - usedMs)).toBeLessThan(50);
  });
});

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

describe('usPerRow', () => {
  it.each([
    [100, 1_000_000, 100, 1], // 1 s of CPU over a million rows
    [250, 50_000, 100, 50],
    [3, 7, 100, 4285.71],
    [0, 10, 100, 0],
  ])('%i ticks over %i rows at %i Hz = %f µs', (ticks, rows, hz, us) => {
    expect(usPerRow(ticks, rows, hz)).toBe(us);
  });

  it('refuses a window without rows', () => {
    expect(() => usPerRow(5, 0, 100)).toThrow(/no rows/);
  });
});

describe('connectTick', () => {
  const feed = [...tickMessages(200, { seed: 7 })];

  it('wraps each synthetic tick as schema + payload with market_ticks column names', () => {
    for (const m of feed) {
      const msg = JSON.parse(connectTick(m.value)) as {
        schema: { type: string; fields: { field: string }[] };
        payload: Record<string, unknown>;
      };
      const tick = JSON.parse(m.value) as Record<string, unknown>;
      expect(msg.schema.type).toBe('struct');
      const fields = msg.schema.fields.map((f) => f.field);
      expect(Object.keys(msg.payload)).toEqual(fields);
      for (const f of fields) expect(TICK_COLUMNS).toContain(f);
      expect(msg.payload).toEqual({
        symbol: tick.symbol,
        exchange: tick.exchange,
        price: Number(tick.price),
        volume: tick.volume,
        aggressor: tick.aggressor,
        tick_time: tick.tickTime,
        trade_id: tick.tradeId,
      });
    }
  });

  it('keeps the price digits as written (a JSON number, never a rounded double)', () => {
    for (const m of feed) {
      const price = (JSON.parse(m.value) as { price: string }).price;
      expect(connectTick(m.value)).toContain(`"price":${price},`);
    }
  });
});
