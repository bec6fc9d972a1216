#!/usr/bin/env -S node --max-old-space-size=192 --max-semi-space-size=16
// The heap flags bound the worker's memory: without them V8 lets a busy consumer's heap grow
// towards gigabytes before collecting (peak RSS 300-370 MB in the benchmark, ~190 MB with them).
// NODE_OPTIONS can still raise them, e.g. for very large FLUSH_ROWS.
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('tick-ingest: dist/ is missing; run `npm run build` (npm install does it) first');
    process.exit(1);
  }
  throw err;
});
