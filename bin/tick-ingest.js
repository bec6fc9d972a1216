#!/usr/bin/env -S node --max-old-space-size=192 --max-semi-space-size=8 --heap-growing-percent=75 --incremental-marking-soft-trigger=60
// The heap flags bound the worker's memory: without them V8 lets a busy consumer's heap grow
// towards gigabytes before collecting (peak RSS 300-370 MB in the benchmark, ~190 MB with them).
// Under that cap V8 gives the old generation little room over its live size (~24 MB), and by
// default begins the next full collection once that room is smaller than the young generation,
// which here is at once: back-to-back mark-compacts however little is promoted. Started instead
// when 60 % of a room of 0.75 x the live size is used, they come with what is promoted: 15-17 ->
// 8-10 in a 1M-tick drain, V8's helper threads 1.6-1.7 -> 1.0-1.2 us a row (docs/scaling.md).
// NODE_OPTIONS can still raise them, e.g. for very large FLUSH_ROWS.
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('tick-ingest: dist/ is missing; run `npm run build` (npm install does it) first');
    process.exit(1);
  }
  throw err;
});
