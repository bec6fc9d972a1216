/**
 * Summarise a V8 .cpuprofile: self time by stage of the pipeline, then by function, to find the
 * worker's hot path. `npx tsx bench/cpuprofile-top.ts FILE.cpuprofile [N]`
 */
import { readFileSync } from 'node:fs';
import { type CpuProfile, selfTimes, stageShares } from './cpuprofile.js';

const file = process.argv[2];
if (!file) throw new Error('usage: tsx bench/cpuprofile-top.ts FILE.cpuprofile [N]');
const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
for (const [stage, pct] of Object.entries(stageShares(prof)))
  console.log(`${pct.toFixed(1).padStart(5)}%  ${stage}`);
console.log('');
const self = selfTimes(
  prof,
  (f) =>
    `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`,
);
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...self.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(process.argv[3] ?? 30))) {
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
