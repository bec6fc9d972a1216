import { createRequire } from 'node:module';
import type { KafkaMessage } from 'kafkajs';
import { packEach } from '../packed.js';
import type { PackedBytes, PackedMessages } from '../records.js';

/**
 * A record as the fetch response holds it: its key and value stay where they are in the fetched
 * bytes until asked for. kafkajs made ~16 objects of every record (a decoder, three buffer views,
 * 64-bit integers and their BigInts, header arrays, texts); their garbage was the largest share of
 * the worker's collection work. This is one object and the offset's text (kafkajs needs it to
 * filter a batch); the rest is made on demand, and `packFetched` copies the bytes without views.
 */
export class FetchedRecord {
  constructor(
    readonly bytes: Buffer,
    readonly keyAt: number,
    /** -1: a null key. */
    readonly keyLength: number,
    readonly valueAt: number,
    readonly valueLength: number,
    readonly offset: string,
    readonly timestampMs: number,
    readonly headers: Record<string, Buffer | null | (Buffer | null)[]>,
    readonly isControlRecord: boolean,
    readonly batchContext: BatchContext,
    readonly attributes: number,
  ) {}
  get key(): Buffer | null {
    return this.keyLength < 0 ? null : this.bytes.subarray(this.keyAt, this.keyAt + this.keyLength);
  }
  get value(): Buffer | null {
    return this.valueLength < 0 ? null : this.bytes.subarray(this.valueAt, this.valueAt + this.valueLength);
  }
  /** kafkajs gives the timestamp as text. */
  get timestamp(): string {
    return String(this.timestampMs);
  }
  get magicByte(): number {
    return MAGIC_RECORD_BATCH;
  }
}

/** A record batch's header fields, as kafkajs gives them with each record (64-bit ones as text). */
export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

/** A batch's messages packed, one copy of each key and value, straight from the fetched bytes. */
export function packFetched(messages: readonly KafkaMessage[]): PackedMessages {
  const n = messages.length;
  const offsets = new Array<string>(n);
  const timestampsMs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = messages[i] as KafkaMessage;
    offsets[i] = m.offset;
    timestampsMs[i] = m instanceof FetchedRecord ? m.timestampMs : Number(m.timestamp);
  }
  return { offsets, timestampsMs, keys: packField(messages, 'key'), values: packField(messages, 'value') };
}

function packField(messages: readonly KafkaMessage[], field: 'key' | 'value'): PackedBytes {
  const start = (r: FetchedRecord) => (field === 'key' ? r.keyAt : r.valueAt);
  const length = (r: FetchedRecord) => (field === 'key' ? r.keyLength : r.valueLength);
  return packEach(
    messages.length,
    (i) => {
      const m = messages[i] as KafkaMessage;
      return m instanceof FetchedRecord ? length(m) : (m[field]?.length ?? -1);
    },
    (i, data, offset) => {
      const m = messages[i] as KafkaMessage;
      // Buffer#copy with bounds copies natively, without a view of the source.
      if (m instanceof FetchedRecord) m.bytes.copy(data, offset, start(m), start(m) + length(m));
      else data.set(m[field] as Buffer, offset);
    },
  );
}

const MAGIC_RECORD_BATCH = 2;
/** Bytes of a record batch up to its first record (base offset … record count). */
const BATCH_HEADER = 61;
const TIMESTAMP_TYPE_FLAG = 0x8;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;
const NO_HEADERS: Record<string, never> = Object.freeze({});

interface KafkaDecoder {
  readInt32(): number;
  readBytes(n: number): Buffer;
  canReadBytes(n: number): boolean;
}
type Codec = { decompress(b: Buffer): Promise<Buffer> } | null;

/**
 * Makes kafkajs decode fetched record batches (magic 2) into `FetchedRecord`s. Its fetch responses
 * take the messages of a partition from one module (`decodeMessages`); that module's export is
 * replaced, and the responses that already hold the old one are loaded again. Legacy message sets
 * (magic 0 and 1) still take kafkajs's own decoder.
 */
export function leanFetchDecoding(): void {
  const req = createRequire(import.meta.url);
  const path = req.resolve('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');
  req(path);
  const module = req.cache[path] as NodeJS.Module & { exports: { [LEAN]?: true } };
  if (module.exports[LEAN]) return;
  const Decoder = req('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KafkaDecoder;
  const decodeMessageSet = req('kafkajs/src/protocol/messageSet/decoder.js') as (
    d: KafkaDecoder,
    size: number,
  ) => unknown[];
  const { lookupCodecByAttributes } = req('kafkajs/src/protocol/message/compression/index.js') as {
    lookupCodecByAttributes(attributes: number): Codec;
  };
  const decodeMessages = async (decoder: KafkaDecoder): Promise<unknown[]> => {
    const size = decoder.readInt32();
    if (size <= 0 || !decoder.canReadBytes(size)) return [];
    const bytes = decoder.readBytes(size);
    if (bytes.length <= 16 || bytes.readInt8(16) !== MAGIC_RECORD_BATCH)
      return decodeMessageSet(new Decoder(bytes), size);
    return decodeRecordBatches(bytes, lookupCodecByAttributes);
  };
  module.exports = Object.assign(decodeMessages, { [LEAN]: true as const });
  const fetchVersions = req.resolve('kafkajs/src/protocol/requests/fetch/index.js').replace(/index\.js$/, '');
  for (const loaded of Object.keys(req.cache))
    if (loaded.startsWith(fetchVersions) && loaded.endsWith('response.js')) delete req.cache[loaded];
}

const LEAN = Symbol.for('tick-ingest.leanFetchDecoding');

/**
 * Every complete record batch in a partition's fetched bytes (the last one may be cut short by the
 * fetch size: it is left for the next fetch, as kafkajs does).
 */
export async function decodeRecordBatches(
  bytes: Buffer,
  codecOf: (attributes: number) => Codec,
): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  let at = 0;
  while (bytes.length - at >= BATCH_HEADER) {
    const length = bytes.readInt32BE(at + 8);
    const end = at + 12 + length;
    if (end > bytes.length) break;
    const attributes = bytes.readInt16BE(at + 21);
    const context: BatchContext = {
      firstOffset: bytes.readBigInt64BE(at).toString(),
      firstTimestamp: bytes.readBigInt64BE(at + 27).toString(),
      partitionLeaderEpoch: bytes.readInt32BE(at + 12),
      inTransaction: (attributes & TRANSACTIONAL_FLAG) !== 0,
      isControlBatch: (attributes & CONTROL_FLAG) !== 0,
      lastOffsetDelta: bytes.readInt32BE(at + 23),
      producerId: bytes.readBigInt64BE(at + 43).toString(),
      producerEpoch: bytes.readInt16BE(at + 51),
      firstSequence: bytes.readInt32BE(at + 53),
      maxTimestamp: bytes.readBigInt64BE(at + 35).toString(),
      timestampType: (attributes & TIMESTAMP_TYPE_FLAG) !== 0 ? LOG_APPEND_TIME : CREATE_TIME,
      magicByte: MAGIC_RECORD_BATCH,
    };
    const count = bytes.readInt32BE(at + 57);
    const codec = codecOf(attributes);
    if (codec) {
      const plain = await codec.decompress(bytes.subarray(at + BATCH_HEADER, end));
      decodeRecords(plain, 0, count, context, records);
    } else decodeRecords(bytes, at + BATCH_HEADER, count, context, records);
    at = end;
  }
  return records;
}

/** Where the record reader is in its bytes (records are read synchronously, one batch at a time). */
let pos = 0;

function decodeRecords(
  bytes: Buffer,
  start: number,
  count: number,
  context: BatchContext,
  out: FetchedRecord[],
): void {
  const firstOffset = Number(context.firstOffset);
  const exactOffsets = Number.isSafeInteger(firstOffset + context.lastOffsetDelta);
  const appendTime = context.timestampType === LOG_APPEND_TIME ? Number(context.maxTimestamp) : undefined;
  const firstTimestamp = Number(context.firstTimestamp);
  pos = start;
  for (let k = 0; k < count; k++) {
    const length = readVarint(bytes);
    const next = pos + length;
    const attributes = bytes[pos++] as number;
    const timestampDelta = readVarint(bytes);
    const offsetDelta = readVarint(bytes);
    const keyLength = readVarint(bytes);
    const keyAt = pos;
    if (keyLength > 0) pos += keyLength;
    const valueLength = readVarint(bytes);
    const valueAt = pos;
    if (valueLength > 0) pos += valueLength;
    const headerCount = readVarint(bytes);
    const headers = headerCount > 0 ? readHeaders(bytes, headerCount) : NO_HEADERS;
    pos = next;
    out.push(
      new FetchedRecord(
        bytes,
        keyAt,
        keyLength,
        valueAt,
        valueLength,
        exactOffsets
          ? String(firstOffset + offsetDelta)
          : (BigInt(context.firstOffset) + BigInt(offsetDelta)).toString(),
        appendTime ?? firstTimestamp + timestampDelta,
        headers,
        context.isControlBatch,
        context,
        attributes,
      ),
    );
  }
}

/**
 * A zigzag varint or varlong, as a Number: exact up to 2^53, which every length, count and delta a
 * record carries is (a timestamp delta of 2^53 ms would be 285,000 years).
 */
function readVarint(bytes: Buffer): number {
  let unsigned = 0;
  let scale = 1;
  let byte: number;
  do {
    byte = bytes[pos++] as number;
    unsigned += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte >= 0x80 && scale < 2 ** 70);
  return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
}

/** Headers as kafkajs gives them: a key seen twice maps to an array of its values. */
function readHeaders(bytes: Buffer, count: number): Record<string, Buffer | null | (Buffer | null)[]> {
  const headers: Record<string, Buffer | null | (Buffer | null)[]> = {};
  for (let h = 0; h < count; h++) {
    const keyLength = readVarint(bytes);
    const key = bytes.toString('utf8', pos, pos + Math.max(0, keyLength));
    pos += Math.max(0, keyLength);
    const valueLength = readVarint(bytes);
    const value = valueLength < 0 ? null : bytes.subarray(pos, pos + valueLength);
    if (valueLength > 0) pos += valueLength;
    const seen = headers[key];
    headers[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return headers;
}
