/**
 * Exact accounting of one scenario. Every message sent carries a unique id (1..sent); each row in
 * the table and each message in the dead-letter topic is traced back to its id, so a loss or a
 * duplicate is a count, not a guess.
 */
export interface Ledger {
  sent: number;
  /** Rows in the table. */
  stored: number;
  /** Messages in the dead-letter topic. */
  dead_lettered: number;
  /** Ids found neither in the table nor in the dead-letter topic. */
  lost: number;
  /** Extra copies: an id stored twice, or both stored and dead-lettered. */
  duplicates: number;
  /**
   * Extra dead letters of an id never stored: the dead-letter topic is written before the batch's
   * commit, so a crash between the two sends it again on the re-read. Counted and reported apart:
   * nothing is lost or stored twice, but a DLQ reader sees the message more than once.
   */
  dead_letter_repeats: number;
  /** Ids that went to the wrong place: a valid message dead-lettered or a poison one stored. */
  misrouted: number;
  /** Up to ten ids of each kind, for the report's notes. */
  examples: { lost: number[]; duplicated: number[]; misrouted: number[]; repeated: number[] };
}

/**
 * `sentIds` has one entry per message in the source topic, `storedIds` one per table row,
 * `deadLetteredIds` one per dead-letter message; `isPoison(id)` says which ids the database must refuse.
 * Each message must come out exactly once: stored, or dead-lettered if it is poison (a repeated
 * dead letter is counted in `dead_letter_repeats`, not as a duplicate).
 */
export function tally(
  sentIds: readonly number[],
  storedIds: readonly number[],
  deadLetteredIds: readonly number[],
  isPoison: (id: number) => boolean = () => false,
): Ledger {
  const sent = counts(sentIds);
  const stored = counts(storedIds);
  const dead = counts(deadLetteredIds);
  const lost: number[] = [];
  const duplicated: number[] = [];
  const misrouted: number[] = [];
  const repeated: number[] = [];
  let lostCount = 0;
  let duplicates = 0;
  let repeats = 0;
  let misroutedCount = 0;
  const note = (list: number[], id: number) => list.length < 10 && list.push(id);
  for (const id of new Set([...sent.keys(), ...stored.keys(), ...dead.keys()])) {
    const n = sent.get(id) ?? 0;
    const s = stored.get(id) ?? 0;
    const d = dead.get(id) ?? 0;
    if (s + d < n) {
      lostCount += n - s - d;
      note(lost, id);
    } else if (s + d > n && n > 0 && s === 0) {
      repeats += d - n;
      note(repeated, id);
    } else if (s + d > n && n > 0) {
      duplicates += s + d - n;
      note(duplicated, id);
    }
    // A row whose id was never sent cannot come from the feed: misrouted too.
    if ((s > 0 && isPoison(id)) || (d > 0 && !isPoison(id)) || n === 0) {
      misroutedCount++;
      note(misrouted, id);
    }
  }
  return {
    sent: sentIds.length,
    stored: storedIds.length,
    dead_lettered: deadLetteredIds.length,
    lost: lostCount,
    duplicates,
    dead_letter_repeats: repeats,
    misrouted: misroutedCount,
    examples: { lost, duplicated, misrouted, repeated },
  };
}

function counts(ids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}
