import kafkajs from 'kafkajs';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config.js';
import { kafkaConfig } from '../consumers/kafka-client.js';
import { DEFAULT_REPLAY_FRACTION, DEFAULT_SKIP_FRACTION, type Expected } from './mix.js';
import { type ProduceOptions, type ProduceProgress, produceFeed, type Topics } from './produce.js';

/** The variables `produce` reads: Kafka connection and topic names only. */
export const PRODUCE_ENV = [
  'KAFKA_BROKERS',
  'KAFKA_CLIENT_ID',
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'TOPIC_TICKS',
  'TOPIC_BOOK',
  'TOPIC_CALLBACKS',
] as const;

const positive = z.coerce.number().positive();
const flags = z.object({
  count: z.coerce.number().int().positive().optional(),
  rate: positive.optional(),
  invalid: z.coerce.number().min(0).max(1).default(0.01),
  replay: z.coerce.number().min(0).max(1).default(DEFAULT_REPLAY_FRACTION),
  skip: z.coerce.number().min(0).max(1).default(DEFAULT_SKIP_FRACTION),
  mix: z
    .string()
    .default('70,20,10')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]))
    .refine(([a, b, c]) => a + b + c > 0, 'at least one weight must be positive'),
  seed: z.coerce.number().int().default(7),
  span: positive.default(600),
  quiet: z.boolean().default(false),
});
export type ProduceFlags = z.input<typeof flags>;

/**
 * From the command's flags to the feed's options. Message times: at a rate they advance with it
 * from now; a count without a rate is spread over the last `span` seconds, ending now.
 */
export function produceOptions(raw: ProduceFlags, nowUs: number): ProduceOptions & { quiet: boolean } {
  const parsed = flags.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`--${String(issue?.path[0] ?? '?')}`, issue?.message ?? 'is invalid');
  }
  const f = parsed.data;
  if (f.count === undefined && f.rate === undefined)
    throw new ConfigError('--count', 'give --count, --rate or both');
  const [ticks, book, callbacks] = f.mix;
  const stepUs = f.rate ? 1e6 / f.rate : (f.span * 1e6) / (f.count ?? 1);
  return {
    ...(f.count !== undefined ? { count: f.count } : {}),
    ...(f.rate !== undefined ? { rate: f.rate } : {}),
    invalidFraction: f.invalid,
    replayFraction: f.replay,
    skipFraction: f.skip,
    weights: { ticks, book, callbacks },
    seed: f.seed,
    stepUs,
    startUs: f.rate ? nowUs : nowUs - (f.count ?? 0) * stepUs,
    quiet: f.quiet,
  };
}

export function describeProgress(p: ProduceProgress, topics: Topics): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.sent * 1000) / p.elapsedMs) : 0;
  const per = (Object.keys(topics) as Array<keyof Topics>)
    .map((k) => `${topics[k]} ${p.expected.messages[k]}`)
    .join(', ');
  return `produce: ${p.sent} sent (${per}), ${rate} msg/s`;
}

export function describeExpected(e: Expected): string {
  return [
    `expected: market_ticks +${e.marketTicks}, order_book_snapshots +${e.bookSnapshots},`,
    `profitdll_callbacks +${e.callbacks.PROCESSED + e.callbacks.FAILED + e.callbacks.SKIPPED}`,
    `(PROCESSED ${e.callbacks.PROCESSED}, FAILED ${e.callbacks.FAILED}, SKIPPED ${e.callbacks.SKIPPED}),`,
    `dead letters +${e.deadLetters};`,
    `duplicate trades ${e.duplicateTrades} (not stored), open holes in trade numbers +${e.holes}`,
  ].join(' ');
}

/** `tick-ingest produce`: send the synthetic feed to the configured topics until done or SIGINT. */
export async function produceCommand(raw: ProduceFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const cfg = loadConfig(env, PRODUCE_ENV);
  const opts = produceOptions(raw, Date.now() * 1000);
  const topics: Topics = { ticks: cfg.TOPIC_TICKS, book: cfg.TOPIC_BOOK, callbacks: cfg.TOPIC_CALLBACKS };
  // A CLI should fail, not retry forever as the worker does.
  const kafka = new kafkajs.Kafka({ ...kafkaConfig(cfg), retry: { retries: 5 } });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = process.stderr.isTTY;
  await producer.connect();
  try {
    const expected = await produceFeed(
      producer,
      topics,
      opts,
      (p) => {
        if (!opts.quiet)
          process.stderr.write(
            tty ? `\r${describeProgress(p, topics)}\x1b[K` : `${describeProgress(p, topics)}\n`,
          );
      },
      stop.signal,
    );
    if (tty && !opts.quiet) process.stderr.write('\n');
    console.log(describeExpected(expected));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.disconnect();
  }
}
