import pino from 'pino';

/** JSON logs; connection strings and secrets never reach them. */
export function createLogger(level: string) {
  return pino({
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
      censor: '***',
    },
  });
}

export type Logger = ReturnType<typeof createLogger>;
