import type { DecodeError, DecodeErrorCode } from './types.js';

/**
 * Thrown by the field readers, caught by the decoders and turned into `{ ok: false }`.
 * Not an Error: invalid input is routine, so no stack trace is captured.
 */
export class Rejection {
  constructor(readonly error: DecodeError) {}
}

export function reject(code: DecodeErrorCode, field: string | undefined, message: string): never {
  throw new Rejection(field === undefined ? { code, message } : { code, field, message });
}
