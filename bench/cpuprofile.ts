/** V8 .cpuprofile summaries: self time by function, and by stage of the worker's pipeline. */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

type CallFrame = CpuProfile['nodes'][number]['callFrame'];

/** Self time (µs) by key of each sample's function. */
export function selfTimes(prof: CpuProfile, key: (f: CallFrame) => string): Map<string, number> {
  const byId = new Map(prof.nodes.map((n) => [n.id, n.callFrame]));
  const out = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const f = byId.get(id);
    if (!f) return;
    const k = key(f);
    out.set(k, (out.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  return out;
}

const STAGES: [RegExp, string][] = [
  [/node_modules\/kafkajs\//, 'kafka client (kafkajs)'],
  [/node_modules\/(pg|pg-protocol|pg-copy-streams|pg-pool)\//, 'postgres client (pg, COPY)'],
  [/\/(src|dist)\/transform\//, 'decode + COPY format'],
  [/\/(src|dist)\/bars\//, 'bars'],
  [/\/(src|dist)\/trades\//, 'trade numbers (dedup, holes)'],
  [/\/(src|dist)\/writers\//, 'writers (batch, COPY sink, offsets)'],
  [/\/(src|dist)\/consumers\//, 'consumers (source, codecs, DLQ)'],
  [/\/(src|dist)\//, 'pipeline, other worker code'],
  [/^node:/, 'node internals (streams, buffers, thread messages)'],
];

/** The stage a function belongs to, from its script's path (V8's pseudo-frames by name). */
export function stageOf(f: CallFrame): string {
  if (f.functionName === '(garbage collector)') return 'garbage collector';
  if (f.functionName === '(program)') return 'native, unattributed (program)';
  if (f.functionName === '(idle)') return 'idle';
  for (const [re, stage] of STAGES) if (re.test(f.url)) return stage;
  return f.url ? 'other libraries' : 'native, unattributed (program)';
}

/** Each stage's share (%) of the busy (non-idle) samples. */
export function stageShares(prof: CpuProfile): Record<string, number> {
  const t = selfTimes(prof, stageOf);
  t.delete('idle');
  const total = [...t.values()].reduce((a, b) => a + b, 0);
  return Object.fromEntries(
    [...t.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +((100 * v) / total).toFixed(1)]),
  );
}
