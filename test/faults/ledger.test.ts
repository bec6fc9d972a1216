import { describe, expect, it } from 'vitest';
import { tally } from './ledger.js';

const poison77 = (id: number) => id % 100 === 77;

describe('tally', () => {
  it.each([
    { why: 'each stored once', sent: [1, 2, 3], stored: [3, 1, 2], dead: [], lost: 0, dup: 0, mis: 0 },
    { why: 'one missing', sent: [1, 2, 3], stored: [1, 3], dead: [], lost: 1, dup: 0, mis: 0 },
    { why: 'one stored twice', sent: [1, 2, 3], stored: [1, 2, 2, 3], dead: [], lost: 0, dup: 1, mis: 0 },
    {
      why: 'poison dead-lettered',
      sent: [76, 77, 78],
      stored: [76, 78],
      dead: [77],
      lost: 0,
      dup: 0,
      mis: 0,
    },
    { why: 'poison dead-lettered twice', sent: [77], stored: [], dead: [77, 77], lost: 0, dup: 1, mis: 0 },
    { why: 'valid message dead-lettered', sent: [1, 2], stored: [1], dead: [2], lost: 0, dup: 0, mis: 1 },
    { why: 'stored and dead-lettered', sent: [1], stored: [1], dead: [1], lost: 0, dup: 1, mis: 1 },
    { why: 'row never sent', sent: [1], stored: [1, 9], dead: [], lost: 0, dup: 0, mis: 1 },
    {
      why: 'sent twice, stored twice',
      sent: [1, 1, 2],
      stored: [1, 1, 2],
      dead: [],
      lost: 0,
      dup: 0,
      mis: 0,
    },
    { why: 'sent twice, stored once', sent: [1, 1, 2], stored: [1, 2], dead: [], lost: 1, dup: 0, mis: 0 },
  ])('$why', ({ sent, stored, dead, lost, dup, mis }) => {
    const l = tally(sent, stored, dead, poison77);
    expect([l.sent, l.stored, l.dead_lettered]).toEqual([sent.length, stored.length, dead.length]);
    expect({ lost: l.lost, duplicates: l.duplicates, misrouted: l.misrouted }).toEqual({
      lost,
      duplicates: dup,
      misrouted: mis,
    });
  });

  it('names example ids', () => {
    const l = tally([1, 2, 3, 4], [2, 2], [], poison77);
    expect(l.examples).toEqual({ lost: [1, 3, 4], duplicated: [2], misrouted: [] });
  });
});
