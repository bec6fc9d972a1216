import pg from 'pg';
import { ConfigError, loadConfig } from '../config.js';
import { daysInMonth } from '../transform/civil.js';
import { type GapFilter, type GapRow, listGaps } from './gaps.js';

export interface GapsFlags {
  symbol?: string;
  day?: string;
  open?: boolean;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function isDay(s: string): boolean {
  const m = DAY.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo);
}

/** The command's flags as a filter; a malformed --day is refused by name. */
export function gapFilter(flags: GapsFlags): GapFilter {
  if (flags.day !== undefined && !isDay(flags.day))
    throw new ConfigError('--day', `expected a trading day as YYYY-MM-DD, got ${JSON.stringify(flags.day)}`);
  return {
    ...(flags.symbol ? { symbol: flags.symbol } : {}),
    ...(flags.day ? { day: flags.day } : {}),
    open: flags.open ?? false,
  };
}

const COLUMNS = [
  ['symbol', (g: GapRow) => g.symbol],
  ['trading_day', (g: GapRow) => g.tradingDay],
  ['first_missing', (g: GapRow) => g.firstMissing],
  ['last_missing', (g: GapRow) => g.lastMissing],
  ['missing', (g: GapRow) => g.missing],
  ['after_time', (g: GapRow) => g.afterTime ?? ''],
  ['before_time', (g: GapRow) => g.beforeTime ?? ''],
  ['detected_at', (g: GapRow) => g.detectedAt],
  ['filled_at', (g: GapRow) => g.filledAt ?? 'open'],
  ['split_from', (g: GapRow) => g.splitFrom ?? ''],
] as const;

/** An aligned table, one hole per line, then a summary line. Pure. */
export function gapLines(rows: readonly GapRow[]): string[] {
  const open = rows.filter((g) => g.filledAt === null);
  const missing = open.reduce((n, g) => n + BigInt(g.missing), 0n);
  const summary = `${rows.length} holes listed, ${open.length} open (${missing} trade numbers missing)`;
  if (rows.length === 0) return [summary];
  const cells = rows.map((g) => COLUMNS.map(([, get]) => get(g)));
  const widths = COLUMNS.map(([name], i) =>
    Math.max(name.length, ...cells.map((c) => (c[i] as string).length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS.map(([name]) => name)), ...cells.map(line), summary];
}

/**
 * `tick-ingest gaps`: the holes in the feed, so a desk knows which ranges to request from ProfitDLL's
 * history, and between which trade times (exchange-local, EXCHANGE_TIME_ZONE).
 */
export async function gapsCommand(flags: GapsFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const filter = gapFilter(flags);
  const { DATABASE_URL, EXCHANGE_TIME_ZONE } = loadConfig(env, ['DATABASE_URL', 'EXCHANGE_TIME_ZONE']);
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'tick-ingest gaps' });
  await client.connect();
  try {
    for (const line of gapLines(await listGaps(client, filter, EXCHANGE_TIME_ZONE))) console.log(line);
  } finally {
    await client.end();
  }
}
