import type { PackedBytes } from './records.js';

/** Packs `n` entries given by `at(i)` (one copy). */
export function packBytes(n: number, at: (i: number) => Uint8Array | null): PackedBytes {
  return packEach(
    n,
    (i) => at(i)?.length ?? -1,
    (i, data, offset) => data.set(at(i) as Uint8Array, offset),
  );
}

/** Packs `n` entries of `length(i)` bytes (-1: null), each copied in by `write(i, data, offset)`. */
export function packEach(
  n: number,
  length: (i: number) => number,
  write: (i: number, data: Uint8Array, offset: number) => void,
): PackedBytes {
  const lengths = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const l = length(i);
    lengths[i] = l;
    if (l > 0) total += l;
  }
  const data = new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const l = lengths[i] as number;
    if (l > 0) {
      write(i, data, offset);
      offset += l;
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
