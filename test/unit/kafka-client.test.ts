import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { quietIdleRequestQueues } from '../../src/consumers/kafka-client.js';

type Queue = { pending: unknown[]; throttledUntil: number; throttleCheckTimeoutId: NodeJS.Timeout | null };
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests(this: Queue): void };
};

describe("kafkajs's idle request queue", () => {
  it.each([
    ['idle and unthrottled: no timer (kafkajs set one with a negative delay)', [], -1, false],
    ['requests pending: a timer checks them', [{}], -1, true],
    ['throttled: a timer for when the throttle ends', [], Date.now() + 600_000, true],
  ])('%s', (_name, pending, throttledUntil, timer) => {
    quietIdleRequestQueues();
    const q: Queue = { pending, throttledUntil, throttleCheckTimeoutId: null };
    RequestQueue.prototype.scheduleCheckPendingRequests.call(q);
    expect(q.throttleCheckTimeoutId !== null).toBe(timer);
    if (q.throttleCheckTimeoutId) clearTimeout(q.throttleCheckTimeoutId);
  });
});
