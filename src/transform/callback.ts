import { bookFromObject } from './book.js';
import { formatUtcMicros } from './civil.js';
import { present, readTime, shown } from './fields.js';
import { describe, isPlainObject, type JsonObject, jsonText } from './message.js';
import { Rejection, reject } from './rejection.js';
import { tickFromObject } from './tick.js';
import {
  CALLBACK_TYPES,
  type CallbackRow,
  type CallbackType,
  type DecodeContext,
  type Decoded,
} from './types.js';

/** One of CALLBACK_TYPES; like the aggressor, any letter case is accepted and normalised to upper case. */
function readCallbackType(o: JsonObject): CallbackType {
  const v = o.type;
  if (!present(v)) return reject('missing_field', 'type', 'type is missing');
  if (typeof v === 'string') {
    const t = v.length <= 11 ? v.toUpperCase() : v; // 11: the longest type, PRICE_DEPTH
    for (const known of CALLBACK_TYPES) if (t === known) return known;
  }
  return reject('invalid_field', 'type', `type must be one of ${CALLBACK_TYPES.join(', ')}, got ${shown(v)}`);
}

const SKIP_REASON: Record<Exclude<CallbackType, 'TRADE'>, string> = {
  STATE: 'STATE callback: stored only, nothing consumes it yet',
  ORDER: 'ORDER callback: stored only, nothing consumes it yet',
  OFFER_BOOK: 'OFFER_BOOK callback: stored only, nothing consumes it yet',
  PRICE_DEPTH:
    'incremental PRICE_DEPTH update (payload lacks bids or asks): stored only, not a full snapshot',
};

/**
 * Routes a checked callback envelope: TRADE → tick, full PRICE_DEPTH → snapshot (PROCESSED), an
 * invalid TRADE/PRICE_DEPTH payload → FAILED with the reason, everything else SKIPPED with the reason.
 * Envelope errors (type, callbackTime, payload) reject the whole message.
 */
export function routeCallback(o: JsonObject, lossless: boolean, ctx: DecodeContext): Decoded {
  const callbackType = readCallbackType(o);
  const callbackTimeUs = readTime(o, 'callbackTime', ctx);
  const payload = o.payload;
  if (!present(payload)) return reject('missing_field', 'payload', 'payload is missing');
  if (!isPlainObject(payload))
    return reject('invalid_field', 'payload', `payload must be an object, got ${describe(payload)}`);

  const row: CallbackRow = {
    callbackType,
    payload: jsonText(payload, lossless),
    callbackTime: formatUtcMicros(callbackTimeUs),
    callbackTimeUs,
    status: 'PROCESSED',
    errorMessage: null,
  };
  const out: Decoded = { ok: true, ticks: [], books: [], callbacks: [row] };
  const fullBook = callbackType === 'PRICE_DEPTH' && present(payload.bids) && present(payload.asks);
  if (callbackType !== 'TRADE' && !fullBook) {
    row.status = 'SKIPPED';
    row.errorMessage = SKIP_REASON[callbackType];
    return out;
  }
  try {
    if (callbackType === 'TRADE') out.ticks.push(tickFromObject(payload, ctx, callbackTimeUs));
    else out.books.push(bookFromObject(payload, ctx, callbackTimeUs));
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    row.status = 'FAILED';
    row.errorMessage = `${callbackType} payload invalid: ${err.error.message}`;
  }
  return out;
}
