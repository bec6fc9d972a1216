import { describe, expect, it } from 'vitest';
import { backoffMs, classifyError, FencedError } from '../../src/errors.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('classifyError', () => {
  it.each([
    { name: 'invalid text representation (22P02)', err: pgError('22P02'), kind: 'data' },
    { name: 'numeric overflow (22003)', err: pgError('22003'), kind: 'data' },
    { name: 'check violation (23514)', err: pgError('23514'), kind: 'data' },
    { name: 'unique violation (23505)', err: pgError('23505'), kind: 'data' },
    { name: 'connection failure (08006)', err: pgError('08006'), kind: 'retriable' },
    { name: 'serialization failure (40001)', err: pgError('40001'), kind: 'retriable' },
    { name: 'admin shutdown (57P01)', err: pgError('57P01'), kind: 'retriable' },
    { name: 'socket refused', err: pgError('ECONNREFUSED'), kind: 'retriable' },
    { name: 'plain error', err: new Error('Connection terminated unexpectedly'), kind: 'retriable' },
    { name: 'fenced', err: new FencedError('t', 1), kind: 'fenced' },
  ])('$name → $kind', ({ err, kind }) => {
    expect(classifyError(err)).toBe(kind);
  });
});

describe('backoffMs', () => {
  it('grows with attempts and stays within [cap/2, cap]', () => {
    for (let i = 0; i < 50; i++) {
      const first = backoffMs(0, 200, 10_000);
      expect(first).toBeGreaterThanOrEqual(100);
      expect(first).toBeLessThanOrEqual(200);
      const late = backoffMs(30, 200, 10_000);
      expect(late).toBeGreaterThanOrEqual(5_000);
      expect(late).toBeLessThanOrEqual(10_000);
    }
  });
});
