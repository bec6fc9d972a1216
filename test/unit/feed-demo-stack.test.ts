import { describe, expect, it } from 'vitest';
import { chooseStack, parseEnvFile } from '../../src/demo/stack.js';

describe('chooseStack', () => {
  it.each([
    [{ DATABASE_URL: 'postgres://h/db', KAFKA_BROKERS: 'h:1' }, true, 'environment'],
    [{ DATABASE_URL: 'postgres://h/db', KAFKA_BROKERS: 'h:1' }, false, 'environment'],
    [{ DATABASE_URL: 'postgres://h/db' }, true, 'compose'],
    [{ KAFKA_BROKERS: 'h:1' }, false, 'native'],
    [{}, true, 'compose'],
    [{}, false, 'native'],
    [{ DATABASE_URL: '', KAFKA_BROKERS: '' }, false, 'native'],
  ])('%j with compose answering %s: %s', (env, compose, want) => {
    expect(chooseStack(env, () => compose)).toBe(want);
  });

  it('does not ask for containers when the endpoints are given', () => {
    let asked = false;
    chooseStack({ DATABASE_URL: 'x', KAFKA_BROKERS: 'y' }, () => {
      asked = true;
      return true;
    });
    expect(asked).toBe(false);
  });
});

describe('parseEnvFile', () => {
  it('reads the .stack/env lines and ignores the rest', () => {
    const text =
      'DATABASE_URL=postgres://postgres@127.0.0.1:55432/tick_ingest\n# comment\n\n  PGPORT=55432  \nbad line\n';
    expect(parseEnvFile(text)).toEqual({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:55432/tick_ingest',
      PGPORT: '55432',
    });
  });
});
