import { describe, expect, it } from 'vitest';
import { ConfigError, describeEnvironment, loadConfig, redactUrl } from '../../src/config.js';

const base = { DATABASE_URL: 'postgres://u:secret@db:5432/x', KAFKA_BROKERS: 'k1:9092,k2:9092' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    expect(c.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9092']);
    expect(c.KAFKA_GROUP_ID).toBe('tick-ingest');
    expect([c.TOPIC_TICKS, c.TOPIC_BOOK, c.TOPIC_CALLBACKS, c.TOPIC_DLQ]).toEqual([
      'market.ticks',
      'market.book',
      'profitdll.callbacks',
      'ingest.dlq',
    ]);
    expect(c.METRICS_PORT).toBe(9464);
    expect(c.EXCHANGE_TIME_ZONE).toBe('America/Sao_Paulo');
    expect(c.FUTURE_WINDOW_MS).toBe(300_000);
    expect(c.KAFKA_SSL).toBe(false);
  });

  it.each([
    { env: { KAFKA_BROKERS: 'k:9092' }, variable: 'DATABASE_URL', why: /required/ },
    { env: { ...base, KAFKA_BROKERS: 'no-port' }, variable: 'KAFKA_BROKERS', why: /host:port/ },
    { env: { ...base, METRICS_PORT: 'abc' }, variable: 'METRICS_PORT', why: /abc/ },
    { env: { ...base, METRICS_PORT: '70000' }, variable: 'METRICS_PORT', why: /70000/ },
    { env: { ...base, FLUSH_ROWS: '0' }, variable: 'FLUSH_ROWS', why: /./ },
    {
      env: { ...base, EXCHANGE_TIME_ZONE: 'Mars/Olympus' },
      variable: 'EXCHANGE_TIME_ZONE',
      why: /time zone/,
    },
    { env: { ...base, LOG_LEVEL: 'loud' }, variable: 'LOG_LEVEL', why: /loud/ },
    { env: { ...base, KAFKA_SSL: 'yes' }, variable: 'KAFKA_SSL', why: /yes/ },
    { env: { ...base, KAFKA_SASL_MECHANISM: 'plain' }, variable: 'KAFKA_SASL_USERNAME', why: /required/ },
  ])('names $variable when it is wrong', ({ env, variable, why }) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toMatch(why);
  });

  it('never echoes a password in an error', () => {
    expect(() => loadConfig({ ...base, DATABASE_URL: 'not a url with secret' })).toThrow(ConfigError);
    expect(redactUrl('postgres://u:secret@db:5432/x')).toBe('postgres://u:***@db:5432/x');
  });

  it('documents every variable for --help', () => {
    const help = describeEnvironment();
    for (const v of ['DATABASE_URL', 'KAFKA_BROKERS', 'TOPIC_DLQ', 'FLUSH_ROWS', 'KAFKA_SASL_PASSWORD'])
      expect(help).toContain(v);
  });
});
