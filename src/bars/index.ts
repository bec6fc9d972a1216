export { barsCommand } from './command.js';
export { type PartialBars, partialBars } from './partial.js';
export { type RebuildRange, rebuildBars } from './rebuild.js';
export { type BarSpan, recomputeBars } from './recompute.js';
export { type BarStep, barStep } from './step.js';
export { TIMEFRAMES, type Timeframe } from './timeframes.js';
export type { UpsertCounts } from './write-bars.js';
