import type { CopyRowsBuilder } from '../copy-rows.js';
import { formatUtcMicros, utcSecondPrefix } from './civil.js';
import { bookLineWithSides, COPY_NULL, levelJson } from './copy-format.js';
import { isDecimalFailure, MAX_INTEGER_DIGITS, MAX_SCALE, parseDecimal } from './decimal.js';
import { timeMisfit } from './fields.js';
import { parseTimestamp } from './timestamp.js';
import type { Aggressor, BookRow, DecodeContext, TickRow } from './types.js';

/**
 * The fast path of the two hot topics: scans a market.ticks or market.book message straight into
 * its COPY line, without JSON.parse and without an object per field. It takes only the common
 * shape and answers null on anything else, valid or not; the general path (decodeTick/decodeBook)
 * then decides, so every invalid verdict, and every unusual valid message, is the general path's.
 *
 * The common shape: one flat object of the topic's known keys, each at most once, JSON whitespace
 * between tokens; strings of printable ASCII without escapes (no NUL, no UTF-8 question, no escape
 * question, and COPY text needs no escaping); numbers of at most 15 digits and 2 exponent digits,
 * so a double holds them exactly and the general path's String(number) is the same decimal as
 * their text (trade numbers: plain integers of up to 18 digits); null; book levels {price, volume}
 * and nothing else; the bids before the asks. Whatever it accepts, the general
 * path accepts with the same row: test/unit/transform-fast-scan.test.ts holds it to that.
 */

const STRING = 1;
const NUMBER = 2;
const NULL = 3;
const SIDE = 4;

/** A double holds every decimal of this many digits exactly (DBL_DIG). */
const MAX_NUMBER_DIGITS = 15;
/**
 * Integers of this many digits are always within bigint (the general path checks the range with
 * BigInt). As JSON numbers, 16 to 18 digits make the general path read the message's numbers as
 * their text (parseMessage's hasLongNumber), so both paths see the same digits.
 */
const MAX_TRADE_ID_DIGITS = 18;
/** Sums of this many 10-digit volumes stay exact in a double. */
const MAX_LEVELS = 10_000;
const FRACTION_SCALE = 1e8;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

const TICK_KEYS = ['symbol', 'exchange', 'price', 'volume', 'aggressor', 'tickTime', 'source', 'tradeId'];
const [T_SYMBOL, T_EXCHANGE, T_PRICE, T_VOLUME, T_AGGRESSOR, T_TIME, T_SOURCE, T_TRADE_ID] = [
  0, 1, 2, 3, 4, 5, 6, 7,
] as const;
const BOOK_KEYS = ['symbol', 'exchange', 'snapshotTime', 'bids', 'asks'];
const [B_SYMBOL, B_EXCHANGE, B_TIME, B_BIDS, B_ASKS] = [0, 1, 2, 3, 4] as const;
const LEVEL_KEYS = ['price', 'volume'];
// A level's jsonb text around its two decimals, as copy-format writes it.
const [LEVEL_OPEN, LEVEL_MIDDLE, LEVEL_CLOSE] = levelJson('\u0000', '\u0000').split('\u0000') as [
  string,
  string,
  string,
];

// Bytes are read as b[i], also past the end: undefined there, which no test below matches.
// (b[i] itself: a helper function around it costs a third of the scan.)
const isDigit = (c: number | undefined) => (c as number) >= 48 && (c as number) <= 57;
// Most bytes are above 32: one test for them.
const isWhitespace = (c: number | undefined) =>
  (c as number) <= 32 && (c === 32 || c === 10 || c === 13 || c === 9);

/**
 * Bytes as a latin1 string: Buffer's own latin1Slice (what toString('latin1') ends in, without
 * its argument handling, measurably cheaper per message), a flat string.
 */
const latin1 = (b: Buffer, start: number, end: number): string =>
  (b as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);

/** An exact decimal of numeric(18,8) split into integer part and fraction × 10^8, both exact doubles. */
interface Split {
  int: number;
  frac: number;
}

/** Decimal text of int + frac / 10^8, as fromScaled writes it (no trailing fractional zeros). */
function splitText(int: number, frac: number): string {
  if (frac === 0) return String(int);
  let digits = String(frac + FRACTION_SCALE).slice(1);
  let end = digits.length;
  while (digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  return `${int}.${digits}`;
}

/** The values of a tick the bars and trade numbers need. */
export type TickValues = Pick<TickRow, 'symbol' | 'exchange' | 'price' | 'volume' | 'tickTimeUs' | 'tradeId'>;

const TAB = 9;
/** The longest tick line the fast path writes: symbol 50, exchange 20, two decimals of 27, time 32, source 50, trade 18, aggressor and separators. */
const MAX_TICK_LINE = 256;

/**
 * One scanner per batch (it keeps scratch state between messages; not reentrant).
 * scanTick() writes the row's COPY line (values in `tick`) and answers true, or false; scanBook()
 * returns the row's COPY line (values in `book`), or null.
 */
export class FastScanner {
  /** The last accepted tick; overwritten by the next call. */
  readonly tick: TickValues = {
    symbol: '',
    exchange: '',
    price: '',
    volume: '',
    tickTimeUs: 0,
    tradeId: null,
  };
  /** The last accepted book, sides as jsonb text. */
  readonly book: Omit<BookRow, 'bids' | 'asks'> = {
    symbol: '',
    exchange: '',
    bestBid: '',
    bestAsk: '',
    spread: '',
    totalBidVolume: '',
    totalAskVolume: '',
    snapshotTime: '',
    snapshotTimeUs: 0,
  };

  /** The message, and as latin1 text (all ASCII when accepted) that fields are sliced from. */
  private b: Buffer = Buffer.alloc(0);
  private s = '';
  /** Tokens of the top-level keys, by key index (kind 0: absent). */
  private readonly slots: Token[] = Array.from({ length: 8 }, newToken);
  private readonly scratch: Split = { int: 0, frac: 0 };
  // One book side as scanned: its jsonb text, best price and total volume.
  private asksJson = '';
  private readonly best: Split = { int: 0, frac: 0 };
  private readonly total: Split = { int: 0, frac: 0 };
  private readonly level: Split = { int: 0, frac: 0 };
  private readonly prev: Split = { int: 0, frac: 0 };
  private readonly bestBid: Split = { int: 0, frac: 0 };
  private bestBidText = '';
  // A level's two value tokens, and the output scratch its side's jsonb text is written into.
  private readonly price = newToken();
  private readonly volume = newToken();
  private out = Buffer.allocUnsafe(4096);
  private outLen = 0;
  private totalBidText = '';
  private bidsJson = '';

  /**
   * A market.ticks message of the common shape: its COPY line written to `out` (as tickLine writes
   * it, without making the string), from message `message`. False, with nothing written, otherwise.
   */
  scanTick(value: Buffer, ctx: DecodeContext, out: CopyRowsBuilder, message: number): boolean {
    if (!this.scanObject(value, TICK_KEYS, -1, -1)) return false;
    const t = this.tick;
    const symbol = this.text(T_SYMBOL, 50, null);
    const exchange = this.text(T_EXCHANGE, 20, 'B3');
    const source = this.text(T_SOURCE, 50, 'ProfitDLL');
    if (symbol === null || exchange === null || source === null) return false;
    const price = this.decimal(this.slots[T_PRICE] as Token, this.scratch);
    const volume = this.decimal(this.slots[T_VOLUME] as Token, this.scratch);
    if (price === null || volume === null) return false;
    const aggressor = this.aggressor();
    if (aggressor === null) return false;
    const us = this.time(T_TIME, ctx);
    if (us < 0) return false;
    const tradeId = this.tradeId();
    if (tradeId === undefined) return false;
    t.symbol = symbol;
    t.exchange = exchange;
    t.price = price;
    t.volume = volume;
    t.tickTimeUs = us;
    t.tradeId = tradeId;
    // Printable ASCII without backslashes throughout (the common shape): nothing to escape.
    out.begin(message, MAX_TICK_LINE);
    out.ascii(symbol);
    out.byte(TAB);
    out.ascii(exchange);
    out.byte(TAB);
    out.ascii(price);
    out.byte(TAB);
    out.ascii(volume);
    out.byte(TAB);
    out.ascii(aggressor);
    out.byte(TAB);
    const sec = Math.floor(us / 1e6);
    out.ascii(utcSecondPrefix(sec));
    out.digits(us - sec * 1e6, 6);
    out.ascii('+00');
    out.byte(TAB);
    out.ascii(source);
    out.byte(TAB);
    out.ascii(tradeId ?? COPY_NULL);
    out.end();
    return true;
  }

  /** The COPY line of a market.book message of the common shape, or null. */
  scanBook(value: Buffer, ctx: DecodeContext): string | null {
    if (!this.scanObject(value, BOOK_KEYS, B_BIDS, B_ASKS)) return null;
    if ((this.slots[B_ASKS] as Token).kind !== SIDE) return null; // (the bids come first)
    const symbol = this.text(B_SYMBOL, 50, null);
    const exchange = this.text(B_EXCHANGE, 20, 'B3');
    if (symbol === null || exchange === null) return null;
    const us = this.time(B_TIME, ctx);
    if (us < 0) return null;
    const r = this.book;
    r.symbol = symbol;
    r.exchange = exchange;
    r.snapshotTimeUs = us;
    r.snapshotTime = formatUtcMicros(us);
    return bookLineWithSides(r, this.bidsJson, this.asksJson);
  }

  /**
   * Scans one flat object of `keys` into the token slots (kind 0: absent). The values of keys
   * `bidsKey` and `asksKey` are book sides, scanned and checked as they come (slot kind SIDE once
   * done). False on anything outside the common shape.
   */
  private scanObject(value: Buffer, keys: readonly string[], bidsKey: number, asksKey: number): boolean {
    const b = value;
    // Fields are sliced from one string of the whole message: one call into the runtime, not one per field.
    this.b = value;
    this.s = latin1(value, 0, value.length);
    const slots = this.slots;
    for (const slot of slots) slot.kind = 0;
    let i = skipWs(b, 0);
    if (b[i] !== 123) return false;
    i = skipWs(b, i + 1);
    for (;;) {
      if (b[i] !== 34) return false;
      const keyEnd = stringEnd(b, i + 1);
      if (keyEnd < 0) return false;
      const k = keyIndex(b, i + 1, keyEnd, keys);
      if (k < 0) return false; // unknown
      const slot = slots[k] as Token;
      if (slot.kind !== 0) return false; // repeated
      i = skipWs(b, keyEnd + 1);
      if (b[i] !== 58) return false;
      i = skipWs(b, i + 1);
      if (k === bidsKey || k === asksKey) {
        // The asks are judged against the best bid: asks first is rare, left to the general path.
        if (k === asksKey && (slots[bidsKey] as Token).kind === 0) return false;
        i = this.side(b, i, k === bidsKey);
        if (i < 0) return false;
        slot.kind = SIDE;
      } else {
        i = scalar(b, i, slot);
        if (i < 0) return false;
      }
      i = skipWs(b, i);
      const c = b[i++];
      if (c === 125) break;
      if (c !== 44) return false;
      i = skipWs(b, i);
    }
    return skipWs(b, i) === b.length;
  }

  /** A string field of 1..maxChars characters (ASCII here), `fallback` when absent or null, else null. */
  private text(k: number, maxChars: number, fallback: string | null): string | null {
    const t = this.slots[k] as Token;
    if (t.kind === 0 || t.kind === NULL) return fallback;
    const len = t.end - t.start;
    if (t.kind !== STRING || len === 0 || len > maxChars) return null;
    return this.s.slice(t.start, t.end);
  }

  /** Canonical text of a decimal token > 0 fitting numeric(18,8), its value into `into`; or null. */
  private decimal(t: Token, into: Split): string | null {
    const end = plainDecimal(this.b, t, into);
    if (end >= 0) return this.s.slice(t.start, end);
    if (t.kind !== STRING && !(t.kind === NUMBER && t.digits <= MAX_NUMBER_DIGITS)) return null;
    const d = parseDecimal(this.s.slice(t.start, t.end));
    if (isDecimalFailure(d) || d === '0') return null;
    split(d, into);
    return d;
  }

  private aggressor(): Aggressor | null {
    const t = this.slots[T_AGGRESSOR] as Token;
    if (t.kind !== STRING) return null;
    const len = t.end - t.start;
    if (len === 3 && this.caseless(t.start, 'BUY')) return 'BUY';
    if (len === 4 && this.caseless(t.start, 'SELL')) return 'SELL';
    if (len === 7 && this.caseless(t.start, 'NEUTRAL')) return 'NEUTRAL';
    return null;
  }

  /** Whether the text at `start` is `upper` in any ASCII letter case. */
  private caseless(start: number, upper: string): boolean {
    for (let k = 0; k < upper.length; k++) {
      const c = this.s.charCodeAt(start + k);
      if (c !== upper.charCodeAt(k) && c !== upper.charCodeAt(k) + 32) return false;
    }
    return true;
  }

  /** µs since the epoch of an acceptable timestamp string, or -1. */
  private time(k: number, ctx: DecodeContext): number {
    const t = this.slots[k] as Token;
    if (t.kind !== STRING) return -1;
    // A string of its own, not a slice of the message's: parseTimestamp reads it char by char.
    const us = parseTimestamp(latin1(this.b, t.start, t.end), ctx.timeZone);
    return typeof us === 'number' && timeMisfit(us, ctx) === null ? us : -1;
  }

  /** Canonical trade number, null when absent, undefined when not of the common shape. */
  private tradeId(): string | null | undefined {
    const { kind, start, end, plainInteger } = this.slots[T_TRADE_ID] as Token;
    if (kind === 0 || kind === NULL) return null;
    if (kind === NUMBER) return plainInteger ? this.s.slice(start, end) : undefined;
    if (end - start > MAX_TRADE_ID_DIGITS || end === start) return undefined;
    let first = start;
    for (let j = start; j < end; j++) {
      const c = this.s.charCodeAt(j);
      if (!isDigit(c)) return undefined;
      if (c === 48 && first === j && j < end - 1) first++;
    }
    return this.s.slice(first, end);
  }

  /** Appends ASCII text to the output scratch (reserve() made room). */
  private write(text: string): void {
    const out = this.out;
    let n = this.outLen;
    for (let k = 0; k < text.length; k++) out[n++] = text.charCodeAt(k);
    this.outLen = n;
  }

  /** Room for one more level: its keys and two decimals of at most 10 + 1 + 8 characters. */
  private reserve(): void {
    if (this.outLen + 64 <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(this.out.length * 2);
    this.out.copy(bigger, 0, 0, this.outLen);
    this.out = bigger;
  }

  /** Writes the canonical text of a decimal token > 0 and puts its value into `into`; false if not acceptable. */
  private writeDecimal(b: Uint8Array, t: Token, into: Split): boolean {
    const end = plainDecimal(b, t, into);
    if (end < 0) {
      const d = this.decimal(t, into);
      if (d === null) return false;
      this.write(d);
      return true;
    }
    const out = this.out;
    let n = this.outLen;
    for (let k = t.start; k < end; k++) out[n++] = b[k] as number;
    this.outLen = n;
    return true;
  }

  /**
   * A book side at `from` ('['): levels {price, volume}, best first, strictly ordered, checked and
   * summed as they come. Bids are kept for the line; asks are checked against the best bid.
   * Returns the index after the side, or -1.
   */
  private side(b: Uint8Array, from: number, bids: boolean): number {
    if (b[from] !== 91) return -1;
    let i = skipWs(b, from + 1);
    const price = this.price;
    const volume = this.volume;
    const level = this.level;
    const prev = this.prev;
    const total = this.total;
    total.int = 0;
    total.frac = 0;
    this.outLen = 0;
    this.write('[');
    let count = 0;
    let bestStart = 0;
    let bestEnd = 0;
    for (;;) {
      if (b[i] !== 123) return -1; // also an empty side
      i = skipWs(b, i + 1);
      price.kind = 0;
      volume.kind = 0;
      for (;;) {
        if (b[i] !== 34) return -1;
        const keyEnd = stringEnd(b, i + 1);
        if (keyEnd < 0) return -1;
        const k = keyIndex(b, i + 1, keyEnd, LEVEL_KEYS);
        i = skipWs(b, keyEnd + 1);
        if (k < 0 || b[i] !== 58) return -1;
        const into = k === 0 ? price : volume;
        if (into.kind !== 0) return -1; // repeated
        i = scalar(b, skipWs(b, i + 1), into);
        if (i < 0) return -1;
        i = skipWs(b, i);
        const c = b[i++];
        if (c === 125) break;
        if (c !== 44) return -1;
        i = skipWs(b, i);
      }
      if (++count > MAX_LEVELS) return -1;
      this.reserve();
      this.write(count === 1 ? LEVEL_OPEN : `,${LEVEL_OPEN}`);
      const priceStart = this.outLen;
      if (!this.writeDecimal(b, price, level)) return -1;
      if (count === 1) {
        this.best.int = level.int;
        this.best.frac = level.frac;
        bestStart = priceStart;
        bestEnd = this.outLen;
      } else {
        const order = compare(level, prev);
        if (bids ? order >= 0 : order <= 0) return -1;
      }
      prev.int = level.int;
      prev.frac = level.frac;
      this.write(LEVEL_MIDDLE);
      if (!this.writeDecimal(b, volume, level)) return -1;
      total.int += level.int;
      total.frac += level.frac;
      this.write(LEVEL_CLOSE);
      i = skipWs(b, i);
      const c = b[i++];
      if (c === 93) break;
      if (c !== 44) return -1;
      i = skipWs(b, i);
    }
    this.write(']');
    const json = this.out.toString('latin1', 0, this.outLen);
    const bestText = json.slice(bestStart, bestEnd);
    const carry = Math.floor(total.frac / FRACTION_SCALE);
    const totalText = splitText(total.int + carry, total.frac - carry * FRACTION_SCALE);
    if (bids) {
      this.bidsJson = json;
      this.bestBidText = bestText;
      this.totalBidText = totalText;
      this.bestBid.int = this.best.int;
      this.bestBid.frac = this.best.frac;
      return i;
    }
    // Asks come after the bids (scanObject makes sure): the book is complete.
    const bid = this.bestBid;
    const ask = this.best;
    if (compare(bid, ask) > 0) return -1; // crossed: invalid
    let int = ask.int - bid.int;
    let frac = ask.frac - bid.frac;
    if (frac < 0) {
      frac += FRACTION_SCALE;
      int--;
    }
    const r = this.book;
    r.bestBid = this.bestBidText;
    r.bestAsk = bestText;
    r.spread = splitText(int, frac);
    r.totalBidVolume = this.totalBidText;
    r.totalAskVolume = totalText;
    this.asksJson = json;
    return i;
  }
}

/** The last scalar token: kind, span (a string's without its quotes), a number's digits and plain-integer-ness. */
interface Token {
  kind: number;
  start: number;
  end: number;
  digits: number;
  plainInteger: boolean;
}

function skipWs(b: Uint8Array, from: number): number {
  let i = from;
  while (isWhitespace(b[i])) i++;
  return i;
}

// What a byte is inside a string: printable ASCII but '"' and '\\' is plain, the rest ends the fast path.
const PLAIN = 0;
const QUOTE = 1;
const STRING_BYTE = new Uint8Array(256).fill(2);
STRING_BYTE.fill(PLAIN, 32, 127);
STRING_BYTE[34] = QUOTE;
STRING_BYTE[92] = 2;

/** Index of the closing quote of a string whose text starts at `from`: printable ASCII without escapes only; else -1. */
function stringEnd(b: Uint8Array, from: number): number {
  const n = b.length;
  for (let j = from; j < n; j++) {
    const c = STRING_BYTE[b[j] as number]; // j < n
    if (c !== PLAIN) return c === QUOTE ? j : -1;
  }
  return -1;
}

/**
 * End of a JSON number at `from`, within MAX_NUMBER_DIGITS digits or, for a plain integer,
 * MAX_TRADE_ID_DIGITS, exponents of 1..2 digits; its digits and plainness into `tok`; else -1.
 */
function numberEnd(b: Uint8Array, from: number, tok: Token): number {
  let j = from;
  let plain = true;
  if (b[j] === 45) {
    j++;
    plain = false;
  }
  const intStart = j;
  if (b[j] === 48) j++;
  else while (isDigit(b[j])) j++;
  let digits = j - intStart;
  if (digits === 0) return -1;
  if (b[j] === 46) {
    const fracStart = ++j;
    while (isDigit(b[j])) j++;
    if (j === fracStart) return -1;
    digits += j - fracStart;
    plain = false;
  }
  if (((b[j] as number) | 32) === 101) {
    j++;
    const sign = b[j];
    if (sign === 43 || sign === 45) j++;
    const expStart = j;
    while (isDigit(b[j])) j++;
    if (j === expStart || j - expStart > 2) return -1;
    plain = false;
  }
  if (digits > (plain ? MAX_TRADE_ID_DIGITS : MAX_NUMBER_DIGITS)) return -1;
  tok.digits = digits;
  tok.plainInteger = plain;
  return j;
}

/** A scalar at `from` (string, number or null) into `tok`; the index after it, or -1. */
function scalar(b: Uint8Array, from: number, tok: Token): number {
  const c = b[from];
  if (c === 34) {
    const end = stringEnd(b, from + 1);
    tok.kind = STRING;
    tok.start = from + 1;
    tok.end = end;
    return end < 0 ? -1 : end + 1;
  }
  if (c === 45 || isDigit(c)) {
    const end = numberEnd(b, from, tok);
    tok.kind = NUMBER;
    tok.start = from;
    tok.end = end;
    return end;
  }
  if (c === 110 && b[from + 1] === 117 && b[from + 2] === 108 && b[from + 3] === 108) {
    tok.kind = NULL;
    return from + 4;
  }
  return -1;
}

/** Index in `keys` of the text b[start, end), or -1. */
function keyIndex(b: Uint8Array, start: number, end: number, keys: readonly string[]): number {
  const len = end - start;
  next: for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    if (key.length !== len) continue;
    for (let j = 0; j < len; j++) if (b[start + j] !== key.charCodeAt(j)) continue next;
    return k;
  }
  return -1;
}

const newToken = (): Token => ({ kind: 0, start: 0, end: 0, digits: 0, plainInteger: false });

/**
 * A decimal token of the plain form (digits, maybe a fraction; no leading zero, sign or exponent)
 * that is > 0 and fits numeric(18,8): its value into `into` and the end of its canonical text
 * (the token without trailing fractional zeros). Else -1: the general decimal reader decides.
 */
function plainDecimal(b: Uint8Array, t: Token, into: Split): number {
  const { start, end } = t;
  if (t.kind !== STRING && !(t.kind === NUMBER && t.digits <= MAX_NUMBER_DIGITS)) return -1;
  let j = start;
  let int = 0;
  while (j < end && isDigit(b[j])) int = int * 10 + (b[j++] as number) - 48;
  const intLen = j - start;
  if (intLen === 0 || intLen > MAX_INTEGER_DIGITS || (b[start] === 48 && intLen > 1)) return -1;
  let fracEnd = j;
  if (j < end) {
    if (b[j] !== 46 || j + 1 === end) return -1;
    for (let k = j + 1; k < end; k++) if (!isDigit(b[k])) return -1;
    fracEnd = end;
    while (fracEnd > j + 1 && b[fracEnd - 1] === 48) fracEnd--;
    if (fracEnd === j + 1) fracEnd = j; // all zeros: no fraction
  }
  const fracDigits = fracEnd === j ? 0 : fracEnd - j - 1;
  if (fracDigits > MAX_SCALE) return -1;
  let frac = 0;
  for (let k = j + 1; k < fracEnd; k++) frac = frac * 10 + (b[k] as number) - 48;
  frac *= POW10[MAX_SCALE - fracDigits] as number;
  if (int === 0 && frac === 0) return -1; // zero
  into.int = int;
  into.frac = frac;
  return fracEnd;
}

/** Splits a canonical decimal ("30.12", "100", "0.5") of numeric(18,8) into `out`. */
function split(canonical: string, out: Split): void {
  let int = 0;
  let k = 0;
  const n = canonical.length;
  for (; k < n; k++) {
    const c = canonical.charCodeAt(k);
    if (c === 46) break;
    int = int * 10 + c - 48;
  }
  let frac = 0;
  let fracDigits = 0;
  for (k++; k < n; k++, fracDigits++) frac = frac * 10 + canonical.charCodeAt(k) - 48;
  out.int = int;
  out.frac = fracDigits === 0 ? 0 : frac * (POW10[8 - fracDigits] as number);
}

const compare = (a: Split, b: Split) => (a.int !== b.int ? a.int - b.int : a.frac - b.frac);
