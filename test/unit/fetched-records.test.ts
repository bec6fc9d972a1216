import { createRequire } from 'node:module';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  decodeRecordBatches,
  FetchedRecord,
  leanFetchDecoding,
  packFetched,
} from '../../src/consumers/fetched-records.js';
import { unpackBytes } from '../../src/packed.js';

const req = createRequire(import.meta.url);
type Long = { value: bigint };
const Long = req('kafkajs/src/utils/long.js') as { fromValue(v: unknown): Long };
type Encoded = { buffer: Buffer };
type Encoder = {
  writeInt16(v: number): Encoder;
  writeInt32(v: number): Encoder;
  writeInt64(v: Long): Encoder;
  writeString(v: string): Encoder;
  writeBuffer(v: Buffer): Encoder;
  buffer: Buffer;
};
const Encoder = req('kafkajs/src/protocol/encoder.js') as new () => Encoder;
const { RecordBatch } = req('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch(b: object): Promise<Encoded>;
};
const Record = req('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => Encoded;
const Decoder = req('kafkajs/src/protocol/decoder.js') as new (
  b: Buffer,
) => { canReadBytes(n: number): boolean };
/** kafkajs's own record batch decoder (the replaced module only calls it no more). */
const kafkajsBatch = req('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  d: InstanceType<typeof Decoder>,
) => Promise<{ records: object[] }>;
const { lookupCodecByAttributes, Types } = req('kafkajs/src/protocol/message/compression/index.js') as {
  lookupCodecByAttributes(a: number): { decompress(b: Buffer): Promise<Buffer> } | null;
  Types: Record<string, number>;
};

interface RecordSpec {
  offsetDelta: number;
  timestampDelta?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
}
interface BatchSpec {
  firstOffset: bigint;
  firstTimestamp: number;
  records: RecordSpec[];
  compression?: number;
  transactional?: boolean;
  /** Attribute bits kafkajs's encoder does not set (control batch, log-append time). */
  extraAttributes?: number;
}

async function encodeBatch(b: BatchSpec): Promise<Buffer> {
  const { buffer } = await RecordBatch({
    compression: b.compression ?? Types.None,
    firstOffset: Long.fromValue(b.firstOffset),
    firstTimestamp: b.firstTimestamp,
    maxTimestamp: b.firstTimestamp + 999,
    lastOffsetDelta: Math.max(0, ...b.records.map((r) => r.offsetDelta)),
    transactional: b.transactional ?? false,
    producerId: Long.fromValue(4242n),
    producerEpoch: 3,
    firstSequence: 17,
    partitionLeaderEpoch: 5,
    records: b.records.map((r) => Record({ ...r, timestampDelta: Long.fromValue(r.timestampDelta ?? 0) })),
  });
  if (b.extraAttributes) buffer.writeInt16BE(buffer.readInt16BE(21) | b.extraAttributes, 21);
  return buffer;
}

/** What a consumer sees of a record: every field kafkajs gives. */
const seen = (r: object) => {
  const m = r as KafkaMessage & { isControlRecord: boolean; batchContext: object; magicByte: number };
  return {
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key,
    value: m.value,
    headers: m.headers,
    isControlRecord: m.isControlRecord,
    batchContext: m.batchContext,
    magicByte: m.magicByte,
    attributes: m.attributes,
  };
};

async function kafkajsDecodes(bytes: Buffer): Promise<object[]> {
  const d = new Decoder(bytes);
  const out: object[] = [];
  while (d.canReadBytes(61)) {
    try {
      out.push(...(await kafkajsBatch(d)).records);
    } catch (e) {
      if ((e as Error).name === 'KafkaJSPartialMessageError') break;
      throw e;
    }
  }
  return out;
}

const text = (s: string) => Buffer.from(s);
const tick = (k: number) => text(`{"symbol":"PETR4","price":"${30 + k / 100}","seq":${k}}`);

describe('fetched record batches, decoded as kafkajs decodes them', () => {
  const cases: [string, BatchSpec[], number?][] = [
    [
      'ticks with keys, consecutive offsets',
      [
        {
          firstOffset: 0n,
          firstTimestamp: 1_764_000_000_000,
          records: [0, 1, 2].map((k) => ({
            offsetDelta: k,
            timestampDelta: k,
            key: text('PETR4'),
            value: tick(k),
          })),
        },
      ],
    ],
    [
      'null keys and values, an empty value, negative and large timestamp deltas',
      [
        {
          firstOffset: 41n,
          firstTimestamp: 1_764_000_000_000,
          records: [
            { offsetDelta: 0, timestampDelta: -5, key: null, value: null },
            { offsetDelta: 1, timestampDelta: 2 ** 40, key: text(''), value: text('') },
            { offsetDelta: 2, timestampDelta: -(2 ** 45), key: null, value: tick(9) },
          ],
        },
      ],
    ],
    [
      'offset gaps (compacted) and headers, one key twice',
      [
        {
          firstOffset: 1000n,
          firstTimestamp: 1_700_000_000_000,
          records: [
            {
              offsetDelta: 0,
              key: text('a'),
              value: text('x'),
              headers: { source: text('profitdll'), trace: [text('1'), text('2')] },
            },
            { offsetDelta: 7, key: text('b'), value: text('y') },
          ],
        },
      ],
    ],
    [
      'offsets beyond 2^53 (exact, by BigInt)',
      [
        {
          firstOffset: 2n ** 60n,
          firstTimestamp: 1,
          records: [0, 1].map((k) => ({ offsetDelta: k, key: null, value: tick(k) })),
        },
      ],
    ],
    [
      'two batches back to back, the second transactional',
      [
        { firstOffset: 10n, firstTimestamp: 5, records: [{ offsetDelta: 0, key: null, value: tick(1) }] },
        {
          firstOffset: 11n,
          firstTimestamp: 6,
          transactional: true,
          records: [{ offsetDelta: 0, key: null, value: tick(2) }],
        },
      ],
    ],
    [
      "a control batch, and log-append time (every record takes the batch's max timestamp)",
      [
        {
          firstOffset: 3n,
          firstTimestamp: 5,
          extraAttributes: 0x20,
          records: [{ offsetDelta: 0, key: Buffer.alloc(4), value: text('ctl') }],
        },
        {
          firstOffset: 4n,
          firstTimestamp: 5,
          extraAttributes: 0x08,
          records: [0, 1].map((k) => ({ offsetDelta: k, timestampDelta: k, key: null, value: tick(k) })),
        },
      ],
    ],
    [
      'compressed (gzip: the codecs the worker registers only decompress)',
      [
        {
          firstOffset: 77n,
          firstTimestamp: 9,
          compression: Types.GZIP,
          records: [0, 1, 2, 3].map((k) => ({
            offsetDelta: k,
            timestampDelta: k,
            key: text(`k${k}`),
            value: tick(k),
          })),
        },
      ],
    ],
    [
      'the last batch cut short by the fetch size: left for the next fetch',
      [
        { firstOffset: 0n, firstTimestamp: 1, records: [{ offsetDelta: 0, key: null, value: tick(1) }] },
        { firstOffset: 1n, firstTimestamp: 1, records: [{ offsetDelta: 0, key: null, value: tick(2) }] },
      ],
      30,
    ],
  ];

  it.each(cases)('%s', async (_name, batches, cutTail) => {
    const whole = Buffer.concat(await Promise.all(batches.map(encodeBatch)));
    const bytes = cutTail ? whole.subarray(0, whole.length - cutTail) : whole;
    const ours = await decodeRecordBatches(bytes, lookupCodecByAttributes);
    const theirs = await kafkajsDecodes(bytes);
    expect(ours.length).toBe(cutTail ? batches[0]?.records.length : batches.flatMap((b) => b.records).length);
    expect(ours.map(seen)).toEqual(theirs.map(seen));
  });
});

describe('packing fetched records', () => {
  it('copies keys, values, offsets and timestamps as the messages give them, fetched or not', async () => {
    const bytes = await encodeBatch({
      firstOffset: 7n,
      firstTimestamp: 1_764_000_000_000,
      records: [
        { offsetDelta: 0, timestampDelta: 3, key: text('PETR4'), value: tick(0) },
        { offsetDelta: 1, key: null, value: null },
        { offsetDelta: 2, key: text(''), value: text('') },
      ],
    });
    const fetched = await decodeRecordBatches(bytes, lookupCodecByAttributes);
    const plain: KafkaMessage[] = [
      {
        offset: '10',
        timestamp: '1764000000009',
        key: text('VALE3'),
        value: tick(1),
        attributes: 0,
        headers: {},
      },
    ];
    const messages = [...fetched, ...plain] as KafkaMessage[];
    const packed = packFetched(messages);
    expect([...packed.offsets].map(String)).toEqual(['7', '8', '9', '10']);
    expect([...packed.timestampsMs]).toEqual([
      1_764_000_000_003, 1_764_000_000_000, 1_764_000_000_000, 1_764_000_000_009,
    ]);
    expect(unpackBytes(packed.keys).map((k) => k?.toString() ?? null)).toEqual(['PETR4', null, '', 'VALE3']);
    expect(unpackBytes(packed.values)).toEqual(messages.map((m) => m.value));
  });

  it('keeps offsets past 2^53 exact, fetched or not', async () => {
    const first = 2n ** 63n - 3n;
    const bytes = await encodeBatch({
      firstOffset: first,
      firstTimestamp: 1,
      records: [0, 1].map((k) => ({ offsetDelta: k, key: null, value: tick(k) })),
    });
    const fetched = await decodeRecordBatches(bytes, lookupCodecByAttributes);
    const plain = {
      offset: String(first + 2n),
      timestamp: '1',
      key: null,
      value: null,
      attributes: 0,
      headers: {},
    };
    const packed = packFetched([...fetched, plain] as KafkaMessage[]);
    expect([...packed.offsets]).toEqual([first, first + 1n, first + 2n]);
    expect(fetched.map((m) => m.offset)).toEqual([String(first), String(first + 1n)]);
  });
});

describe("kafkajs's fetch responses, once the lean decoding is installed", () => {
  it('decode record batches into FetchedRecords, through the response module kafkajs loads afresh', async () => {
    leanFetchDecoding();
    leanFetchDecoding();
    // No fetch response module holds kafkajs's own decoder any more: each loads again with ours.
    expect(Object.keys(req.cache).filter((k) => /requests\/fetch\/v\d+\/response\.js$/.test(k))).toEqual([]);
    const { decode } = req('kafkajs/src/protocol/requests/fetch/v11/response.js') as {
      decode(
        raw: Buffer,
      ): Promise<{ responses: { partitions: { partition: number; messages: object[] }[] }[] }>;
    };
    const batch = await encodeBatch({
      firstOffset: 5n,
      firstTimestamp: 1_764_000_000_000,
      records: [0, 1].map((k) => ({ offsetDelta: k, timestampDelta: k, key: text('PETR4'), value: tick(k) })),
    });
    // A v11 fetch response: one topic, one partition, these records.
    const response = new Encoder()
      .writeInt32(0)
      .writeInt16(0)
      .writeInt32(0)
      .writeInt32(1)
      .writeString('market.ticks')
      .writeInt32(1)
      .writeInt32(3)
      .writeInt16(0)
      .writeInt64(Long.fromValue(7n))
      .writeInt64(Long.fromValue(7n))
      .writeInt64(Long.fromValue(0n))
      .writeInt32(0)
      .writeInt32(-1)
      .writeInt32(batch.length)
      .writeBuffer(batch).buffer;
    const partitions = (await decode(response)).responses[0]?.partitions ?? [];
    expect(partitions.map((p) => p.partition)).toEqual([3]);
    const records = partitions[0]?.messages ?? [];
    expect(records.map((r) => r instanceof FetchedRecord)).toEqual([true, true]);
    expect(records.map(seen)).toEqual((await kafkajsDecodes(batch)).map(seen));
  });

  it('leave legacy message sets (magic 0 and 1) to kafkajs', async () => {
    leanFetchDecoding();
    const decodeMessages = req('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
      d: InstanceType<typeof Decoder>,
    ) => Promise<object[]>;
    const MessageSet = req('kafkajs/src/protocol/messageSet/index.js') as (a: {
      messageVersion: number;
      entries: object[];
    }) => Encoded;
    const set = MessageSet({ messageVersion: 1, entries: [{ key: 'k', value: 'v1', timestamp: 1 }] }).buffer;
    const size = Buffer.alloc(4);
    size.writeInt32BE(set.length);
    const records = await decodeMessages(new Decoder(Buffer.concat([size, set])));
    expect(records.map((r) => r instanceof FetchedRecord)).toEqual([false]);
    expect(records.map((r) => (r as KafkaMessage).value?.toString())).toEqual(['v1']);
  });
});
