import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  classifyError,
  DeadlineError,
  OffsetConflictError,
  TransientError,
} from '../../src/errors.js';

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
    { name: 'deadlock (40P01)', err: pgError('40P01'), kind: 'retriable' },
    { name: 'too many connections (53300)', err: pgError('53300'), kind: 'retriable' },
    { name: 'cannot connect now (57P03)', err: pgError('57P03'), kind: 'retriable' },
    { name: 'statement timeout (57014)', err: pgError('57014'), kind: 'retriable' },
    { name: 'lock timeout (55P03)', err: pgError('55P03'), kind: 'retriable' },
    { name: 'socket refused', err: pgError('ECONNREFUSED'), kind: 'retriable' },
    { name: 'socket reset', err: pgError('ECONNRESET'), kind: 'retriable' },
    {
      name: 'connection lost (pg message)',
      err: new Error('Connection terminated unexpectedly'),
      kind: 'retriable',
    },
    {
      name: 'pool connect timeout',
      err: new Error('timeout exceeded when trying to connect'),
      kind: 'retriable',
    },
    { name: 'query read timeout', err: new Error('Query read timeout'), kind: 'retriable' },
    { name: 'a deadline overrun', err: new DeadlineError('flush', 10), kind: 'retriable' },
    { name: 'a lost decode thread', err: new TransientError('decode thread exited'), kind: 'retriable' },
    {
      name: 'kafkajs connection error',
      err: Object.assign(new Error('x'), { name: 'KafkaJSConnectionError', retriable: true }),
      kind: 'retriable',
    },
    {
      name: 'kafkajs retriable protocol error',
      err: Object.assign(new Error('x'), { name: 'KafkaJSProtocolError', retriable: true }),
      kind: 'retriable',
    },
    {
      name: 'kafkajs topic authorization failed',
      err: Object.assign(new Error('x'), { name: 'KafkaJSProtocolError', retriable: false }),
      kind: 'fatal',
    },
    { name: 'permission denied (42501)', err: pgError('42501'), kind: 'fatal' },
    { name: 'undefined table (42P01)', err: pgError('42P01'), kind: 'fatal' },
    { name: 'undefined column (42703)', err: pgError('42703'), kind: 'fatal' },
    {
      name: 'a TypeError (a bug)',
      err: new TypeError("Cannot read properties of undefined (reading 'x')"),
      kind: 'fatal',
    },
    { name: 'not an Error at all', err: 'boom', kind: 'fatal' },
    {
      name: 'an offset conflict',
      err: new OffsetConflictError([{ topic: 't', partition: 1, reason: 'fenced' }]),
      kind: 'conflict',
    },
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
