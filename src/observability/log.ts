import pino from 'pino';

const CENSOR = '***';

/**
 * A function that replaces every given secret in a text by `***`: as written, JSON-escaped (a log
 * line quotes it) and percent-encoded (a URL carries it). Longest first, so a secret that
 * contains another one is hidden whole.
 */
export function scrubber(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(CENSOR);
    return out;
  };
}

/**
 * JSON logs; connection strings and secrets never reach them. Known fields are redacted by name;
 * every line is then scrubbed of `secrets` (the configuration's passwords), which also covers
 * a driver's error message that quotes one.
 */
export function createLogger(
  level: string,
  secrets: readonly string[] = [],
  destination?: pino.DestinationStream,
) {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'tick-ingest' },
    redact: {
      paths: [
        'databaseUrl',
        '*.databaseUrl',
        'password',
        '*.password',
        'sasl.password',
        'connectionString',
        '*.connectionString',
      ],
      censor: CENSOR,
    },
    hooks: { streamWrite: scrubber(secrets) },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Scrub what the process writes to stdout and stderr outside the logger too (kafkajs's console
 * logger, Node's warnings): the secrets then reach no output at all.
 */
export function scrubProcessOutput(secrets: readonly string[]): void {
  const scrub = scrubber(secrets);
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(
        typeof chunk === 'string' || Buffer.isBuffer(chunk) ? scrub(chunk.toString()) : chunk,
        ...rest,
      )) as typeof stream.write;
  }
}

export type Logger = ReturnType<typeof createLogger>;
