export { BarBuilder, type BarBuilderOptions } from './builder.js';
export { barsCommand } from './command.js';
export { type RebuildRange, rebuildBars } from './rebuild.js';
export { recomputeBars, type UpsertCounts } from './recompute.js';
export { TIMEFRAMES, type Timeframe } from './timeframes.js';
