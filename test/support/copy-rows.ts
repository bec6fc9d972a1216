import { type CopyRows, ID_WIDTH, lineStart } from '../../src/copy-rows.js';

/** Rows of no line (a table a batch has nothing for). */
export const emptyCopyRows = (): CopyRows => ({
  text: new Uint8Array(0),
  ends: new Int32Array(0),
  messages: new Int32Array(0),
});

/** Line `i` as a string (the write path never makes one). */
export const lineText = (rows: CopyRows, i: number): string =>
  Buffer.from(rows.text.buffer, rows.text.byteOffset, rows.text.byteLength).toString(
    'utf8',
    lineStart(rows, i),
    rows.ends[i] as number,
  );

/** Each line of `rows` as text, the id field of tick lines (`withId`) left out. */
export function linesOf(rows: CopyRows, withId = false): string[] {
  return Array.from(rows.ends, (_, i) => lineText(rows, i).slice(withId ? ID_WIDTH + 1 : 0));
}
