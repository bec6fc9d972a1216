import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localScrapeConfig, shortRules } from '../../src/demo/prometheus.js';

const read = (path: string) => readFileSync(resolve(import.meta.dirname, '../..', path), 'utf8');
const config = read('deploy/prometheus/prometheus.yml');
const rules = read('deploy/prometheus/alerts.yml');

describe('localScrapeConfig', () => {
  const local = localScrapeConfig(config, {
    targets: ['127.0.0.1:9464', '127.0.0.1:9465'],
    self: '127.0.0.1:9091',
  });

  it.each([
    [
      'static targets instead of DNS discovery',
      "static_configs:\n      - targets: ['127.0.0.1:9464', '127.0.0.1:9465']\n    metrics_path: /metrics",
    ],
    ["Prometheus's own address", "targets: ['127.0.0.1:9091']"],
    ['the job name', 'job_name: tick-ingest'],
    ['the rule file', 'rule_files:\n  - alerts.yml'],
    ['the intervals of the file', 'scrape_interval: 5s'],
  ])('keeps or sets %s', (_, text) => {
    expect(local).toContain(text);
  });

  it('leaves no DNS discovery behind', () => {
    expect(local).not.toMatch(/dns_sd_configs|names: \[worker\]|refresh_interval/);
  });

  it('sets every interval when asked', () => {
    const fast = localScrapeConfig(config, { targets: ['h:1'], self: 'h:2', intervalSeconds: 1 });
    expect(fast.match(/(scrape_interval|scrape_timeout|evaluation_interval): 1s/g)).toHaveLength(3);
  });

  it('fails on a file whose shape changed, rather than scraping nothing', () => {
    expect(() =>
      localScrapeConfig(config.replace('dns_sd_configs', 'file_sd_configs'), { targets: [], self: 'h:2' }),
    ).toThrow(/dns_sd_configs/);
  });
});

describe('shortRules', () => {
  it.each([
    ['for: 1m', 'for: 15s'],
    ['for: 10m', 'for: 15s'],
    ['rate(tick_ingest_rows_written_total[5m])', 'rate(tick_ingest_rows_written_total[15s])'],
    ['deriv(tick_ingest_consumer_lag[10m])', 'deriv(tick_ingest_consumer_lag[15s])'],
  ])('%s becomes %s', (before, after) => {
    expect(rules).toContain(before);
    expect(shortRules(rules, 15)).toContain(after);
  });

  it('leaves no minute-long duration', () => {
    expect(shortRules(rules, 15)).not.toMatch(/for: \d+m|\[\d+m\]/);
  });

  it('fails on rules without durations', () => {
    expect(() => shortRules('groups: []\n', 15)).toThrow(/`for:`/);
  });
});
