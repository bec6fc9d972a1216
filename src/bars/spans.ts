import type { TouchedSpan } from '../writers/batch.js';

/**
 * Spans closer than this are merged: they touch the same or neighbouring 1-minute bars, so one
 * recompute costs less than two. Farther apart (a late tick hours old beside live ticks) they stay
 * separate, so the hours between them are not recomputed for nothing.
 */
export const MERGE_GAP_US = 60_000_000;

/**
 * The touched spans waiting for a recompute, coalesced per (symbol, exchange) into sorted,
 * disjoint intervals. Pure bookkeeping: the builder adds what each flush touched and takes
 * everything when it starts a pass.
 */
export class SpanSet {
  private readonly byKey = new Map<string, TouchedSpan[]>();

  add(spans: Iterable<TouchedSpan>): void {
    for (const s of spans) {
      const key = `${s.symbol}\u0000${s.exchange}`;
      this.byKey.set(key, mergeInto(this.byKey.get(key) ?? [], { ...s }));
    }
  }

  get isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  /** Everything pending, emptying the set. */
  take(): TouchedSpan[] {
    const out = [...this.byKey.values()].flat();
    this.byKey.clear();
    return out;
  }
}

/** Insert `span` into sorted disjoint `list` (same symbol), merging what lies within MERGE_GAP_US. */
export function mergeInto(list: TouchedSpan[], span: TouchedSpan): TouchedSpan[] {
  const out: TouchedSpan[] = [];
  let cur = span;
  for (const s of list) {
    if (s.toUs + MERGE_GAP_US < cur.fromUs || cur.toUs + MERGE_GAP_US < s.fromUs) out.push(s);
    else cur = { ...cur, fromUs: Math.min(cur.fromUs, s.fromUs), toUs: Math.max(cur.toUs, s.toUs) };
  }
  out.push(cur);
  return out.sort((a, b) => a.fromUs - b.fromUs);
}
