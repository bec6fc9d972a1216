import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { produceOptions } from '../../src/feed/command.js';
import type { LabelledMessage } from '../../src/feed/mix.js';
import { messagesDue, toTopicMessages } from '../../src/feed/produce.js';

describe('messagesDue', () => {
  it.each([
    { rate: undefined, elapsedMs: 0, sent: 0, batch: 500, due: 500 },
    { rate: 0, elapsedMs: 10_000, sent: 99, batch: 500, due: 500 },
    { rate: 1000, elapsedMs: 0, sent: 0, batch: 500, due: 0 },
    { rate: 1000, elapsedMs: 250, sent: 0, batch: 500, due: 250 },
    { rate: 1000, elapsedMs: 250, sent: 200, batch: 500, due: 50 },
    { rate: 1000, elapsedMs: 250, sent: 300, batch: 500, due: 0 },
    { rate: 1000, elapsedMs: 5000, sent: 0, batch: 500, due: 500 },
    { rate: 3, elapsedMs: 999, sent: 2, batch: 500, due: 0 },
  ])('rate $rate after $elapsedMs ms with $sent sent: $due', ({ rate, elapsedMs, sent, batch, due }) => {
    expect(messagesDue(rate, elapsedMs, sent, batch)).toBe(due);
  });
});

describe('toTopicMessages', () => {
  it('groups by topic and keeps feed order inside each topic', () => {
    const m = (kind: LabelledMessage['kind'], key: string, value: string): LabelledMessage => ({
      kind,
      key,
      value,
      outcome: 'tick',
    });
    const got = toTopicMessages(
      [m('ticks', 'A', '1'), m('book', 'B', '2'), m('ticks', 'A', '3'), m('callbacks', 'C', '4')],
      { ticks: 't', book: 'b', callbacks: 'c' },
    );
    expect(got).toEqual([
      {
        topic: 't',
        messages: [
          { key: 'A', value: '1' },
          { key: 'A', value: '3' },
        ],
      },
      { topic: 'b', messages: [{ key: 'B', value: '2' }] },
      { topic: 'c', messages: [{ key: 'C', value: '4' }] },
    ]);
  });
});

describe('produceOptions', () => {
  const NOW = 1_800_000_000_000_000;
  it.each([
    {
      flags: { count: '1000' },
      want: { count: 1000, stepUs: 600_000, startUs: NOW - 600e6, invalidFraction: 0.01, seed: 7 },
    },
    { flags: { count: '10', span: '1' }, want: { count: 10, stepUs: 100_000, startUs: NOW - 1e6 } },
    { flags: { rate: '500' }, want: { rate: 500, stepUs: 2000, startUs: NOW } },
    {
      flags: { rate: '500', count: '20', invalid: '0.5' },
      want: { count: 20, rate: 500, invalidFraction: 0.5 },
    },
    { flags: { count: '5', mix: '1,0,3' }, want: { weights: { ticks: 1, book: 0, callbacks: 3 } } },
    { flags: { count: '5' }, want: { replayFraction: 0.002, skipFraction: 0.001 } },
    { flags: { count: '5', replay: '0', skip: '0.5' }, want: { replayFraction: 0, skipFraction: 0.5 } },
  ])('$flags', ({ flags, want }) => {
    expect(produceOptions(flags, NOW)).toMatchObject(want);
  });

  it('times end now when only a count is given, and start now at a rate', () => {
    const counted = produceOptions({ count: '100' }, NOW);
    expect((counted.startUs ?? 0) + 100 * (counted.stepUs ?? 0)).toBe(NOW);
    expect(produceOptions({ rate: '10' }, NOW).startUs).toBe(NOW);
  });

  it.each([
    [{}, '--count'],
    [{ count: '0' }, '--count'],
    [{ count: '1.5' }, '--count'],
    [{ rate: 'fast' }, '--rate'],
    [{ count: '1', invalid: '-0.1' }, '--invalid'],
    [{ count: '1', mix: '1,2' }, '--mix'],
    [{ count: '1', mix: '0,0,0' }, '--mix'],
    [{ count: '1', span: '0' }, '--span'],
    [{ count: '1', replay: '2' }, '--replay'],
    [{ count: '1', skip: '-1' }, '--skip'],
  ])('refuses %j, naming %s', (flags, variable) => {
    expect(() => produceOptions(flags, NOW)).toThrow(ConfigError);
    try {
      produceOptions(flags, NOW);
    } catch (err) {
      expect((err as ConfigError).variable).toBe(variable);
    }
  });
});
