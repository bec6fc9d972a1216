import { writeFileSync } from 'node:fs';
import type { ScenarioResult } from './harness.js';

/** A scenario fails when it lost or duplicated a message, misrouted one, or failed a check. */
export function failures(r: ScenarioResult): string[] {
  const out: string[] = [];
  if (r.lost > 0) out.push(`lost ${r.lost} (e.g. ids ${r.examples.lost.join(', ')})`);
  if (r.duplicates > 0) out.push(`duplicated ${r.duplicates} (e.g. ids ${r.examples.duplicated.join(', ')})`);
  if (r.misrouted > 0) out.push(`misrouted ${r.misrouted} (e.g. ids ${r.examples.misrouted.join(', ')})`);
  for (const c of r.checks) if (!c.ok) out.push(`${c.name}: ${c.detail}`);
  return out;
}

const COLUMNS = [
  'name',
  'sent',
  'stored',
  'dead_lettered',
  'lost',
  'duplicates',
  'dead_letter_repeats',
  'recovery_s',
  'duration_s',
] as const;

/** The report as a fixed-width table, one row per scenario, failures listed under it. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((r) => [
    ...COLUMNS.map((c) => String(r[c] ?? '-')),
    failures(r).length === 0 ? 'ok' : 'FAIL',
  ]);
  const header = [...COLUMNS, 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  const problems = results.flatMap((r) => failures(r).map((f) => `  ${r.name}: ${f}`));
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...problems].join('\n');
}

export function writeReport(
  path: string,
  results: readonly ScenarioResult[],
  meta: Record<string, unknown>,
): void {
  const scenarios = results.map(({ examples, logs, ...r }) => ({
    ...r,
    ok: failures({ examples, logs, ...r }).length === 0,
  }));
  writeFileSync(path, `${JSON.stringify({ ...meta, scenarios }, null, 2)}\n`);
}
