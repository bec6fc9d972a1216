import type { TestProject } from 'vitest/node';
import { stackUp } from './stack.js';

/** Provide the fault stack's endpoints as `stack`, so test/support/fresh.ts helpers use it. */
export default function setup(project: TestProject): void {
  const s = stackUp();
  project.provide('stack', { ...s, source: 'native' });
}
