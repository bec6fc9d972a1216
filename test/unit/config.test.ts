import { describe, expect, it } from 'vitest';
import { ConfigError, describeEnvironment, loadConfig, redactUrl, secretsOf } from '../../src/config.js';

const base = { DATABASE_URL: 'postgres://u:secret@db:5432/x', KAFKA_BROKERS: 'k1:9092,k2:9092' };
const sasl = { KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'sasl-secret' };

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
    ...(['plain', 'scram-sha-256', 'scram-sha-512'] as const).map((mechanism) => ({
      env: { ...base, ...sasl, KAFKA_SASL_MECHANISM: mechanism },
      variable: 'KAFKA_SSL',
      why: /must be true when KAFKA_SASL_MECHANISM is set.*KAFKA_ALLOW_PLAINTEXT_SASL=true/,
    })),
    {
      env: { ...base, ...sasl, KAFKA_SASL_MECHANISM: 'plain', KAFKA_ALLOW_PLAINTEXT_SASL: 'yes' },
      variable: 'KAFKA_ALLOW_PLAINTEXT_SASL',
      why: /yes/,
    },
    { env: { ...base, PGSSLMODE: 'prefer' }, variable: 'PGSSLMODE', why: /prefer/ },
    {
      env: { ...base, DATABASE_URL: 'postgres://u@db/x?sslmode=allow' },
      variable: 'DATABASE_URL',
      why: /sslmode must be one of disable, require, verify-ca, verify-full \(got "allow"\)/,
    },
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
  });

  it.each([
    ['postgres://u:secret@db:5432/x', 'postgres://u:***@db:5432/x'],
    ['postgres://u@db:5432/x?password=secret', 'postgres://u@db:5432/x?password=***'],
    [
      'postgres://u:a%40b@db/x?sslmode=require&PASSWORD=s%26t&application_name=a',
      'postgres://u:***@db/x?sslmode=require&PASSWORD=***&application_name=a',
    ],
    ['postgres://u@db/x?sslmode=verify-full', 'postgres://u@db/x?sslmode=verify-full'],
  ])('redactUrl(%s) = %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it('SASL without TLS passes when KAFKA_SSL=true or KAFKA_ALLOW_PLAINTEXT_SASL=true says so', () => {
    const tls = loadConfig({ ...base, ...sasl, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SSL: 'true' });
    expect([tls.KAFKA_SSL, tls.KAFKA_ALLOW_PLAINTEXT_SASL]).toEqual([true, false]);
    const plain = { ...base, ...sasl, KAFKA_SASL_MECHANISM: 'plain', KAFKA_ALLOW_PLAINTEXT_SASL: 'true' };
    expect(loadConfig(plain).KAFKA_ALLOW_PLAINTEXT_SASL).toBe(true);
    // `migrate` reads only DATABASE_URL: the Kafka rule is not its business.
    expect(loadConfig({ ...base, KAFKA_SASL_MECHANISM: 'plain' }, ['DATABASE_URL']).DATABASE_URL).toBe(
      base.DATABASE_URL,
    );
  });

  it('lists every secret the configuration holds, in every form a log could show it', () => {
    const cfg = loadConfig({
      ...base,
      ...sasl,
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'plain',
      DATABASE_URL: 'postgres://u:p%40ss@db/x?password=q%26r',
      PGPASSWORD: 'pg-env',
    });
    expect(secretsOf(cfg).sort()).toEqual(['p%40ss', 'p@ss', 'pg-env', 'q%26r', 'q&r', 'sasl-secret'].sort());
    expect(secretsOf(loadConfig({ ...base, DATABASE_URL: 'postgres://u@db/x' }))).toEqual([]);
  });

  it('METRICS_HOST is unset by default (all interfaces) and taken as given', () => {
    expect(loadConfig(base).METRICS_HOST).toBeUndefined();
    expect(loadConfig({ ...base, METRICS_HOST: '127.0.0.1' }).METRICS_HOST).toBe('127.0.0.1');
  });

  it('documents every variable for --help', () => {
    const help = describeEnvironment();
    for (const v of [
      'DATABASE_URL',
      'KAFKA_BROKERS',
      'TOPIC_DLQ',
      'FLUSH_ROWS',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_ALLOW_PLAINTEXT_SASL',
      'PGSSLMODE',
      'DATABASE_SSL_CA_FILE',
      'METRICS_HOST',
    ])
      expect(help).toContain(v);
  });
});
