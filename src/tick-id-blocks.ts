/**
 * Reading and writing `TickIds` (blocks of consecutive ids): the id of a row, two rows' order, a
 * subset, and every id's digits into the COPY lines without a string per id.
 */
import { ID_WIDTH } from './copy-rows.js';
import type { TickIds } from './records.js';

export const noTickIds = (): TickIds => ({ starts: [], ends: [] });

/** Ids in the blocks. */
export const tickIdCount = (ids: TickIds): number => ids.ends[ids.ends.length - 1] ?? 0;

/** The first row of block b. */
const firstRowOf = (ids: TickIds, b: number): number => (b === 0 ? 0 : (ids.ends[b - 1] as number));

/** Index of the block holding row k. */
function blockOf(ids: TickIds, k: number): number {
  let lo = 0;
  let hi = ids.ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (k < (ids.ends[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The id of row k. */
export function tickIdAt(ids: TickIds, k: number): bigint {
  const b = blockOf(ids, k);
  return (ids.starts[b] as bigint) + BigInt(k - firstRowOf(ids, b));
}

/** The sign of id(i) - id(j). */
export function compareTickIds(ids: TickIds, i: number, j: number): number {
  const a = tickIdAt(ids, i);
  const b = tickIdAt(ids, j);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Appends `count` ids from `start` (joined to the last block when they continue it). */
export function appendTickIds(ids: TickIds, start: bigint, count: number): void {
  if (count <= 0) return;
  const last = ids.starts.length - 1;
  const total = tickIdCount(ids);
  if (last >= 0) {
    if ((ids.starts[last] as bigint) + BigInt(total - firstRowOf(ids, last)) === start) {
      ids.ends[last] = total + count;
      return;
    }
  }
  ids.starts.push(start);
  ids.ends.push(total + count);
}

/** Appends every id of `more`, in order. */
export function appendTickIdBlocks(ids: TickIds, more: TickIds): void {
  more.starts.forEach((start, b) => {
    appendTickIds(ids, start, (more.ends[b] as number) - firstRowOf(more, b));
  });
}

/** The ids of rows `rows`, in that order. */
export function pickTickIds(ids: TickIds, rows: readonly number[]): TickIds {
  const out = noTickIds();
  for (const k of rows) appendTickIds(out, tickIdAt(ids, k), 1);
  return out;
}

/**
 * The ids in row order as ID_WIDTH zero-padded ASCII digits, one after the other: `next()` gives
 * the next id's digits (the same array, overwritten), counting up within a block.
 */
export class TickIdDigits {
  private readonly digits = new Uint8Array(ID_WIDTH);
  private block = -1;
  private row = 0;

  constructor(private readonly ids: TickIds) {}

  next(): Uint8Array {
    const { ids, digits } = this;
    if (this.block >= 0 && this.row < (ids.ends[this.block] as number)) {
      // The id after the last: add one, carrying.
      let k = ID_WIDTH - 1;
      while (digits[k] === 57) digits[k--] = 48;
      if (k < 0) throw new Error(`tick id past ${'9'.repeat(ID_WIDTH)}`);
      digits[k] = (digits[k] as number) + 1;
    } else {
      this.block++;
      const start = ids.starts[this.block];
      if (start === undefined) throw new RangeError(`only ${tickIdCount(ids)} tick ids`);
      const text = start.toString();
      if (start < 0n || text.length > ID_WIDTH) throw new Error(`tick id ${text} is not a positive bigint`);
      digits.fill(48);
      for (let k = 0; k < text.length; k++) digits[ID_WIDTH - text.length + k] = text.charCodeAt(k);
    }
    this.row++;
    return digits;
  }
}
