import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BatchHistogram } from '../../src/observability/batch-histogram.js';

const BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

describe('BatchHistogram shows itself as prom-client’s Histogram would', () => {
  it.each([
    ['nothing observed', []],
    ['one value on a bound', [0.05]],
    [
      'values in every bucket, past the last and negative',
      [-1, 0, 0.01, 0.011, 0.3, 1, 1.5, 7, 29.999, 60, 61, 1e9],
    ],
    ['many of one value', Array.from({ length: 1000 }, () => 0.2)],
  ])('%s', async (_name, values: number[]) => {
    const theirs = new Registry();
    const ours = new Registry();
    const h = new Histogram({ name: 'latency_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
    const b = new BatchHistogram('latency_seconds', 'h', BUCKETS, ours);
    for (const v of values) {
      h.observe(v);
      b.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The same samples (prom-client's also carry an empty exemplar field).
    const samples = (vs: { labels: object; value: number; metricName?: string }[]) =>
      vs.map(({ labels, value, metricName }) => ({ labels, value, metricName }));
    expect(samples((await b.get()).values)).toEqual(samples((await h.get()).values));
    // Reset (prom-client's then shows nothing until the next observation; ours shows zeros).
    ours.resetMetrics();
    expect((await b.get()).values.every((v) => v.value === 0)).toBe(true);
  });
});
