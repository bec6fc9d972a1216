import { formatUtcMicros } from './civil.js';
import { fromScaled, toScaled } from './decimal.js';
import { present, readPositiveDecimal, readString, readTime } from './fields.js';
import { describe, isPlainObject, type JsonObject } from './message.js';
import { reject } from './rejection.js';
import type { BookLevel, BookRow, DecodeContext } from './types.js';

interface Side {
  levels: BookLevel[];
  best: bigint;
  total: bigint;
}

/**
 * Reads one side, best level first: bids strictly descending, asks strictly ascending.
 * Two levels at one price are out of order too: an L2 snapshot aggregates each price into one level.
 */
function readSide(o: JsonObject, field: 'bids' | 'asks'): Side {
  const v = o[field];
  if (!present(v)) return reject('missing_field', field, `${field} is missing`);
  if (!Array.isArray(v))
    return reject('invalid_field', field, `${field} must be an array of {price, volume}, got ${describe(v)}`);
  if (v.length === 0) return reject('invalid_book', field, `${field} is empty (a snapshot needs both sides)`);
  const levels: BookLevel[] = new Array(v.length);
  let best = 0n;
  let prev = 0n;
  let total = 0n;
  for (let k = 0; k < v.length; k++) {
    const level = v[k];
    const path = `${field}[${k}]`;
    if (!isPlainObject(level))
      return reject(
        'invalid_field',
        path,
        `${path} must be an object {price, volume}, got ${describe(level)}`,
      );
    const price = readPositiveDecimal(level, 'price', `${path}.price`);
    const volume = readPositiveDecimal(level, 'volume', `${path}.volume`);
    const p = toScaled(price);
    if (k === 0) best = p;
    else if (field === 'bids' ? p >= prev : p <= prev) {
      const order =
        field === 'bids'
          ? 'strictly descending (best, highest, first)'
          : 'strictly ascending (best, lowest, first)';
      return reject(
        'invalid_book',
        `${path}.price`,
        `${field} must be ${order}: ${price} follows ${fromScaled(prev)}`,
      );
    }
    prev = p;
    total += toScaled(volume);
    levels[k] = { price, volume };
  }
  return { levels, best, total };
}

/**
 * One L2 snapshot from a market.book object or a PRICE_DEPTH payload (`snapshotTime` may then fall back).
 * Best prices, spread and totals are computed here exactly; producer-sent aggregates are ignored.
 * A crossed book (best bid above best ask) is invalid; a locked one (equal) is kept with spread 0,
 * as B3 auctions show it. Totals cannot overflow numeric(18,2): that would take a million levels.
 */
export function bookFromObject(o: JsonObject, ctx: DecodeContext, fallbackTimeUs?: number): BookRow {
  const symbol = readString(o, 'symbol', 50);
  const exchange = readString(o, 'exchange', 20, 'B3');
  const snapshotTimeUs = readTime(o, 'snapshotTime', ctx, fallbackTimeUs);
  const bids = readSide(o, 'bids');
  const asks = readSide(o, 'asks');
  if (bids.best > asks.best) {
    return reject(
      'invalid_book',
      'bids[0].price',
      `crossed book: best bid ${fromScaled(bids.best)} > best ask ${fromScaled(asks.best)}`,
    );
  }
  // Sides are never empty here.
  const bestBid = (bids.levels[0] as BookLevel).price;
  const bestAsk = (asks.levels[0] as BookLevel).price;
  return {
    symbol,
    exchange,
    bids: bids.levels,
    asks: asks.levels,
    bestBid,
    bestAsk,
    spread: fromScaled(asks.best - bids.best),
    totalBidVolume: fromScaled(bids.total),
    totalAskVolume: fromScaled(asks.total),
    snapshotTime: formatUtcMicros(snapshotTimeUs),
    snapshotTimeUs,
  };
}
