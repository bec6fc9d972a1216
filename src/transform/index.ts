export { decodeBook, decodeCallback, decodeTick } from './decode.js';
export type {
  Aggressor,
  BookLevel,
  BookRow,
  CallbackRow,
  CallbackStatus,
  CallbackType,
  DecodeContext,
  Decoded,
  DecodeError,
  DecodeErrorCode,
  TickRow,
} from './types.js';
export { CALLBACK_TYPES } from './types.js';
