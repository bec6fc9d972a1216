import { describe, expect, it } from 'vitest';
import { tally } from '../faults/ledger.js';
import { sumMetric } from '../faults/metrics-text.js';

// The fault suite's own accounting: pure, so it runs with the unit tests (no servers).
const poison77 = (id: number) => id % 100 === 77;

describe('tally', () => {
  it.each([
    {
      why: 'each stored once',
      sent: [1, 2, 3],
      stored: [3, 1, 2],
      dead: [],
      lost: 0,
      dup: 0,
      rep: 0,
      mis: 0,
    },
    { why: 'one missing', sent: [1, 2, 3], stored: [1, 3], dead: [], lost: 1, dup: 0, rep: 0, mis: 0 },
    {
      why: 'one stored twice',
      sent: [1, 2, 3],
      stored: [1, 2, 2, 3],
      dead: [],
      lost: 0,
      dup: 1,
      rep: 0,
      mis: 0,
    },
    {
      why: 'poison dead-lettered',
      sent: [76, 77, 78],
      stored: [76, 78],
      dead: [77],
      lost: 0,
      dup: 0,
      rep: 0,
      mis: 0,
    },
    {
      why: 'poison dead-lettered twice: a repeat, not a duplicate',
      sent: [77],
      stored: [],
      dead: [77, 77],
      lost: 0,
      dup: 0,
      rep: 1,
      mis: 0,
    },
    {
      why: 'valid message dead-lettered twice',
      sent: [1],
      stored: [],
      dead: [1, 1],
      lost: 0,
      dup: 0,
      rep: 1,
      mis: 1,
    },
    {
      why: 'valid message dead-lettered',
      sent: [1, 2],
      stored: [1],
      dead: [2],
      lost: 0,
      dup: 0,
      rep: 0,
      mis: 1,
    },
    { why: 'stored and dead-lettered', sent: [1], stored: [1], dead: [1], lost: 0, dup: 1, rep: 0, mis: 1 },
    {
      why: 'poison stored and dead-lettered twice',
      sent: [77],
      stored: [77],
      dead: [77, 77],
      lost: 0,
      dup: 2,
      rep: 0,
      mis: 1,
    },
    { why: 'row never sent', sent: [1], stored: [1, 9], dead: [], lost: 0, dup: 0, rep: 0, mis: 1 },
    {
      why: 'sent twice, stored twice',
      sent: [1, 1, 2],
      stored: [1, 1, 2],
      dead: [],
      lost: 0,
      dup: 0,
      rep: 0,
      mis: 0,
    },
    {
      why: 'sent twice, stored once',
      sent: [1, 1, 2],
      stored: [1, 2],
      dead: [],
      lost: 1,
      dup: 0,
      rep: 0,
      mis: 0,
    },
  ])('$why', ({ sent, stored, dead, lost, dup, rep, mis }) => {
    const l = tally(sent, stored, dead, poison77);
    expect([l.sent, l.stored, l.dead_lettered]).toEqual([sent.length, stored.length, dead.length]);
    expect({
      lost: l.lost,
      duplicates: l.duplicates,
      dead_letter_repeats: l.dead_letter_repeats,
      misrouted: l.misrouted,
    }).toEqual({ lost, duplicates: dup, dead_letter_repeats: rep, misrouted: mis });
  });

  it('names example ids', () => {
    const l = tally([1, 2, 3, 4, 77], [2, 2], [77, 77], poison77);
    expect(l.examples).toEqual({ lost: [1, 3, 4], duplicated: [2], misrouted: [], repeated: [77] });
  });
});

describe('sumMetric', () => {
  const text = [
    '# HELP tick_ingest_rows_written_total Rows committed',
    '# TYPE tick_ingest_rows_written_total counter',
    'tick_ingest_rows_written_total{table="market_ticks"} 1200',
    'tick_ingest_rows_written_total{table="order_book_snapshots"} 30',
    '# HELP tick_ingest_rows_written_total_extra Not the same metric',
    '# TYPE tick_ingest_rows_written_total_extra counter',
    'tick_ingest_rows_written_total_extra 5',
    '# HELP tick_ingest_fetch_paused Paused',
    '# TYPE tick_ingest_fetch_paused gauge',
    'tick_ingest_fetch_paused 1',
    '# HELP tick_ingest_dead_lettered_total Dead letters',
    '# TYPE tick_ingest_dead_lettered_total counter',
    '',
  ].join('\n');

  it.each([
    { name: 'tick_ingest_rows_written_total', sum: 1230 },
    { name: 'tick_ingest_fetch_paused', sum: 1 },
    // Declared but no label set seen yet: nothing counted so far.
    { name: 'tick_ingest_dead_lettered_total', sum: 0 },
  ])('$name sums to $sum', ({ name, sum }) => {
    expect(sumMetric(text, name)).toBe(sum);
  });

  it('fails on a metric the worker does not expose (a renamed metric must not read as 0)', () => {
    expect(() => sumMetric(text, 'tick_ingest_fetch_pause')).toThrow(/tick_ingest_fetch_pause.*not exposed/);
  });
});
