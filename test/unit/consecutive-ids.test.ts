import { describe, expect, it } from 'vitest';
import { consecutiveIds } from '../../src/writers/copy-sink.js';

describe('consecutive ids from the first one the database reserved', () => {
  it.each([
    ['none', '41', 0, []],
    ['one', '41', 1, ['41']],
    ['a few', '998', 4, ['998', '999', '1000', '1001']],
    [
      'up to 2^53 as Numbers',
      '9007199254740989',
      3,
      ['9007199254740989', '9007199254740990', '9007199254740991'],
    ],
    [
      'past 2^53, exactly',
      '9007199254740991',
      3,
      ['9007199254740991', '9007199254740992', '9007199254740993'],
    ],
    [
      'near the top of bigint',
      '9223372036854775805',
      3,
      ['9223372036854775805', '9223372036854775806', '9223372036854775807'],
    ],
  ])('%s', (_name, first, n, ids) => {
    expect(consecutiveIds(first, n)).toEqual(ids);
  });
});
