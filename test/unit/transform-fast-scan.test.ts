import { describe, expect, it } from 'vitest';
import { type CopyRows, CopyRowsBuilder } from '../../src/copy-rows.js';
import { bookLine, tickLine } from '../../src/transform/copy-format.js';
import {
  type BatchContext,
  type DecodedBatch,
  decodeBatch,
  decodeBatchGeneral,
  type TopicKind,
} from '../../src/transform/decode-batch.js';
import { FastScanner } from '../../src/transform/fast-scan.js';
import { type DecodeContext, decodeBook, decodeTick } from '../../src/transform/index.js';
import { linesOf, lineText } from '../support/copy-rows.js';
import { plainTicks } from '../support/tick-columns.js';

/**
 * The fast path is held to the general path: on random valid messages, random mutations of them
 * and adversarial inputs, decodeBatch (fast path on) answers exactly what decodeBatchGeneral
 * answers: the same rows, lines, tick columns and verdicts (code and text, which names the field).
 */

const batchCtx: BatchContext = {
  timeZone: 'America/Sao_Paulo',
  futureWindowUs: 300_000_000,
  pastWindowUs: 31 * 86_400_000_000,
};

/** Deterministic generator (mulberry32), so a failure reproduces from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof rng>;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

// ---- pieces of messages, as raw JSON text ----

const SYMBOLS = [
  'PETR4',
  'WINZ26',
  'VALE3',
  'S'.repeat(50),
  'S'.repeat(51),
  '',
  ' ',
  'ação',
  '😀😀',
  'A\tB',
  'A\\B',
  'A"B',
  'A/B',
  '\u2028',
  '\u0001',
];
const RAW_SYMBOLS = [
  '"PE\\u0054R4"',
  '"PETR4\\u0000"',
  '"\\ud800"',
  '"PE\\/TR4"',
  '"\u0001"',
  '"x\x7f"',
  '"\t"',
];
const EXCHANGES = ['B3', 'BMF', 'X'.repeat(20), 'X'.repeat(21), '', 'b3'];
const SOURCES = ['ProfitDLL', 'replay', 'R'.repeat(50), 'R'.repeat(51), ''];
const AGGRESSORS = [
  'BUY',
  'SELL',
  'NEUTRAL',
  'buy',
  'Sell',
  'neutral',
  'nEuTrAl',
  'UP',
  '',
  'BUYY',
  'BU',
  'ＢＵＹ',
  'buy ',
];
const RAW_DECIMALS = [
  '30.12',
  '"30.12"',
  '30.120',
  '"30.120"',
  '100',
  '"100"',
  '1E-7',
  '1e-7',
  '"1e-7"',
  '1e-08',
  '1e-8',
  '1e-9',
  '3.012e1',
  '1.5E+2',
  '1.5e+02',
  '0.1e1',
  '0e5',
  '0',
  '-0',
  '"0"',
  '"-0"',
  '-1',
  '"-1"',
  '0.00000001',
  '0.000000001',
  '"0.000000001"',
  '9999999999.99999999',
  '"9999999999.99999999"',
  '12345678901',
  '"12345678901"',
  '123456789012345',
  '1234567890123456',
  '1234567890.12345678',
  '12345678.123456789e1',
  '123.456789012345',
  '12.3456789012345',
  '1e400',
  '1e-400',
  '1e10',
  '1e9',
  '1e100',
  '00.5',
  '"00.5"',
  '"0030.120"',
  '"0100"',
  '"000"',
  '.5',
  '5.',
  '"5."',
  '" 5"',
  '"5 "',
  '"+5"',
  '+5',
  '"3.0e-8"',
  '"\\u0033"',
  '"0x10"',
  '"Infinity"',
  'true',
  'null',
  '[]',
  '{}',
  '[1]',
  '"abc"',
  '"1,5"',
];
const RAW_TRADE_IDS = [
  '1',
  '0',
  '-0',
  '-5',
  '123456',
  '123456789012345',
  '9007199254740993',
  '123456789012345678',
  '1234567890123456789',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '99999999999999999999',
  '1e5',
  '100.0',
  '1.5',
  '0123',
  '"0042"',
  '"000"',
  '"0"',
  '"-5"',
  '""',
  '"12a"',
  '" 1"',
  '"\\u0031"',
  '"9223372036854775807"',
  '"9223372036854775808"',
  '"123456789012345678"',
  '"1234567890123456789"',
  '"00000000000000000001"',
  'null',
  'true',
  '[]',
  '{"n":1}',
];

/** A decimal of random shape: string or number, 0..11 integer digits, 0..9 fraction digits, maybe an exponent. */
function randomDecimal(r: Rng): string {
  const intDigits = r.pick([0, 1, 1, 2, 3, 5, 10, 11]);
  let text = intDigits === 0 ? '0' : String(1 + r.int(9));
  for (let k = 1; k < intDigits; k++) text += r.int(10);
  const fracDigits = r.pick([0, 0, 1, 2, 2, 3, 8, 9]);
  if (fracDigits > 0) {
    text += '.';
    for (let k = 0; k < fracDigits; k++) text += r.chance(0.2) ? '0' : r.int(10);
  }
  if (r.chance(0.1)) text += `${r.pick(['e', 'E'])}${r.pick(['', '+', '-'])}${r.int(12)}`;
  return r.chance(0.5) ? `"${text}"` : text;
}

/** A decimal: mostly a plain price as a number or a string, now and then of any shape. */
function decimal(r: Rng): string {
  if (r.chance(0.15)) return r.chance(0.5) ? randomDecimal(r) : r.pick(RAW_DECIMALS);
  const text = (1 + r.int(5000) / 100).toFixed(r.pick([0, 1, 2, 2, 3]));
  return r.chance(0.5) ? `"${text}"` : text;
}
const str = (r: Rng, pool: readonly string[]) => JSON.stringify(r.pick(pool));

/** A time µs, its text in one of the accepted forms (or not), and a Kafka timestamp (ms) around it. */
function randomTime(r: Rng): { text: string; kafkaMs: number } {
  const special = r.next();
  if (special < 0.08) {
    const text = r.pick([
      '2026-02-30T10:00:00Z',
      '2026-11-24T24:00:00Z',
      '2026-11-24T10:60:00Z',
      '2026-11-24T10:00:00',
      '2026-11-24T10:00:00.Z',
      '2026-11-24T10:00:00.1234567890Z',
      '2026-11-24T10:00:00+24:00',
      '2026-11-24 10:00:00z',
      '2026-11-24t10:00:00+0300',
      '2026-11-24T10:00:00-03',
      '1969-12-31T23:59:59.999999Z',
      '1970-01-01T00:00:00Z',
      '30/12/1899 00:00:00',
      '24/11/2026 10:00:00.123',
      '24/11/2026 10:00:00.',
      '29/02/2025 10:00:00',
      '2026/11/24 10:00:00',
      'abc',
      '',
      '2255-12-31T00:00:00Z',
      '1600-01-01T00:00:00Z',
    ]);
    return { text, kafkaMs: r.pick([0, -1, Date.UTC(2026, 10, 24, 13), Date.UTC(1970, 0, 1), 86_400_000]) };
  }
  if (special < 0.2) {
    // ProfitDLL local times around Brazil's last clock changes: 2018-11-04 00:00 → 01:00 (skipped
    // hour), 2019-02-17 00:00 → 2019-02-16 23:00 (repeated hour).
    const [d, mo, y, h] = r.pick([
      [4, 11, 2018, 0],
      [3, 11, 2018, 23],
      [4, 11, 2018, 1],
      [16, 2, 2019, 23],
      [16, 2, 2019, 22],
      [17, 2, 2019, 0],
    ] as const);
    const text = `${pad(d, 2)}/${pad(mo, 2)}/${y} ${pad(h, 2)}:${pad(r.int(60), 2)}:${pad(r.int(60), 2)}.${pad(r.int(1000), 3)}`;
    const approx = Date.UTC(y, mo - 1, d, h + 2 + r.int(2));
    return { text, kafkaMs: r.pick([0, approx, approx + 3_600_000, approx - 40 * 86_400_000]) };
  }
  const utcMs = Date.UTC(2026, 10, 24, 13) + r.int(86_400_000) - r.int(40) * 86_400_000;
  const micros = r.int(1000);
  const fracDigits = r.pick([0, 1, 3, 6, 6, 7, 9]);
  const fracText = pad((utcMs % 1000) * 1000 + micros, 6) + pad(r.int(1000), 3);
  const frac = fracDigits === 0 ? '' : `.${fracText.slice(0, fracDigits)}`;
  let text: string;
  if (r.chance(0.3)) {
    // ProfitDLL local time; Sao Paulo is UTC-3 since 2019.
    const t = new Date(utcMs - 3 * 3_600_000);
    text = `${pad(t.getUTCDate(), 2)}/${pad(t.getUTCMonth() + 1, 2)}/${t.getUTCFullYear()} ${t.toISOString().slice(11, 19)}${frac.slice(0, 4)}`;
  } else {
    const [suffix, offsetMin] = r.pick([
      ['Z', 0],
      ['z', 0],
      ['+00:00', 0],
      ['-03:00', -180],
      ['-0300', -180],
      ['-03', -180],
      ['+05:45', 345],
    ] as const);
    const t = new Date(utcMs + offsetMin * 60_000).toISOString();
    text = `${t.slice(0, 10)}${r.pick(['T', 'T', ' ', 't'])}${t.slice(11, 19)}${frac}${suffix}`;
  }
  // Kafka timestamps around the tick: on time, late, early by the future window and its edges, far past, none.
  const kafkaMs =
    utcMs +
    r.pick([
      0,
      0,
      0,
      0,
      0,
      0,
      50,
      60_000,
      -299_999,
      -300_000,
      -300_001,
      -600_000,
      31 * 86_400_000,
      32 * 86_400_000,
    ]);
  return { text, kafkaMs: r.chance(0.05) ? r.pick([0, -1]) : kafkaMs };
}

const WHITESPACE = ['', '', '', '', ' ', '\n', '\t', '\r\n', '  '];
const ODD_WHITESPACE = ['\f', '\v', '\u00a0', '\u2028', '\ufeff'];

/**
 * A JSON object from raw entries, in random key order; a noisy one has whitespace between tokens
 * and now and then odd whitespace, a repeated key or an unknown key.
 */
function object(r: Rng, entries: [string, string][], noisy: boolean): string {
  const e = [...entries];
  for (let k = e.length - 1; k > 0; k--) {
    if (r.chance(0.3)) {
      const j = r.int(k + 1);
      [e[k], e[j]] = [e[j] as [string, string], e[k] as [string, string]];
    }
  }
  if (!noisy) return `{${e.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  if (r.chance(0.1) && e.length > 0) e.push([r.pick(e)[0], r.pick(e)[1]]);
  if (r.chance(0.1))
    e.push([
      r.pick(['bestBid', 'extra', '__proto__', 'Symbol', 'symbol ']),
      r.pick(['1', '"x"', 'null', '{}']),
    ]);
  const odd = r.chance(0.1) ? r.int(4 * e.length + 2) : -1;
  let at = 0;
  const ws = () => (at++ === odd ? r.pick(ODD_WHITESPACE) : r.chance(0.3) ? r.pick(WHITESPACE) : '');
  return `${ws()}{${e.map(([k, v]) => `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${v}`).join(',')}${ws()}}${ws()}`;
}

/** An optional entry: mostly present, sometimes null, sometimes absent. */
function optional(
  r: Rng,
  entries: [string, string][],
  key: string,
  value: string,
  pAbsent: number,
  pNull = 0.03,
): void {
  const u = r.next();
  if (u < pAbsent) return;
  entries.push([key, u < pAbsent + pNull ? 'null' : value]);
}

function randomTick(r: Rng): { text: string; kafkaMs: number } {
  const time = randomTime(r);
  const e: [string, string][] = [];
  optional(
    r,
    e,
    'symbol',
    r.chance(0.05) ? r.pick(RAW_SYMBOLS) : r.chance(0.85) ? str(r, SYMBOLS.slice(0, 3)) : str(r, SYMBOLS),
    0.02,
  );
  optional(r, e, 'exchange', r.chance(0.85) ? '"B3"' : str(r, EXCHANGES), 0.3);
  optional(r, e, 'price', decimal(r), 0.01, 0.01);
  optional(r, e, 'volume', r.chance(0.5) ? String(1 + r.int(10_000)) : decimal(r), 0.01, 0.01);
  optional(
    r,
    e,
    'aggressor',
    r.chance(0.8) ? str(r, AGGRESSORS.slice(0, 3)) : r.chance(0.9) ? str(r, AGGRESSORS) : '7',
    0.02,
  );
  optional(r, e, 'tickTime', r.chance(0.98) ? JSON.stringify(time.text) : '1795957200', 0.01, 0.01);
  optional(r, e, 'source', str(r, SOURCES), 0.8);
  optional(r, e, 'tradeId', r.chance(0.6) ? String(r.int(1e9)) : r.pick(RAW_TRADE_IDS), 0.2);
  return { text: object(r, e, r.chance(0.3)), kafkaMs: time.kafkaMs };
}

function randomSide(r: Rng, bids: boolean, best: number, noisy: boolean): string {
  const n = r.pick([0, 1, 2, 3, 5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 12]);
  const levels: string[] = [];
  let price = best;
  for (let k = 0; k < n; k++) {
    const e: [string, string][] = [];
    const oddPrice = r.chance(0.005);
    const priceText = oddPrice ? decimal(r) : price.toFixed(r.pick([2, 2, 2, 3, 8]));
    optional(r, e, 'price', r.chance(0.5) ? `"${priceText}"` : priceText, 0.002, 0.002);
    const volume = r.chance(0.04)
      ? r.pick([
          '0.99999999',
          '0.00000001',
          '9999999999.99999999',
          '0.5',
          '"1e2"',
          '"0030.120"',
          '"0100"',
          '"0.50"',
          '100.0',
        ])
      : r.chance(0.9)
        ? String(100 * (1 + r.int(50)))
        : decimal(r);
    optional(r, e, 'volume', volume, 0.002, 0.002);
    if (r.chance(0.003)) e.push(['orders', '3']);
    levels.push(
      r.chance(0.003)
        ? r.pick(['[1,2]', '30.1', 'null', '{}', `{"price":{"v":1},"volume":1}`])
        : object(r, e, noisy && r.chance(0.1)),
    );
    // Strictly away from the best, now and then equal or the wrong way.
    const step = r.chance(0.005) ? r.pick([0, -0.01]) : 0.01 * (1 + r.int(3));
    price = Math.max(0.01, bids ? price - step : price + step);
  }
  return `[${levels.join(',')}]`;
}

function randomBook(r: Rng): { text: string; kafkaMs: number } {
  const time = randomTime(r);
  const mid = r.chance(0.05) ? r.pick([0.01, 0.02, 9_999_999_999.98]) : 10 + r.int(5000) / 100;
  const spread = r.pick([0.01, 0.01, 0.02, 0, -0.01, 0.5]);
  const e: [string, string][] = [];
  optional(r, e, 'symbol', r.chance(0.95) ? str(r, SYMBOLS.slice(0, 3)) : str(r, SYMBOLS), 0.01, 0.01);
  optional(r, e, 'exchange', '"B3"', 0.5);
  optional(r, e, 'snapshotTime', JSON.stringify(time.text), 0.01, 0.01);
  const noisy = r.chance(0.3);
  const bids = randomSide(r, true, mid, noisy);
  const asks = randomSide(r, false, mid + spread, noisy);
  // Asks before bids now and then (the fast path leaves that order to the general path).
  if (r.chance(0.1)) {
    optional(r, e, 'asks', asks, 0.01, 0.01);
    optional(r, e, 'bids', bids, 0.01, 0.01);
  } else {
    optional(r, e, 'bids', bids, 0.01, 0.01);
    optional(r, e, 'asks', asks, 0.01, 0.01);
  }
  return { text: object(r, e, noisy), kafkaMs: time.kafkaMs };
}

// Bytes that matter to a scanner: structure, digits, signs, exponents, escapes, NUL, invalid UTF-8, whitespace.
const ALPHABET = Buffer.from('{}[]":,.-+eE0123456789\\u/ TZtnl\x00\x01\x7f\xff\xc3\t\n\r');

/** Random byte edits, or a truncation. */
function mutate(r: Rng, value: Buffer): Buffer {
  if (r.chance(0.2)) return value.subarray(0, r.int(value.length + 1));
  let out = Buffer.from(value);
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = r.int(out.length);
    const byte = ALPHABET[r.int(ALPHABET.length)] as number;
    const op = r.next();
    if (op < 0.5) out[at] = byte;
    else if (op < 0.75) out = Buffer.concat([out.subarray(0, at), Buffer.of(byte), out.subarray(at)]);
    else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
  }
  return out;
}

const ADVERSARIAL: (string | Buffer | null)[] = [
  null,
  '',
  ' ',
  '{}',
  '[]',
  'null',
  '"PETR4"',
  '{"symbol":"PETR4"}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"},',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z",}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"} x',
  '{"symbol":"PE\\u0054R4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
  '{"symbol":"PETR4\\u0000","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
  '{"sym\\u0062ol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z","symbol":"VALE3"}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z","tradeId":9223372036854775807}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z","tradeId":9223372036854775808}',
  '{"symbol":"PETR4","price":30.12000000000000001,"volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
  '{"symbol":"PETR4","price":30.12,"volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z","n":1e999}',
  '{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z","n":{"a":[[[[]]]]}}',
  Buffer.from(
    '{"symbol":"PETR4\x00","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
    'latin1',
  ),
  Buffer.from(
    '{"symbol":"PETR\xff","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
    'latin1',
  ),
  Buffer.from(
    '\xef\xbb\xbf{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"}',
    'latin1',
  ),
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[{"price":"30.12","volume":1}],"asks":[{"price":"30.12","volume":1}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[{"price":"30.12","volume":1}],"asks":[{"price":"30.11","volume":1}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[],"asks":[{"price":"30.11","volume":1}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":null,"asks":[{"price":"30.11","volume":1}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","asks":[{"price":"30.13","volume":1}],"bids":[{"price":"30.12","volume":1}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[{"price":"30.12","volume":"0.99999999"},{"price":"30.11","volume":"0.00000001"}],"asks":[{"price":"30.13","volume":"9999999999.99999999"},{"price":"30.14","volume":"9999999999.99999999"}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[{"price":"30.12","volume":1,"price":"30.13"}],"asks":[{"price":"30.14","volume":1}]}',
  '{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[{"price":"30.12","volume":1}],"asks":[{"price":"30.14","volume":1}],"bids":[{"price":"30.12","volume":1}]}',
];

/** The fast path's tick line as text, or null when it leaves the message to the general path (writing nothing). */
function scanTickLine(scanner: FastScanner, value: Buffer, ctx: DecodeContext): string | null {
  const out = new CopyRowsBuilder(false);
  const taken = scanner.scanTick(value, ctx, out, 0);
  const rows = out.build();
  if (!taken) {
    expect(rows.text.length).toBe(0);
    return null;
  }
  return lineText(rows, 0);
}

/** Where each message went: the fast path, or the general path to a row or an invalid verdict. */
function tally(kind: TopicKind, values: (Buffer | null)[], kafkaMs: number[]) {
  const scanner = new FastScanner();
  const counts = { fast: 0, generalValid: 0, invalid: 0 };
  values.forEach((v, i) => {
    const ctx: DecodeContext = { ...batchCtx, recordTimeUs: (kafkaMs[i] as number) * 1000 };
    const line =
      v === null ? null : kind === 'ticks' ? scanTickLine(scanner, v, ctx) : scanner.scanBook(v, ctx);
    const general = kind === 'ticks' ? decodeTick(v, ctx) : decodeBook(v, ctx);
    if (line !== null) {
      counts.fast++;
      // Whatever the fast path takes, the general path takes too, with the same line.
      if (!general.ok)
        throw new Error(`fast path took what the general path refuses: ${v} → ${general.error.message}`);
      const want =
        kind === 'ticks' ? tickLine(general.ticks[0] as never) : bookLine(general.books[0] as never);
      expect({ message: String(v), line }).toEqual({ message: String(v), line: want });
    } else if (general.ok) counts.generalValid++;
    else counts.invalid++;
  });
  return counts;
}

function expectSameBatch(kind: TopicKind, values: (Buffer | null)[], kafkaMs: number[]): DecodedBatch {
  const fast = decodeBatch(kind, values, kafkaMs, batchCtx);
  const general = decodeBatchGeneral(kind, values, kafkaMs, batchCtx);
  expect(fast).toEqual(general);
  return fast;
}

function generated(kind: TopicKind, seed: number, count: number, mutated: number) {
  const r = rng(seed);
  const values: (Buffer | null)[] = [];
  const kafkaMs: number[] = [];
  for (let n = 0; n < count; n++) {
    const m = kind === 'ticks' ? randomTick(r) : randomBook(r);
    const value = Buffer.from(m.text);
    values.push(r.chance(mutated) ? mutate(r, value) : value);
    kafkaMs.push(m.kafkaMs);
  }
  return { values, kafkaMs };
}

describe('fast path = general path', () => {
  it.each([
    ['ticks', 1, 6000, 0],
    ['ticks', 2, 6000, 0.5],
    ['book', 3, 3000, 0],
    ['book', 4, 3000, 0.5],
  ] as const)('%s, seed %i: %i random messages, %f of them mutated', (kind, seed, count, mutated) => {
    const { values, kafkaMs } = generated(kind, seed, count, mutated);
    // In batches of 500, as the decode thread gets them.
    for (let at = 0; at < values.length; at += 500)
      expectSameBatch(kind, values.slice(at, at + 500), kafkaMs.slice(at, at + 500));
    const counts = tally(kind, values, kafkaMs);
    // Not vacuous: the fast path takes most valid messages, and the general path still sees both valid and invalid ones.
    expect(counts.fast).toBeGreaterThan(count * (mutated ? 0.05 : 0.1));
    expect(counts.generalValid).toBeGreaterThan(count * 0.02);
    expect(counts.invalid).toBeGreaterThan(count * 0.1);
  });

  it.each(['ticks', 'book'] as const)('%s: adversarial inputs', (kind) => {
    const values = ADVERSARIAL.map((v) => (typeof v === 'string' ? Buffer.from(v) : v));
    for (const ms of [0, Date.UTC(2026, 10, 24, 13), Date.UTC(2026, 10, 24, 12, 54, 59, 999)]) {
      const kafkaMs = values.map(() => ms);
      expectSameBatch(kind, values, kafkaMs);
      tally(kind, values, kafkaMs);
    }
  });

  it('takes the common shapes, and gives their rows in order with the tick columns', () => {
    const tick = (symbol: string, extra = '') =>
      Buffer.from(
        `{"symbol":"${symbol}","exchange":"B3","price":"30.120","volume":100,"aggressor":"buy","tickTime":"24/11/2026 10:00:00.123"${extra}}`,
      );
    const values = [
      tick('PETR4', ',"tradeId":"0042"'),
      tick('PE\\u0054R4'),
      null,
      tick('VALE3', ',"tradeId":7'),
    ];
    const kafkaMs = values.map(() => Date.UTC(2026, 10, 24, 13));
    const d = expectSameBatch('ticks', values, kafkaMs);
    expect(linesOf(d.rows[0] as CopyRows, true)).toEqual([
      'PETR4\tB3\t30.12\t100\tBUY\t2026-11-24 13:00:00.123000+00\tProfitDLL\t42\n',
      'PETR4\tB3\t30.12\t100\tBUY\t2026-11-24 13:00:00.123000+00\tProfitDLL\t\\N\n',
      'VALE3\tB3\t30.12\t100\tBUY\t2026-11-24 13:00:00.123000+00\tProfitDLL\t7\n',
    ]);
    expect([...(d.rows[0] as CopyRows).messages]).toEqual([0, 1, 3]);
    expect(plainTicks(d.ticks).tradeIds).toEqual(['42', null, '7']);
    expect(d.invalid.map((b) => [b.message, b.code])).toEqual([[2, 'empty_value']]);
    expect(tally('ticks', values, kafkaMs)).toEqual({ fast: 2, generalValid: 1, invalid: 1 });
  });
});

describe('FastScanner: what it takes, what it leaves to the general path', () => {
  const ctx: DecodeContext = { ...batchCtx, recordTimeUs: Date.UTC(2026, 10, 24, 13, 1) * 1000 };
  const tick = (fields: string) =>
    `{"symbol":"PETR4","price":"30.12","volume":100,"aggressor":"BUY","tickTime":"2026-11-24T10:00:00-03:00"${fields}}`;
  const book = (bids: string, asks: string, extra = '') =>
    `{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","bids":[${bids}],"asks":[${asks}]${extra}}`;

  it.each([
    ['compact', tick(''), true],
    [
      'JSON whitespace',
      ` {\n\t"symbol" : "PETR4",\r\n "price":30.12 ,"volume":100,"aggressor":"BUY","tickTime":"2026-11-24T13:00:00Z"} `,
      true,
    ],
    ['optional keys, null ones', tick(',"exchange":null,"source":"replay","tradeId":null'), true],
    ['trade number as digits', tick(',"tradeId":"0042"'), true],
    ['trade number of 18 digits', tick(',"tradeId":123456789012345678'), true],
    ['trade number of 19 digits', tick(',"tradeId":1234567890123456789'), false],
    ['negative trade number', tick(',"tradeId":-1'), false],
    ['decimal with trailing zeros', tick(',"exchange":"B3"').replace('"30.12"', '"30.120"'), true],
    ['exponent number', tick('').replace('"30.12"', '3.012e1'), true],
    ['16-digit number', tick('').replace('"30.12"', '30.12000000000001'), false],
    ['3-digit exponent', tick('').replace('"30.12"', '3012e-002'), false],
    ['escape in a string', tick('').replace('PETR4', 'PE\\u0054R4'), false],
    ['non-ASCII string', tick('').replace('PETR4', 'AÇÃO'), false],
    ['unknown key', tick(',"bestBid":1'), false],
    ['repeated key', tick(',"symbol":"VALE3"'), false],
    ['nested value', tick(',"source":{"a":1}'), false],
    ['odd whitespace', tick('').replace('{', '{\f'), false],
    ['trailing data', `${tick('')}x`, false],
    ['invalid: zero price', tick('').replace('"30.12"', '"0"'), false],
    ['invalid: beyond the future window', tick('').replace('10:00:00', '10:07:00'), false],
  ])('tick, %s: taken %s', (_name, text, taken) => {
    const line = scanTickLine(new FastScanner(), Buffer.from(text), ctx);
    expect(line !== null).toBe(taken);
    const general = decodeTick(Buffer.from(text), ctx);
    if (taken) expect(line).toBe(general.ok ? tickLine(general.ticks[0] as never) : 'general path refuses');
  });

  const level = (price: string, volume = '100') => `{"price":${price},"volume":${volume}}`;
  it.each([
    ['one level a side', book(level('"30.12"'), level('30.13')), true],
    [
      'ten levels a side',
      book(
        [...Array(10)].map((_, k) => level(`"${(30.12 - k / 100).toFixed(2)}"`)).join(','),
        [...Array(10)].map((_, k) => level(`"${(30.13 + k / 100).toFixed(2)}"`)).join(','),
      ),
      true,
    ],
    ['levels keys in any order', book('{"volume":1,"price":30.12}', level('30.13')), true],
    ['locked book', book(level('30.12'), level('30.12')), true],
    [
      'asks before bids',
      `{"symbol":"PETR4","snapshotTime":"2026-11-24T13:00:00Z","asks":[${level('30.13')}],"bids":[${level('30.12')}]}`,
      false,
    ],
    ['a level with another key', book('{"price":30.12,"volume":1,"orders":3}', level('30.13')), false],
    ['a producer aggregate', book(level('30.12'), level('30.13'), ',"spread":0.01'), false],
    ['invalid: crossed', book(level('30.14'), level('30.13')), false],
    ['invalid: bids out of order', book(`${level('30.11')},${level('30.12')}`, level('30.13')), false],
    ['invalid: empty side', book('', level('30.13')), false],
  ])('book, %s: taken %s', (_name, text, taken) => {
    const line = new FastScanner().scanBook(Buffer.from(text), ctx);
    expect(line !== null).toBe(taken);
    const general = decodeBook(Buffer.from(text), ctx);
    if (taken) expect(line).toBe(general.ok ? bookLine(general.books[0] as never) : 'general path refuses');
  });
});
