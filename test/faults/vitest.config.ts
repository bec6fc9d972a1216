import { defineConfig } from 'vitest/config';

// The fault suite: its own stack (see global-setup.ts), one file, scenarios in order.
// It stops and starts servers, so nothing else may share that stack or run beside it.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/global-setup.ts'],
    testTimeout: 420_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['verbose'],
    disableConsoleIntercept: true,
  },
});
