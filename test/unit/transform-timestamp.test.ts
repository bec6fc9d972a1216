import { describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil, formatUtcMicros } from '../../src/transform/civil.js';
import { parseTimestamp } from '../../src/transform/timestamp.js';
import { localToUtc } from '../../src/transform/zone-offset.js';

const SP = 'America/Sao_Paulo';
const us = (iso: string, micros = 0) => (Date.parse(iso) / 1000) * 1e6 + micros;

describe('parseTimestamp', () => {
  it.each([
    ['2026-11-24T13:00:00Z', us('2026-11-24T13:00:00Z')],
    ['2026-11-24T13:00:00z', us('2026-11-24T13:00:00Z')],
    ['2026-11-24 13:00:00+00:00', us('2026-11-24T13:00:00Z')],
    ['2026-11-24T13:00:00.123456-03:00', us('2026-11-24T16:00:00Z', 123456)],
    ['2026-11-24T13:00:00.1-03', us('2026-11-24T16:00:00Z', 100000)],
    ['2026-11-24T13:00:00.123456789+0530', us('2026-11-24T07:30:00Z', 123456)],
    ['2026-11-24T23:59:59.999999999Z', us('2026-11-24T23:59:59Z', 999999)],
    ['2024-02-29T00:00:00Z', us('2024-02-29T00:00:00Z')],
    ['1970-01-01T00:00:00.000001Z', 1],
    ['1969-12-31T23:59:59.999999Z', -1],
    // ProfitDLL local time, America/Sao_Paulo is UTC−3 (no DST since 2019).
    ['24/11/2026 10:00:00.123', us('2026-11-24T13:00:00Z', 123000)],
    ['24/11/2026 10:00:00', us('2026-11-24T13:00:00Z')],
    ['31/12/2026 23:59:59.999', us('2027-01-01T02:59:59Z', 999000)],
    // 2018-11-04 Brazil was on DST (UTC−2).
    ['05/11/2018 10:00:00.000', us('2018-11-05T12:00:00Z')],
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text, SP)).toBe(expected);
  });

  it('gives the same answers when consecutive timestamps share their second (the last one is cached)', () => {
    const sequence: [string, string, number | null][] = [
      ['2026-11-24T10:00:00.1-03:00', SP, us('2026-11-24T13:00:00Z', 100000)],
      ['2026-11-24T10:00:00.999999999-03:00', SP, us('2026-11-24T13:00:00Z', 999999)],
      ['2026-11-24T10:00:00-03:00', SP, us('2026-11-24T13:00:00Z')],
      ['2026-11-24T10:00:00.5-03:30', SP, us('2026-11-24T13:30:00Z', 500000)],
      ['2026-11-24T10:00:00.5Z', SP, us('2026-11-24T10:00:00Z', 500000)],
      ['2026-11-24T10:00:00.5Zx', SP, null],
      ['2026-11-24T10:00:00.Z', SP, null],
      ['2026-11-24T10:00:00.1234567890Z', SP, null],
      ['24/11/2026 10:00:00.250', SP, us('2026-11-24T13:00:00Z', 250000)],
      ['24/11/2026 10:00:00.750', SP, us('2026-11-24T13:00:00Z', 750000)],
      ['24/11/2026 10:00:00.750', 'UTC', us('2026-11-24T10:00:00Z', 750000)],
      ['24/11/2026 10:00:00.750', SP, us('2026-11-24T13:00:00Z', 750000)],
      ['24/11/2026 10:00:00.750Z', SP, null],
      ['04/11/2018 00:30:00.000', SP, null],
      ['04/11/2018 00:30:00.500', SP, null],
    ];
    for (const [text, zone, expected] of sequence) {
      const got = parseTimestamp(text, zone);
      expect({ text, got: typeof got === 'number' ? got : null }).toEqual({ text, got: expected });
    }
  });

  it.each([
    ['', 'not a timestamp'],
    ['2026-11-24', 'not a timestamp'],
    ['2026-11-24T13:00:00', 'not a timestamp'], // no offset: ambiguous
    ['2026-11-24T13:00:00.Z', 'not a timestamp'],
    ['2026-11-24T13:00:00.1234567890Z', 'not a timestamp'],
    ['2026-11-24T13:00:00+3', 'not a timestamp'],
    ['2026-11-24T13:00:00+24:00', 'not a timestamp'],
    ['2026-11-24X13:00:00Z', 'not a timestamp'],
    ['2026-1a-24T13:00:00Z', 'not a timestamp'],
    ['24/11/2026 10:00:00.123Z', 'not a timestamp'],
    ['24-11-2026 10:00:00', 'not a timestamp'],
    ['yesterday at noon, roughly', 'not a timestamp'],
    ['31/02/2026 10:00:00.000', 'not a valid calendar date'],
    ['2025-02-29T00:00:00Z', 'not a valid calendar date'],
    ['2026-13-01T00:00:00Z', 'not a valid calendar date'],
    ['2026-11-24T24:00:00Z', 'not a valid calendar date'],
    ['2026-11-24T13:60:00Z', 'not a valid calendar date'],
    ['2026-11-24T13:00:60Z', 'not a valid calendar date'],
    ['0000-01-01T00:00:00Z', 'not a valid calendar date'],
    ['1500-01-01T00:00:00Z', 'out of the supported range'],
    ['9999-12-31T23:59:59Z', 'out of the supported range'],
  ])('%j is refused: %s', (text, reason) => {
    const r = parseTimestamp(text, SP);
    expect(typeof r).toBe('object');
    expect((r as { reason: string }).reason).toContain(reason);
  });
});

describe('local exchange time across clock changes', () => {
  const wall = (iso: string) => Date.parse(`${iso}Z`) / 1000;
  it('an ambiguous time (clocks going back) is its earlier instant', () => {
    // New York 2026-11-01 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    expect(localToUtc('America/New_York', wall('2026-11-01T01:30:00'))).toBe(wall('2026-11-01T05:30:00'));
  });
  it('a skipped time (clocks going forward) has no instant', () => {
    expect(localToUtc('America/New_York', wall('2026-03-08T02:30:00'))).toBeNull();
    expect(parseTimestamp('08/03/2026 02:30:00.000', 'America/New_York')).toMatchObject({
      reason: expect.stringContaining('skipped by a clock change'),
    });
  });
  it('times next to a transition get the right offset', () => {
    expect(localToUtc('America/New_York', wall('2026-03-08T01:59:59'))).toBe(wall('2026-03-08T06:59:59'));
    expect(localToUtc('America/New_York', wall('2026-03-08T03:00:00'))).toBe(wall('2026-03-08T07:00:00'));
    expect(localToUtc('Asia/Kolkata', wall('2026-11-24T18:30:00'))).toBe(wall('2026-11-24T13:00:00'));
  });
});

describe('civil calendar arithmetic', () => {
  it.each([
    [1970, 1, 1],
    [2000, 2, 29],
    [2026, 11, 24],
    [1900, 3, 1],
    [1969, 12, 31],
    [2255, 6, 1],
  ])('%i-%i-%i agrees with Date.UTC both ways', (y, m, d) => {
    const days = Date.UTC(y, m - 1, d) / 86_400_000;
    expect(daysFromCivil(y, m, d)).toBe(days);
    expect(civilFromDays(days)).toEqual({ y, m, d });
  });

  it.each([
    [us('2026-11-24T13:00:00Z', 123456), '2026-11-24 13:00:00.123456+00'],
    [us('2026-11-24T13:00:00Z', 7), '2026-11-24 13:00:00.000007+00'],
    [us('2026-11-24T13:00:01Z'), '2026-11-24 13:00:01.000000+00'],
    [0, '1970-01-01 00:00:00.000000+00'],
    [-1, '1969-12-31 23:59:59.999999+00'],
    [us('1900-01-01T00:00:00Z'), '1900-01-01 00:00:00.000000+00'],
  ])('formatUtcMicros(%i) = %s', (micros, text) => {
    expect(formatUtcMicros(micros)).toBe(text);
  });
});
