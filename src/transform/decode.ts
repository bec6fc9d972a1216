import { bookFromObject } from './book.js';
import { routeCallback } from './callback.js';
import { parseMessage } from './message.js';
import { Rejection } from './rejection.js';
import { tickFromObject } from './tick.js';
import type { DecodeContext, Decoded } from './types.js';

/** The three topic decoders: a Kafka message value in, rows or the reason it is invalid out. Pure; never throw on input. */

export function decodeTick(value: Buffer | null, ctx: DecodeContext): Decoded {
  try {
    const { object } = parseMessage(value);
    return { ok: true, ticks: [tickFromObject(object, ctx)], books: [], callbacks: [] };
  } catch (err) {
    return rejected(err);
  }
}

export function decodeBook(value: Buffer | null, ctx: DecodeContext): Decoded {
  try {
    const { object } = parseMessage(value);
    return { ok: true, ticks: [], books: [bookFromObject(object, ctx)], callbacks: [] };
  } catch (err) {
    return rejected(err);
  }
}

export function decodeCallback(value: Buffer | null, ctx: DecodeContext): Decoded {
  try {
    const { object, lossless } = parseMessage(value, true);
    return routeCallback(object, lossless, ctx);
  } catch (err) {
    return rejected(err);
  }
}

function rejected(err: unknown): Decoded {
  if (err instanceof Rejection) return { ok: false, error: err.error };
  throw err;
}
