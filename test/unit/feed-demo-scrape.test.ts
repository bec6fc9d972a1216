import { describe, expect, it } from 'vitest';
import { parseExposition, rowRates, sumBy, workerFigures } from '../../src/demo/scrape.js';
import { createMetrics } from '../../src/observability/metrics.js';

describe('parseExposition', () => {
  it.each([
    ['# HELP x a counter\n# TYPE x counter\nx 3', [{ name: 'x', labels: {}, value: 3 }]],
    ['a{t="m"} 1.5e3', [{ name: 'a', labels: { t: 'm' }, value: 1500 }]],
    ['a{t="x,y",u="q\\"uote"} 2 1700000000000', [{ name: 'a', labels: { t: 'x,y', u: 'q"uote' }, value: 2 }]],
    ['b_bucket{le="+Inf"} 7', [{ name: 'b_bucket', labels: { le: '+Inf' }, value: 7 }]],
    ['c NaN', [{ name: 'c', labels: {}, value: Number.NaN }]],
    ['', []],
  ])('%j', (text, want) => {
    expect(parseExposition(text)).toEqual(want);
  });
});

describe('workerFigures from the worker’s real registry', () => {
  it('reads rows per table, lag, dead letters, bars, buffer, memory, duplicates and holes', async () => {
    const m = createMetrics();
    m.rowsWritten.inc({ table: 'market_ticks' }, 1000);
    m.rowsWritten.inc({ table: 'order_book_snapshots' }, 200);
    m.messagesConsumed.inc({ topic: 'market.ticks' }, 1300);
    m.consumerLag.set({ topic: 'market.ticks', partition: '0' }, 40);
    m.consumerLag.set({ topic: 'market.ticks', partition: '1' }, 2);
    m.deadLettered.inc({ topic: 'market.ticks', reason: 'not_json' }, 3);
    m.deadLettered.inc({ topic: 'market.book', reason: 'invalid_book' }, 4);
    m.barsUpserted.inc({ timeframe: '1m' }, 12);
    m.bufferRows.set(77);
    m.duplicateTrades.inc(5);
    m.feedGapsOpen.set(3);
    const f = workerFigures(parseExposition(await m.registry.metrics()));
    expect(f).toMatchObject({
      rowsByTable: { market_ticks: 1000, order_book_snapshots: 200 },
      consumed: 1300,
      lag: 42,
      deadLettered: 7,
      barsUpserted: 12,
      bufferRows: 77,
      duplicateTrades: 5,
      feedGapsOpen: 3,
    });
    expect(f.residentBytes).toBeGreaterThan(0);
  });
});

describe('sumBy and rowRates', () => {
  const samples = parseExposition('r{table="a"} 10\nr{table="b"} 5\nr{table="a",i="2"} 1\nother 9');
  it('sums per label and in total', () => {
    expect(sumBy(samples, 'r', 'table')).toEqual({ a: 11, b: 5 });
    expect(sumBy(samples, 'r')).toEqual({ '': 16 });
  });
  it.each([
    [{ a: 10 }, { a: 30, b: 4 }, 2, { a: 10, b: 2 }],
    [{ a: 10 }, { a: 10 }, 1, { a: 0 }],
    [{}, { a: 5 }, 0, { a: 0 }],
  ])('%j then %j over %d s', (before, after, seconds, want) => {
    const fig = (rowsByTable: Record<string, number>) => ({
      rowsByTable,
      consumed: 0,
      lag: 0,
      deadLettered: 0,
      barsUpserted: 0,
      bufferRows: 0,
      duplicateTrades: 0,
      feedGapsOpen: 0,
      residentBytes: 0,
    });
    expect(rowRates(fig(before), fig(after), seconds)).toEqual(want);
  });
});
