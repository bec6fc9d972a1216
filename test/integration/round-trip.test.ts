import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoundTrip, statement } from '../../src/db.js';
import { stack } from '../support/stack.js';

/**
 * The flush's statements carry their parameters as literals (src/db.ts) so several travel in one
 * round trip: on the real server they must mean exactly what node-postgres's bound parameters mean.
 */
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
});

/** Texts a symbol, a detected-at or a settings value could hold, hostile ones included. */
const TEXTS = [
  'PETR4',
  '',
  ' ',
  'NULL',
  'null',
  "O'Neil",
  "''",
  'a\\b',
  '\\',
  'x"y',
  '"',
  '{a,b}',
  'a,b',
  '\t\n\r',
  'ação',
  '株式',
  '😀',
  "E'x'",
  '$1',
  '); drop table x; --',
];

const SQL = `select $1::text[] as texts, $2::bigint[] as bigints, $3::numeric[] as numerics,
  $4::timestamptz[] as times, $5::date[] as days, $6::int as one, $7::boolean as flag,
  $8::text as text, $9::interval[] as widths, $10::text as other`;

const PARAMS = [
  [...TEXTS, null],
  ['9223372036854775807', '-9223372036854775808', '0', null],
  ['0.00000001', '-123456789.123456789', '1e-3', null],
  ['2024-03-04T10:00:00.123456Z', '2019-02-17 02:30:00-03', null],
  ['2024-03-04', null],
  7,
  false,
  "it's \\ here",
  ['1 minute', '1 day', '1 mon'],
  '$2',
];

describe('a statement with literals on the real server', () => {
  it('returns what the same statement with bound parameters returns', async () => {
    const bound = await client.query(SQL, PARAMS);
    const trip = new RoundTrip();
    const inlined = trip.add(statement(SQL, PARAMS, (r) => r.rows));
    await trip.send(client);
    expect(inlined()).toEqual(bound.rows);
    expect(bound.rows[0].texts).toEqual([...TEXTS, null]);
  });

  it('runs statements of one round trip in order, each with its own snapshot', async () => {
    const trip = new RoundTrip();
    trip.add(statement('create temporary table rt_order (v text)'));
    trip.add(statement('insert into rt_order values ($1)', ["it's"]));
    const seen = trip.add(statement('select v from rt_order', [], (r) => r.rows.map((x) => x.v)));
    trip.add(statement('drop table rt_order'));
    await trip.send(client);
    expect(seen()).toEqual(["it's"]);
  });

  it('fails as a whole at the first failing statement; the rest do not run', async () => {
    await client.query('create temporary table rt_fail (v int)');
    const trip = new RoundTrip();
    trip.add(statement('begin'));
    trip.add(statement('insert into rt_fail values ($1::int)', [1]));
    trip.add(statement('select 1 / $1::int', [0]));
    trip.add(statement('insert into rt_fail values ($1::int)', [2]));
    trip.add(statement('commit'));
    await expect(trip.send(client)).rejects.toMatchObject({ code: '22012' });
    await client.query('rollback');
    expect((await client.query('select count(*)::int as n from rt_fail')).rows[0].n).toBe(0);
  });
});
