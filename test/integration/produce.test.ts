import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mixedFeed } from '../../src/feed/mix.js';
import { freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';
import { waitFor } from '../support/worker.js';

const root = resolve(import.meta.dirname, '../..');

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** `tick-ingest produce` as a user runs it; `whileRunning` may signal it. */
function produce(args: string[], env: Record<string, string>, whileRunning?: (pid: number) => Promise<void>) {
  const child = spawn(process.execPath, [resolve(root, 'dist/cli.js'), 'produce', ...args], {
    env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: stack().kafkaBrokers, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  if (whileRunning) void whileRunning(child.pid as number);
  return new Promise<Run>((res) =>
    child.on('exit', (code, signal) => res({ code: code ?? signal ?? -1, stdout, stderr })),
  );
}

async function messagesIn(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function freshTopics() {
  return {
    TOPIC_TICKS: await freshTopic('produce.ticks'),
    TOPIC_BOOK: await freshTopic('produce.book'),
    TOPIC_CALLBACKS: await freshTopic('produce.callbacks'),
  };
}

describe('tick-ingest produce', () => {
  it('sends --count messages split over the three topics exactly as the generator draws them', async () => {
    const topics = await freshTopics();
    const r = await produce(['--count', '5000', '--invalid', '0.05', '--seed', '11', '--quiet'], topics);
    expect(r.code, r.stderr).toBe(0);

    const want = { ticks: 0, book: 0, callbacks: 0 };
    let deadLetters = 0;
    for (const m of mixedFeed(5000, { seed: 11, invalidFraction: 0.05 })) {
      want[m.kind]++;
      if (m.outcome === 'dead-letter') deadLetters++;
    }
    expect({
      ticks: await messagesIn(topics.TOPIC_TICKS),
      book: await messagesIn(topics.TOPIC_BOOK),
      callbacks: await messagesIn(topics.TOPIC_CALLBACKS),
    }).toEqual(want);
    expect(r.stdout).toContain(`dead letters +${deadLetters}`);
  });

  it('keys messages by symbol and stamps them with recent exchange-local times', async () => {
    const topics = await freshTopics();
    const before = Date.now();
    const r = await produce(['--count', '300', '--mix', '1,0,0', '--invalid', '0', '--span', '60'], topics);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/produce: 300 sent/);

    const consumer = testKafka().consumer({ groupId: `${topics.TOPIC_TICKS}.check` });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.TOPIC_TICKS, fromBeginning: true });
    const seen: Array<{ key: string; symbol: string; timeMs: number }> = [];
    void consumer.run({
      eachMessage: async ({ message }) => {
        const v = JSON.parse(message.value?.toString() ?? '{}') as { symbol: string; tickTime: string };
        seen.push({ key: message.key?.toString() ?? '', symbol: v.symbol, timeMs: Date.parse(v.tickTime) });
      },
    });
    await waitFor('300 ticks read back', async () => seen.length === 300);
    await consumer.disconnect();
    for (const s of seen) {
      expect(s.key).toBe(s.symbol);
      expect(s.timeMs).toBeGreaterThanOrEqual(before - 61_000);
      expect(s.timeMs).toBeLessThanOrEqual(Date.now());
    }
  });

  it('at a --rate without --count runs until SIGINT and reports exactly what it sent', async () => {
    const topics = await freshTopics();
    const r = await produce(['--rate', '400'], topics, async (pid) => {
      await waitFor('some ticks sent', async () => (await messagesIn(topics.TOPIC_TICKS)) > 200);
      process.kill(pid, 'SIGINT');
    });
    expect(r.code, r.stderr).toBe(0);
    const sent = Number(/produce: (\d+) sent/.exec(r.stderr.trim().split('\n').at(-1) ?? '')?.[1]);
    const total =
      (await messagesIn(topics.TOPIC_TICKS)) +
      (await messagesIn(topics.TOPIC_BOOK)) +
      (await messagesIn(topics.TOPIC_CALLBACKS));
    expect(total).toBe(sent);
    expect(total).toBeGreaterThan(200);
  });

  it.each([
    [['--rate', '-5'], '--rate'],
    [['--invalid', '2', '--count', '1'], '--invalid'],
    [['--mix', '1,2', '--count', '1'], '--mix'],
    [[], '--count'],
  ])('refuses %j naming %s, with exit code 2', async (args, flag) => {
    const r = await produce(args, {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`configuration error: ${flag}`);
  });
});
