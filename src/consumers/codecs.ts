import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import snappy from 'snappyjs';

/**
 * kafkajs reads gzip itself; snappy, lz4 and zstd need codecs. The worker only reads compressed
 * batches (it never produces compressed ones), so these are decompress-only and pure JS.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** Snappy as Kafka producers send it: raw blocks (librdkafka) or xerial-framed chunks (the Java client). */
export function snappyDecompress(buf: Buffer): Buffer {
  if (buf.length < 16 || !buf.subarray(0, 8).equals(XERIAL_MAGIC)) return Buffer.from(snappy.uncompress(buf));
  const parts: Buffer[] = [];
  for (let pos = 16; pos < buf.length; ) {
    const size = buf.readUInt32BE(pos);
    pos += 4;
    parts.push(Buffer.from(snappy.uncompress(buf.subarray(pos, pos + size))));
    pos += size;
  }
  return Buffer.concat(parts);
}

const decompressOnly = (name: string, decompress: (b: Buffer) => Buffer) => () => ({
  compress: async () => {
    throw new Error(`tick-ingest does not produce ${name}-compressed messages`);
  },
  decompress: async (buf: Buffer) => decompress(buf),
});

export function registerCodecs(): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = decompressOnly('snappy', snappyDecompress);
  CompressionCodecs[CompressionTypes.LZ4] = decompressOnly('lz4', (b) => Buffer.from(lz4.decompress(b)));
  CompressionCodecs[CompressionTypes.ZSTD] = decompressOnly('zstd', (b) => Buffer.from(zstdDecompress(b)));
}
