/**
 * Sum of a metric's samples over all its labels, from the Prometheus text format. A metric the
 * worker declares but has no sample of yet (a labelled counter never incremented) sums to 0; one it
 * does not declare at all throws, so a renamed metric fails the scenario instead of reading as 0.
 */
export function sumMetric(text: string, name: string): number {
  let declared = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`# TYPE ${name} `)) declared = true;
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    declared = true;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  if (!declared) throw new Error(`metric ${name} is not exposed by the worker`);
  return sum;
}
