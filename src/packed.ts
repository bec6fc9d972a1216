/**
 * Byte strings (message keys or values, some null) packed back to back in one array: how a
 * batch's messages are kept until their rows commit, and sent to the decode thread, without
 * holding the Kafka client's message objects (which would then survive into the old generation).
 */
export interface PackedBytes {
  data: Uint8Array;
  /** Length of each entry, -1 for null. */
  lengths: Int32Array;
}

/** Packs `n` entries given by `at(i)` (one copy). */
export function packBytes(n: number, at: (i: number) => Buffer | null): PackedBytes {
  const lengths = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const b = at(i);
    lengths[i] = b ? b.length : -1;
    total += b ? b.length : 0;
  }
  const data = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const b = at(i);
    if (b) {
      data.set(b, offset);
      offset += b.length;
    }
  }
  return { data, lengths };
}

/** Every entry, as views of the packed bytes (no copy). */
export function unpackBytes(p: PackedBytes): (Buffer | null)[] {
  const out: (Buffer | null)[] = [];
  let offset = 0;
  for (const length of p.lengths) {
    if (length < 0) out.push(null);
    else {
      out.push(Buffer.from(p.data.buffer, p.data.byteOffset + offset, length));
      offset += length;
    }
  }
  return out;
}
