export { barsCommand } from './command.js';
export { mergeBars } from './merge.js';
export { type RebuildRange, rebuildBars } from './rebuild.js';
export { recomputeBars, type UpsertCounts } from './recompute.js';
export { barStep } from './step.js';
export { TIMEFRAMES, type Timeframe } from './timeframes.js';
