#!/usr/bin/env -S node --max-old-space-size=192 --max-semi-space-size=8 --heap-growing-percent=100
// The heap flags bound the worker's memory: without them V8 lets a busy consumer's heap grow
// towards gigabytes before collecting (peak RSS 300-370 MB in the benchmark, ~190 MB with them).
// Under that cap V8 lets the old generation grow only 1.3 x its live size (~24 MB) between full
// collections, and with a young generation larger than that room it began the next one at once:
// ~38 mark-compacts in a 600k-tick drain. Growing 2 x, with a young generation of 2 x 8 MB:
// fewer full collections, less CPU per row and less peak RSS (docs/scaling.md).
// NODE_OPTIONS can still raise them, e.g. for very large FLUSH_ROWS.
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('tick-ingest: dist/ is missing; run `npm run build` (npm install does it) first');
    process.exit(1);
  }
  throw err;
});
