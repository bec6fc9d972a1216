import { type CopyRows, ID_WIDTH, lineText } from '../../src/copy-rows.js';

/** Each line of `rows` as text, the id field of tick lines (`withId`) left out. */
export function linesOf(rows: CopyRows, withId = false): string[] {
  return Array.from(rows.ends, (_, i) => lineText(rows, i).slice(withId ? ID_WIDTH + 1 : 0));
}
