import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubber } from '../../src/observability/log.js';

describe('scrubber', () => {
  it.each([
    ['a plain secret', ['s3cret'], 'auth failed for s3cret here', 'auth failed for *** here'],
    ['every occurrence', ['pw'], 'pw pw pw', '*** *** ***'],
    ['the JSON-escaped form', ['a"b\\c'], '{"msg":"bad a\\"b\\\\c"}', '{"msg":"bad ***"}'],
    ['the percent-encoded form', ['a@b c'], 'postgres://u:a%40b%20c@h/d', 'postgres://u:***@h/d'],
    ['the longer secret first', ['abc', 'abcdef'], 'x abcdef y abc', 'x *** y ***'],
    ['nothing when there is no secret', [], 'text', 'text'],
    ['empty secrets are ignored', [''], 'text', 'text'],
  ])('hides %s', (_what, secrets, text, expected) => {
    expect(scrubber(secrets)(text)).toBe(expected);
  });
});

describe('createLogger', () => {
  it('scrubs the configured secrets from any field, error messages included', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('info', ['hunter2'], sink);
    log.warn({ err: 'password "hunter2" rejected', url: 'postgres://u@h/d?password=hunter2' }, 'hunter2?');
    log.info({ password: 'other', nested: { password: 'x' } }, 'by name');
    await new Promise((r) => setImmediate(r));
    const out = lines.join('');
    expect(out).not.toContain('hunter2');
    expect(out).toContain('"err":"password \\"***\\" rejected"');
    expect(out).toContain('"msg":"***?"');
    expect(out).toContain('"password":"***"');
    expect(out).not.toContain('other');
  });
});
