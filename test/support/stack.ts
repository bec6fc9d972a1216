import { inject } from 'vitest';

export interface StackEndpoints {
  databaseUrl: string;
  kafkaBrokers: string;
  source: 'environment' | 'testcontainers' | 'native';
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEndpoints;
  }
}

/** The real Kafka and TimescaleDB the global setup started or found; throws if there is none. */
export function stack(): StackEndpoints {
  const s = inject('stack');
  if (!s?.databaseUrl || !s.kafkaBrokers)
    throw new Error('no stack endpoints were provided by the global setup');
  return s;
}
