import { createRequire } from 'node:module';
import type { KafkaMessage } from 'kafkajs';
import { packEach } from '../packed.js';
import type { PackedBytes, PackedMessages } from '../records.js';

type Headers = Record<string, Buffer | null | (Buffer | null)[]>;

/**
 * The records read from one buffer (a partition's fetched batches, or one decompressed batch),
 * field by field in typed arrays: their keys and values stay where they are in the bytes.
 */
class FetchedPart {
  readonly keyAt: Int32Array;
  /** -1: a null key. */
  readonly keyLength: Int32Array;
  readonly valueAt: Int32Array;
  readonly valueLength: Int32Array;
  readonly timestampsMs: Float64Array;
  /** Offset - its batch's first offset (a record's offset delta, an int32 in the protocol). */
  readonly offsetDeltas: Int32Array;
  readonly attributes: Uint8Array;
  /** Each record's batch header, by its index in `batchHeaders`. */
  readonly batchOf: Int32Array;
  readonly batchHeaders: RecordBatchHeader[] = [];
  /** Each batch's first offset as a Number, NaN when an offset of the batch is past 2^53 - 1. */
  readonly batchFirstOffsets: number[] = [];
  /** The few records that carry headers. */
  readonly headers = new Map<number, Headers>();
  length = 0;

  constructor(
    readonly bytes: Buffer,
    capacity: number,
  ) {
    this.keyAt = new Int32Array(capacity);
    this.keyLength = new Int32Array(capacity);
    this.valueAt = new Int32Array(capacity);
    this.valueLength = new Int32Array(capacity);
    this.timestampsMs = new Float64Array(capacity);
    this.offsetDeltas = new Int32Array(capacity);
    this.attributes = new Uint8Array(capacity);
    this.batchOf = new Int32Array(capacity);
  }
}

/**
 * A fetched record as kafkajs's consumer sees it. kafkajs made ~16 objects of every record (a
 * decoder, three buffer views, 64-bit integers and their BigInts, header arrays, texts), and a
 * fetch's records live until each partition's batch is handed over, so every young-generation
 * collection in between copied them: their garbage and their survival were most of the worker's
 * collection work. This is one small object; the fields live in the part's typed arrays, the key
 * and value in the fetched bytes, made only on demand (`packFetched` copies the bytes without
 * them), as is the offset's text (kafkajs filters a batch by it, then drops it).
 */
export class FetchedRecord {
  constructor(
    readonly part: FetchedPart,
    readonly index: number,
  ) {}
  get offset(): string {
    return String(this.offsetValue);
  }
  /** The offset, exact: a Number when it is a safe integer, else a BigInt. */
  get offsetValue(): number | bigint {
    const { part, index } = this;
    const batch = part.batchOf[index] as number;
    const delta = part.offsetDeltas[index] as number;
    const first = part.batchFirstOffsets[batch] as number;
    if (!Number.isNaN(first)) return first + delta;
    return BigInt((part.batchHeaders[batch] as RecordBatchHeader).firstOffset) + BigInt(delta);
  }
  get key(): Buffer | null {
    return bytesAt(
      this.part.bytes,
      this.part.keyAt[this.index] as number,
      this.part.keyLength[this.index] as number,
    );
  }
  get value(): Buffer | null {
    return bytesAt(
      this.part.bytes,
      this.part.valueAt[this.index] as number,
      this.part.valueLength[this.index] as number,
    );
  }
  get timestampMs(): number {
    return this.part.timestampsMs[this.index] as number;
  }
  /** kafkajs gives the timestamp as text. */
  get timestamp(): string {
    return String(this.timestampMs);
  }
  get headers(): Headers {
    return this.part.headers.get(this.index) ?? NO_HEADERS;
  }
  get batchContext(): RecordBatchHeader {
    return this.part.batchHeaders[this.part.batchOf[this.index] as number] as RecordBatchHeader;
  }
  get isControlRecord(): boolean {
    return this.batchContext.isControlBatch;
  }
  get attributes(): number {
    return this.part.attributes[this.index] as number;
  }
  get magicByte(): number {
    return MAGIC_RECORD_BATCH;
  }
}

const bytesAt = (bytes: Buffer, at: number, length: number) =>
  length < 0 ? null : bytes.subarray(at, at + length);

/** A record batch's header fields, as kafkajs gives them with each record (its `batchContext`; 64-bit ones as text). */
export interface RecordBatchHeader {
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
  const offsets = new BigInt64Array(n);
  const timestampsMs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = messages[i] as KafkaMessage;
    offsets[i] = BigInt(m instanceof FetchedRecord ? m.offsetValue : m.offset);
    timestampsMs[i] = m instanceof FetchedRecord ? m.timestampMs : Number(m.timestamp);
  }
  return { offsets, timestampsMs, keys: packField(messages, 'key'), values: packField(messages, 'value') };
}

function packField(messages: readonly KafkaMessage[], field: 'key' | 'value'): PackedBytes {
  const at = (p: FetchedPart) => (field === 'key' ? p.keyAt : p.valueAt);
  const length = (p: FetchedPart) => (field === 'key' ? p.keyLength : p.valueLength);
  return packEach(
    messages.length,
    (i) => {
      const m = messages[i] as KafkaMessage;
      return m instanceof FetchedRecord ? (length(m.part)[m.index] as number) : (m[field]?.length ?? -1);
    },
    (i, data, offset) => {
      const m = messages[i] as KafkaMessage;
      if (m instanceof FetchedRecord) {
        const start = at(m.part)[m.index] as number;
        // Buffer#copy with bounds copies natively, without a view of the source.
        m.part.bytes.copy(data, offset, start, start + (length(m.part)[m.index] as number));
      } else data.set(m[field] as Buffer, offset);
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
const NO_HEADERS: Headers = Object.freeze({});

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
  // The complete batches; the records of the uncompressed ones stay in `bytes`, one part for all.
  const starts: number[] = [];
  let plainRecords = 0;
  for (let at = 0; bytes.length - at >= BATCH_HEADER; ) {
    const end = batchEnd(bytes, at);
    if (end > bytes.length) break;
    starts.push(at);
    if (!codecOf(bytes.readInt16BE(at + 21))) plainRecords += bytes.readInt32BE(at + 57);
    at = end;
  }
  const plain = new FetchedPart(bytes, plainRecords);
  const records: FetchedRecord[] = [];
  for (const at of starts) {
    const attributes = bytes.readInt16BE(at + 21);
    const batch: RecordBatchHeader = {
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
      const decompressed = await codec.decompress(bytes.subarray(at + BATCH_HEADER, batchEnd(bytes, at)));
      decodeRecords(new FetchedPart(decompressed, count), 0, count, batch, records);
    } else decodeRecords(plain, at + BATCH_HEADER, count, batch, records);
  }
  return records;
}

/** Where the record batch at `at` ends: its base offset and length fields, then `length` bytes. */
const batchEnd = (bytes: Buffer, at: number) => at + 12 + bytes.readInt32BE(at + 8);

/** Where the record reader is in its bytes (records are read synchronously, one batch at a time). */
let pos = 0;

function decodeRecords(
  part: FetchedPart,
  start: number,
  count: number,
  batch: RecordBatchHeader,
  out: FetchedRecord[],
): void {
  const { bytes } = part;
  const firstOffset = Number(batch.firstOffset);
  const exactOffsets = Number.isSafeInteger(firstOffset + batch.lastOffsetDelta);
  part.batchFirstOffsets.push(exactOffsets ? firstOffset : Number.NaN);
  const appendTime = batch.timestampType === LOG_APPEND_TIME ? Number(batch.maxTimestamp) : undefined;
  const firstTimestamp = Number(batch.firstTimestamp);
  const batchIndex = part.batchHeaders.push(batch) - 1;
  pos = start;
  for (let k = 0; k < count; k++) {
    const i = part.length++;
    const length = readVarint(bytes);
    const next = pos + length;
    part.attributes[i] = bytes[pos++] as number;
    const timestampDelta = readVarint(bytes);
    part.timestampsMs[i] = appendTime ?? firstTimestamp + timestampDelta;
    part.offsetDeltas[i] = readVarint(bytes);
    const keyLength = readVarint(bytes);
    part.keyAt[i] = pos;
    part.keyLength[i] = keyLength;
    if (keyLength > 0) pos += keyLength;
    const valueLength = readVarint(bytes);
    part.valueAt[i] = pos;
    part.valueLength[i] = valueLength;
    if (valueLength > 0) pos += valueLength;
    const headerCount = readVarint(bytes);
    if (headerCount > 0) part.headers.set(i, readHeaders(bytes, headerCount));
    part.batchOf[i] = batchIndex;
    pos = next;
    out.push(new FetchedRecord(part, i));
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
function readHeaders(bytes: Buffer, count: number): Headers {
  const headers: Headers = {};
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
