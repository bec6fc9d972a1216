import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker } from '../../src/worker-process.js';
import { freshTopic, testKafka } from '../support/fresh.js';
import { stack } from '../support/stack.js';

/**
 * No secret reaches the worker's output (stdout and stderr of `tick-ingest run`), whichever way it
 * is given, also when the database or Kafka connection fails at start. The database is a stand-in
 * server speaking the PostgreSQL protocol that asks for a clear-text password and answers with an
 * error quoting it, as a driver or server message might: the worker must log that error scrubbed.
 */

/** A PostgreSQL protocol peer: asks for the password in clear text and fails the login quoting it. */
function passwordEchoingServer(received: string[]): Promise<Server> {
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let startup = true;
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (startup) {
        if (buf.length < 8 || buf.length < buf.readInt32BE(0)) return;
        const length = buf.readInt32BE(0);
        const code = buf.readInt32BE(4);
        buf = buf.subarray(length);
        if (code === 80877103) {
          socket.write('N'); // SSLRequest: no TLS here
          return;
        }
        startup = false;
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
        return;
      }
      if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
      const password = buf.subarray(5, buf.readInt32BE(1)).toString('utf8');
      received.push(password);
      const body = Buffer.from(`SFATAL\0C28P01\0Mpassword "${password}" does not match\0\0`);
      const head = Buffer.alloc(5);
      head[0] = 0x45; // ErrorResponse
      head.writeInt32BE(4 + body.length, 1);
      socket.end(Buffer.concat([head, body]));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Run {
  code: number | string;
  output: string;
}

/** `tick-ingest run` with `env` until `done(output)` or `timeoutMs`, then SIGTERM; all it printed. */
async function runUntil(env: Record<string, string>, done: (output: string) => boolean, timeoutMs = 30_000) {
  let output = '';
  const w = spawnWorker({ env: { METRICS_PORT: '0', ...env }, onLine: (line) => (output += `${line}\n`) });
  w.child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  w.started.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (!done(output) && Date.now() < deadline && w.child.exitCode === null)
    await new Promise((r) => setTimeout(r, 200));
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
  const code = await w.exited;
  clearTimeout(timer);
  return { code, output } satisfies Run;
}

describe('secrets never reach the worker’s output', () => {
  let server: Server;
  let port: number;
  let topic: string;
  let book: string;
  let callbacks: string;
  const received: string[] = [];

  beforeAll(async () => {
    server = await passwordEchoingServer(received);
    port = (server.address() as { port: number }).port;
    topic = await freshTopic('secrets', 1);
    // The worker waits for all three topics to exist before it consumes.
    book = await freshTopic('secrets.book', 1);
    callbacks = await freshTopic('secrets.callbacks', 1);
    const producer = testKafka().producer();
    await producer.connect();
    // One message, so that the worker claims the partition in the database and fails there.
    await producer.send({ topic, messages: [{ key: 'k', value: '{}' }] });
    await producer.disconnect();
  });
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  const env = (group: string) => ({
    KAFKA_BROKERS: stack().kafkaBrokers,
    KAFKA_GROUP_ID: `${topic}.${group}`,
    TOPIC_TICKS: topic,
    TOPIC_BOOK: book,
    TOPIC_CALLBACKS: callbacks,
    TOPIC_DLQ: `${topic}.dlq`,
  });
  // The claim's login failure, logged (28P01 is fatal: the worker then stops by itself).
  const scrubbedError = /"err":"password \\"\*\*\*\\" does not match"/;
  const loginFailed = (o: string) => scrubbedError.test(o);

  it.each([
    [
      '?password= in DATABASE_URL',
      'Qp4ss-w0rd!x',
      (s: string) => ({ DATABASE_URL: `postgres://w@127.0.0.1:PORT/db?password=${s}` }),
    ],
    [
      'user:password@ in DATABASE_URL',
      'Up4ss/w0rd@x',
      (s: string) => ({ DATABASE_URL: `postgres://w:${encodeURIComponent(s)}@127.0.0.1:PORT/db` }),
    ],
    [
      'PGPASSWORD',
      'Pp4ss"w0rd\\x',
      (s: string) => ({ DATABASE_URL: 'postgres://w@127.0.0.1:PORT/db', PGPASSWORD: s }),
    ],
  ])('%s, when the database refuses the login with an error that quotes it', async (what, secret, given) => {
    const vars = given(secret);
    vars.DATABASE_URL = vars.DATABASE_URL.replace('PORT', String(port));
    const run = await runUntil({ ...env(what.replace(/\W/g, '')), ...vars }, loginFailed);
    // The worker did send the secret, and the error it got back did quote it...
    expect(received).toContain(secret);
    expect(run.output).toContain('"msg":"starting"');
    expect(run.output).toMatch(scrubbedError);
    // ...and nothing of it was printed, in any form.
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])
      expect(run.output).not.toContain(form);
  });

  it('KAFKA_SASL_PASSWORD, when the broker refuses SASL and the start fails (plaintext allowed on purpose)', async () => {
    const secret = 'Kp4ss-w0rd-sasl';
    const run = await runUntil(
      {
        ...env('plainsasl'),
        DATABASE_URL: `postgres://w@127.0.0.1:${port}/db`,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'svc',
        KAFKA_SASL_PASSWORD: secret,
        KAFKA_ALLOW_PLAINTEXT_SASL: 'true',
      },
      (o) => o.includes(`"msg":"the worker could not start"`),
    );
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/"err":"[^"]*SASL[^"]*","msg":"the worker could not start"/);
    expect(run.output).not.toContain(secret);
  });

  it('SASL without KAFKA_SSL is refused at start, naming KAFKA_SSL and not the password', async () => {
    const secret = 'Kp4ss-refused';
    const run = await runUntil(
      {
        ...env('refused'),
        DATABASE_URL: `postgres://w:${secret}@127.0.0.1:${port}/db`,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'svc',
        KAFKA_SASL_PASSWORD: secret,
      },
      () => false,
      10_000,
    );
    expect(run.code).toBe(2);
    expect(run.output).toMatch(
      /configuration error: KAFKA_SSL: must be true when KAFKA_SASL_MECHANISM is set/,
    );
    expect(run.output).not.toContain(secret);
  });
});
