import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { literal, RoundTrip, statement } from '../../src/db.js';

/** Parameters written into a statement as literals (src/db.ts): what node-postgres would have sent. */
describe('literal', () => {
  it.each([
    ['null', null, 'null'],
    ['undefined as null', undefined, 'null'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['text', 'PETR4', "'PETR4'"],
    ['a quote doubled', "O'Neil", "'O''Neil'"],
    ['a backslash as an escape string', 'a\\b', " E'a\\\\b'"],
    ['an integer', 42, "'42'"],
    ['a negative number stays inside the quotes', -5, "'-5'"],
    ['a fraction', 0.25, "'0.25'"],
    ['a bigint past 2^53', 9007199254740993n, "'9007199254740993'"],
    ['an empty array', [], "'{}'"],
    ['an array of text', ['a', 'b'], `'{"a","b"}'`],
    ['an array element that is the word NULL stays text', ['NULL'], `'{"NULL"}'`],
    ['a null element', ['a', null], `'{"a",NULL}'`],
    ['commas, braces and spaces inside elements', ['a,b', '{c}', ' d '], `'{"a,b","{c}"," d "}'`],
    ['quotes and backslashes inside elements', ['x"y', 'p\\q'], ` E'{"x\\\\"y","p\\\\\\\\q"}'`],
    ['a single quote inside an element', ["it's"], `'{"it''s"}'`],
    ['numbers in an array', [1, -2, 3.5], `'{"1","-2","3.5"}'`],
  ])('%s', (_name, value, expected) => {
    expect(literal(value)).toBe(expected);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an object', { a: 1 }],
    ['a nested array', [[1]]],
  ])('refuses %s', (_name, value) => {
    expect(() => literal(value)).toThrow(/no SQL literal/);
  });
});

describe('statement', () => {
  it('writes each $n as its literal, $10 not read as $1', () => {
    const params = Array.from({ length: 10 }, (_, i) => `p${i + 1}`);
    expect(statement('select $1::text, $10::text, $2', params).text).toBe(
      "select 'p1'::text, 'p10'::text, 'p2'",
    );
  });

  it('names a parameter the statement uses but was not given', () => {
    expect(() => statement('select $1, $2', ['a'])).toThrow(/uses \$2 but has 1 parameters/);
  });
});

/** A client answering a simple query with the results given, recording the text it was sent. */
function fakeClient(results: unknown) {
  const sent: string[] = [];
  const client = {
    query: async (text: string) => {
      sent.push(text);
      return results;
    },
  } as unknown as pg.ClientBase;
  return { client, sent };
}

const result = (rows: unknown[]) => ({ rows }) as unknown as pg.QueryResult;

describe('RoundTrip', () => {
  it('sends its statements as one query and reads each result by its place', async () => {
    const { client, sent } = fakeClient([result([]), result([{ n: 1 }]), result([{ n: 2 }])]);
    const trip = new RoundTrip();
    trip.add(statement('begin'));
    const a = trip.add(statement('select $1::int as n', [1], (r) => r.rows[0].n as number));
    const b = trip.add(statement('select 2 as n', [], (r) => r.rows[0].n as number));
    await trip.send(client);
    expect(sent).toEqual(["begin;\nselect '1'::int as n;\nselect 2 as n"]);
    expect([a(), b()]).toEqual([1, 2]);
  });

  it('takes the single result node-postgres gives for one statement', async () => {
    const { client } = fakeClient(result([{ n: 7 }]));
    const trip = new RoundTrip();
    const a = trip.add(statement('select 7 as n', [], (r) => r.rows[0].n as number));
    await trip.send(client);
    expect(a()).toBe(7);
  });

  it('sends nothing when empty', async () => {
    const { client, sent } = fakeClient([]);
    await new RoundTrip().send(client);
    expect(sent).toEqual([]);
  });

  it('refuses a result read before the round trip was sent', () => {
    const trip = new RoundTrip();
    const a = trip.add(statement('select 1'));
    expect(() => a()).toThrow(/before its round trip was sent/);
  });

  it('fails when the results do not match the statements one to one', async () => {
    const { client } = fakeClient([result([])]);
    const trip = new RoundTrip();
    trip.add(statement('select 1'));
    trip.add(statement('select 2'));
    await expect(trip.send(client)).rejects.toThrow(/2 statements gave 1 results/);
  });
});
