import { resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runScenario, type ScenarioResult } from './harness.js';
import { failures, formatTable, writeReport } from './report.js';
import { SCENARIOS } from './scenarios.js';

// FAULTS_SEED replays a run's random kill points; FAULTS_ONLY=name,name runs a subset.
const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const only = process.env.FAULTS_ONLY?.split(',');
const startedAt = Date.now();
const results: ScenarioResult[] = [];

afterAll(() => {
  const runtime_s = Math.round((Date.now() - startedAt) / 1000);
  writeReport(resolve(import.meta.dirname, 'report.json'), results, {
    generated_at: new Date().toISOString(),
    seed,
    runtime_s,
  });
  process.stdout.write(`\nFault suite (seed ${seed}, ${runtime_s} s)\n${formatTable(results)}\n\n`);
});

for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
  it(scenario.name, async () => {
    const result = await runScenario(scenario, seed);
    results.push(result);
    expect(failures(result)).toEqual([]);
  });
}
