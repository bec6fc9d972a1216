import { describe, expect, it } from 'vitest';
import { blockIds } from '../../src/writers/tick-ids.js';
import { tickIdList } from '../support/tick-columns.js';

const TOP = 9223372036854775807n;
const seq = (from: bigint, n: number) => Array.from({ length: n }, (_, k) => (from + BigInt(k)).toString());

describe('the tick ids a flush takes from the values it drew', () => {
  it.each([
    { name: 'nothing asked', starts: ['1'], step: 64n, max: TOP, n: 0, ids: [] },
    {
      name: 'a block stands for its start and the 63 after it',
      starts: ['129'],
      step: 64n,
      max: TOP,
      n: 64,
      ids: seq(129n, 64),
    },
    {
      name: 'the last block only as far as needed',
      starts: ['1', '65'],
      step: 64n,
      max: TOP,
      n: 70,
      ids: seq(1n, 70),
    },
    {
      name: 'blocks apart (another writer drew between them)',
      starts: ['1', '193'],
      step: 64n,
      max: TOP,
      n: 66,
      ids: [...seq(1n, 64), '193', '194'],
    },
    {
      name: 'step 1: each value alone',
      starts: ['7', '9', '10'],
      step: 1n,
      max: TOP,
      n: 3,
      ids: ['7', '9', '10'],
    },
    {
      name: 'a descending sequence: each value alone',
      starts: ['-30', '-20'],
      step: -10n,
      max: -1n,
      n: 2,
      ids: ['-30', '-20'],
    },
    {
      name: 'past 2^53, exactly',
      starts: ['9007199254740990'],
      step: 64n,
      max: TOP,
      n: 4,
      ids: ['9007199254740990', '9007199254740991', '9007199254740992', '9007199254740993'],
    },
    {
      name: 'cut short at the maximum (the caller draws the rest)',
      starts: ['9223372036854775805'],
      step: 64n,
      max: TOP,
      n: 10,
      ids: ['9223372036854775805', '9223372036854775806', '9223372036854775807'],
    },
    {
      name: 'cut short at a lower maximum',
      starts: ['90', '98'],
      step: 8n,
      max: 100n,
      n: 20,
      ids: [...seq(90n, 8), '98', '99', '100'],
    },
  ])('$name', ({ starts, step, max, n, ids }) => {
    expect(tickIdList(blockIds(starts, step, max, n))).toEqual(ids);
  });
});
