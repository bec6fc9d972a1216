import { describe, expect, it } from 'vitest';
import { checkLines, checks, type Landed } from '../../src/demo/display.js';
import { emptyExpected } from '../../src/feed/mix.js';

describe("the demo's closing table", () => {
  const expected = {
    ...emptyExpected(),
    marketTicks: 100,
    bookSnapshots: 20,
    callbacks: { PROCESSED: 5, FAILED: 1, SKIPPED: 4 },
    deadLetters: 2,
    duplicateTrades: 7,
    holes: 3,
  };
  const landed: Landed = {
    marketTicks: 100,
    bookSnapshots: 20,
    callbacks: { PROCESSED: 5, FAILED: 1, SKIPPED: 4 },
    deadLetters: 2,
    duplicateTrades: 7,
    openHoles: 3,
  };

  it('puts the duplicates skipped and the open holes beside what the feed expected', () => {
    const rows = checks(expected, landed);
    expect(rows.map((c) => [c.what, c.expected, c.landed])).toEqual([
      ['data_capture.market_ticks', 100, 100],
      ['data_capture.order_book_snapshots', 20, 20],
      ['data_capture.profitdll_callbacks PROCESSED', 5, 5],
      ['data_capture.profitdll_callbacks FAILED', 1, 1],
      ['data_capture.profitdll_callbacks SKIPPED', 4, 4],
      ['dead-letter topic', 2, 2],
      ['duplicate trades skipped (metric)', 7, 7],
      ['data_capture.feed_gaps open holes', 3, 3],
    ]);
    expect(
      checkLines(rows)
        .slice(1)
        .every((l) => l.endsWith(' ok')),
    ).toBe(true);
  });

  it.each([
    [{ duplicateTrades: 6 }, 'duplicate trades skipped (metric)'],
    [{ openHoles: 4 }, 'data_capture.feed_gaps open holes'],
  ])('flags %j as a mismatch', (change, what) => {
    const lines = checkLines(checks(expected, { ...landed, ...change }));
    expect(lines.filter((l) => l.endsWith('MISMATCH')).map((l) => l.split(/\s{2,}/)[0])).toEqual([what]);
  });
});
