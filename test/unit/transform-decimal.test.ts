import { describe, expect, it } from 'vitest';
import { fromScaled, parseDecimal, toScaled } from '../../src/transform/decimal.js';

describe('parseDecimal', () => {
  it.each([
    ['30.12', '30.12'],
    ['100', '100'],
    ['0.5', '0.5'],
    ['30.10', '30.1'],
    ['30.00000000', '30'],
    ['007.50', '7.5'],
    ['1e-7', '0.0000001'],
    ['1E-8', '0.00000001'],
    ['1.5e+3', '1500'],
    ['12.5e-1', '1.25'],
    ['0.000012e5', '1.2'],
    ['1234567890.12345678', '1234567890.12345678'],
    ['9999999999.99999999', '9999999999.99999999'],
    ['0', '0'],
    ['-0', '0'],
    ['0e999999999999', '0'],
    ['100e-2', '1'],
  ])('%s → %s', (text, canonical) => {
    expect(parseDecimal(text)).toBe(canonical);
  });

  it.each([
    ['', 'is not a decimal'],
    ['abc', 'is not a decimal'],
    ['NaN', 'is not a decimal'],
    ['Infinity', 'is not a decimal'],
    ['1.', 'is not a decimal'],
    ['.5', 'is not a decimal'],
    ['1e', 'is not a decimal'],
    ['+1', 'is not a decimal'],
    [' 1', 'is not a decimal'],
    ['1 ', 'is not a decimal'],
    ['1,5', 'is not a decimal'],
    ['0x10', 'is not a decimal'],
    ['-30.12', 'is negative'],
    ['-1e-9', 'is negative'],
    ['0.123456789', 'more than 8 fractional digits'],
    ['1e-9', 'more than 8 fractional digits'],
    ['12345678901', 'more than 10 integer digits'],
    ['1e10', 'more than 10 integer digits'],
    ['1e999999999999', 'more than 10 integer digits'],
    ['1e-999999999999', 'more than 8 fractional digits'],
  ])('%j is refused: %s', (text, reason) => {
    const r = parseDecimal(text);
    expect(typeof r).toBe('object');
    expect((r as { reason: string }).reason).toContain(reason);
  });
});

describe('scaled integers', () => {
  it.each([
    ['30.12', 3012000000n],
    ['100', 10000000000n],
    ['0.00000001', 1n],
    ['9999999999.99999999', 999999999999999999n],
  ])('%s ⇄ %s', (text, scaled) => {
    expect(toScaled(text)).toBe(scaled);
    expect(fromScaled(scaled)).toBe(text);
  });

  it('renders zero and sums exactly', () => {
    expect(fromScaled(0n)).toBe('0');
    expect(fromScaled(toScaled('0.1') + toScaled('0.2'))).toBe('0.3');
  });
});
