import { describe, expect, it } from 'vitest';
import { ID_WIDTH } from '../../src/copy-rows.js';
import {
  appendTickIdBlocks,
  appendTickIds,
  compareTickIds,
  noTickIds,
  pickTickIds,
  TickIdDigits,
  tickIdAt,
  tickIdCount,
} from '../../src/tick-id-blocks.js';
import { tickIdList, tickIdsOf } from '../support/tick-columns.js';

const blocks = (...list: [bigint, number][]) => {
  const ids = noTickIds();
  for (const [start, count] of list) appendTickIds(ids, start, count);
  return ids;
};

/** Every id's digits as TickIdDigits gives them, as text. */
const digitsOf = (ids: ReturnType<typeof noTickIds>) => {
  const d = new TickIdDigits(ids);
  return Array.from({ length: tickIdCount(ids) }, () => Buffer.from(d.next()).toString());
};

describe('tick ids in blocks', () => {
  it.each([
    { name: 'none', ids: blocks(), list: [], starts: 0 },
    { name: 'one block', ids: blocks([129n, 4]), list: ['129', '130', '131', '132'], starts: 1 },
    { name: 'blocks apart', ids: blocks([1n, 2], [193n, 2]), list: ['1', '2', '193', '194'], starts: 2 },
    {
      name: 'a block that continues the last joins it',
      ids: blocks([1n, 2], [3n, 2]),
      list: ['1', '2', '3', '4'],
      starts: 1,
    },
    {
      name: 'past 2^53, exactly',
      ids: blocks([9007199254740990n, 4]),
      list: ['9007199254740990', '9007199254740991', '9007199254740992', '9007199254740993'],
      starts: 1,
    },
    { name: 'single ids out of order', ids: tickIdsOf(['9', '5', '7']), list: ['9', '5', '7'], starts: 3 },
  ])('$name', ({ ids, list, starts }) => {
    expect(tickIdCount(ids)).toBe(list.length);
    expect(tickIdList(ids)).toEqual(list);
    expect(ids.starts).toHaveLength(starts);
    // The digits written into COPY lines: zero-padded, counting up within a block.
    expect(digitsOf(ids)).toEqual(list.map((id) => id.padStart(ID_WIDTH, '0')));
  });

  it('counts up across a carry of every digit', () => {
    expect(digitsOf(blocks([98n, 3], [999_999_999n, 2]))).toEqual(
      ['98', '99', '100', '999999999', '1000000000'].map((id) => id.padStart(ID_WIDTH, '0')),
    );
    expect(digitsOf(blocks([9223372036854775806n, 2]))).toEqual([
      '9223372036854775806',
      '9223372036854775807',
    ]);
  });

  it('refuses ids a COPY line cannot hold, and asking past the last', () => {
    expect(() => new TickIdDigits(blocks([-5n, 1])).next()).toThrow(/not a positive bigint/);
    const d = new TickIdDigits(blocks([1n, 1]));
    d.next();
    expect(() => d.next()).toThrow(RangeError);
  });

  it('appends the blocks of another draw, joining one that continues the last', () => {
    const ids = blocks([1n, 30]);
    appendTickIdBlocks(ids, blocks([31n, 2], [65n, 3]));
    expect(ids).toEqual({ starts: [1n, 65n], ends: [32, 35] });
  });

  it('compares and picks rows by their ids', () => {
    const ids = blocks([10n, 3], [5n, 2]);
    expect([...Array(5).keys()].map((k) => tickIdAt(ids, k))).toEqual([10n, 11n, 12n, 5n, 6n]);
    expect(compareTickIds(ids, 0, 1)).toBe(-1);
    expect(compareTickIds(ids, 2, 3)).toBe(1);
    expect(compareTickIds(ids, 4, 4)).toBe(0);
    expect(tickIdList(pickTickIds(ids, [4, 0, 1, 2]))).toEqual(['6', '10', '11', '12']);
    expect(pickTickIds(ids, [0, 1, 2]).starts).toEqual([10n]);
  });
});
