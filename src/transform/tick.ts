import { formatUtcMicros } from './civil.js';
import { readAggressor, readPositiveDecimal, readString, readTime, readTradeId } from './fields.js';
import type { JsonObject } from './message.js';
import type { DecodeContext, TickRow } from './types.js';

/** One trade from a market.ticks object or a TRADE callback payload (`tickTime` may then fall back). */
export function tickFromObject(o: JsonObject, ctx: DecodeContext, fallbackTimeUs?: number): TickRow {
  const symbol = readString(o, 'symbol', 50);
  const exchange = readString(o, 'exchange', 20, 'B3');
  const price = readPositiveDecimal(o, 'price');
  const volume = readPositiveDecimal(o, 'volume');
  const aggressor = readAggressor(o);
  const tickTimeUs = readTime(o, 'tickTime', ctx, fallbackTimeUs);
  const source = readString(o, 'source', 50, 'ProfitDLL');
  const tradeId = readTradeId(o);
  return {
    symbol,
    exchange,
    price,
    volume,
    aggressor,
    tickTime: formatUtcMicros(tickTimeUs),
    tickTimeUs,
    source,
    tradeId,
  };
}
