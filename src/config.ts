import { z } from 'zod';

/**
 * The worker's configuration: read once from the environment at start, validated, typed.
 * Every entry names its variable so an error can say exactly which one is wrong.
 */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** libpq's sslmode values that node-postgres can honour (it has no `allow`/`prefer` fallback). */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export const ENV = {
  DATABASE_URL: {
    schema: z.string().url(),
    doc: 'PostgreSQL/TimescaleDB connection string (required); may carry sslmode and sslrootcert (never logged)',
  },
  PGPASSWORD: {
    schema: z.string().optional(),
    doc: 'database password when DATABASE_URL has none (never logged)',
  },
  PGSSLMODE: {
    schema: z.enum(SSL_MODES).optional(),
    doc: `TLS to the database when DATABASE_URL has no sslmode: ${SSL_MODES.join(', ')}; unset = disable`,
  },
  DATABASE_SSL_CA_FILE: {
    schema: z.string().min(1).optional(),
    doc: "PEM file of the CA that signed the database's certificate (or sslrootcert in DATABASE_URL)",
  },
  WRITER_USER: {
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case role name')
      .optional(),
    doc: '`migrate` only: create (or re-password) this login user as a member of tick_ingest_writer',
  },
  WRITER_PASSWORD: {
    schema: z.string().min(1).optional(),
    doc: '`migrate` only: its password (never logged)',
  },
  KAFKA_BROKERS: {
    schema: z
      .string()
      .min(1)
      .transform((s) => s.split(',').map((b) => b.trim()))
      .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port[,host:port...]')).min(1)),
    doc: 'comma-separated host:port list (required)',
  },
  KAFKA_CLIENT_ID: { schema: z.string().min(1).default('tick-ingest'), doc: 'Kafka client id' },
  KAFKA_GROUP_ID: {
    schema: z.string().min(1).default('tick-ingest'),
    doc: 'consumer group; replicas share partitions',
  },
  KAFKA_SSL: { schema: bool.default(false), doc: 'use TLS to the brokers (true/false)' },
  KAFKA_SSL_CA_FILE: { schema: z.string().optional(), doc: 'PEM file of the CA that signed the brokers' },
  KAFKA_SSL_REJECT_UNAUTHORIZED: { schema: bool.default(true), doc: "verify the brokers' certificates" },
  KAFKA_SASL_MECHANISM: {
    schema: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    doc: 'SASL mechanism (plain, scram-sha-256, scram-sha-512); unset = no SASL',
  },
  KAFKA_SASL_USERNAME: { schema: z.string().optional(), doc: 'SASL user name' },
  KAFKA_SASL_PASSWORD: { schema: z.string().optional(), doc: 'SASL password (never logged)' },
  KAFKA_ALLOW_PLAINTEXT_SASL: {
    schema: bool.default(false),
    doc: 'allow SASL without KAFKA_SSL (credentials readable on the network): only on purpose',
  },
  KAFKA_SESSION_TIMEOUT_MS: {
    schema: int(6_000, 300_000).default(30_000),
    doc: 'consumer group session timeout: how long a dead replica keeps its partitions',
  },
  KAFKA_FETCH_PARTITION_BYTES: {
    schema: int(16 << 10, 64 << 20).default(512 << 10),
    doc: 'most bytes one fetch takes of a partition: smaller lowers peak memory, for more CPU per row (docs/scaling.md)',
  },
  KAFKA_FETCH_BYTES: {
    schema: int(64 << 10, 256 << 20).default(4 << 20),
    doc: 'most bytes one fetch takes in all',
  },
  TOPIC_TICKS: { schema: z.string().min(1).default('market.ticks'), doc: 'trade ticks topic' },
  TOPIC_BOOK: { schema: z.string().min(1).default('market.book'), doc: 'order book snapshots topic' },
  TOPIC_CALLBACKS: {
    schema: z.string().min(1).default('profitdll.callbacks'),
    doc: 'raw ProfitDLL callbacks topic',
  },
  TOPIC_DLQ: { schema: z.string().min(1).default('ingest.dlq'), doc: 'dead-letter topic' },
  DLQ_MAX_REQUEST_BYTES: {
    schema: int(1024, 100 << 20).default(512 << 10),
    doc: "dead letters per produce request, in bytes (keep under the DLQ topic's max.message.bytes; larger requests are split anyway)",
  },
  OFFSET_OUT_OF_RANGE: {
    schema: z.enum(['earliest', 'latest', 'fail']).default('earliest'),
    doc: "a stored offset outside the partition's log (topic recreated, retention removed unread messages): start at the log's earliest or latest offset, or stop the worker",
  },
  METRICS_PORT: {
    schema: int(0, 65535).default(9464),
    doc: 'port of /metrics, /healthz, /readyz (0 = any free port)',
  },
  METRICS_HOST: {
    schema: z.string().min(1).optional(),
    doc: 'address the metrics port binds to (e.g. 127.0.0.1); unset = all interfaces, as Prometheus in a container needs',
  },
  FLUSH_ROWS: {
    schema: int(1, 1_000_000).default(20_000),
    doc: 'flush a batch when it holds this many rows',
  },
  FLUSH_BYTES: {
    schema: int(1024, 1 << 30).default(16 << 20),
    doc: 'flush a batch when its COPY text reaches this many bytes',
  },
  FLUSH_INTERVAL_MS: {
    schema: int(1, 600_000).default(100),
    doc: 'flush a batch this long after its first row',
  },
  MAX_PENDING_FLUSHES: {
    schema: int(1, 64).default(1),
    doc: 'closed batches queued for the database (besides one being written per lane) before fetching pauses',
  },
  FLUSH_LANES: {
    schema: int(1, 4).default(2),
    doc: "flush transactions written at the same time, each for its own partitions (a partition's batches are always written in order); one more database connection each",
  },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    doc: 'pino log level',
  },
  EXCHANGE_TIME_ZONE: {
    schema: z
      .string()
      .default('America/Sao_Paulo')
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'unknown IANA time zone'),
    doc: 'time zone of ProfitDLL local timestamps and of bar alignment',
  },
  FUTURE_WINDOW_MS: {
    schema: int(0, 86_400_000).default(300_000),
    doc: "reject timestamps further than this after the message's Kafka timestamp",
  },
  PAST_WINDOW_MS: {
    schema: int(0, 3_650 * 86_400_000).default(31 * 86_400_000),
    doc: "reject timestamps further than this before the message's Kafka timestamp (default: past the 30-day tick retention)",
  },
  BARS_ENABLED: {
    schema: bool.default(true),
    doc: "merge each flush's ticks into ohlcv_bars, in the flush transaction",
  },
  DB_STATEMENT_TIMEOUT_MS: {
    schema: int(1000, 3_600_000).default(60_000),
    doc: "PostgreSQL statement_timeout of the worker's sessions",
  },
  DB_LOCK_TIMEOUT_MS: {
    schema: int(100, 3_600_000).default(30_000),
    doc: "PostgreSQL lock_timeout of the worker's sessions",
  },
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: {
    schema: int(1000, 3_600_000).default(60_000),
    doc: 'PostgreSQL idle_in_transaction_session_timeout: the server ends a transaction whose worker went silent',
  },
  DB_QUERY_TIMEOUT_MS: {
    schema: int(1000, 3_600_000).default(90_000),
    doc: 'client-side limit of one query: a reply that never comes (a silent network) fails the query',
  },
  DB_CONNECT_TIMEOUT_MS: {
    schema: int(500, 600_000).default(10_000),
    doc: 'limit of opening a database connection',
  },
  FLUSH_DEADLINE_MS: {
    schema: int(1000, 3_600_000).default(120_000),
    doc: 'a flush transaction running longer has its connection dropped and is retried; /readyz says not ready meanwhile',
  },
  TICK_INGEST_FAULT_DECODE_EXIT_AFTER: {
    schema: int(1, 1_000_000).optional(),
    doc: 'FAULT INJECTION, for the fault suite only: the first decode thread exits when it receives a batch after answering this many (unset = off)',
  },
  SHUTDOWN_TIMEOUT_MS: {
    schema: int(1000, 600_000).default(15_000),
    doc: 'longest a graceful shutdown may take',
  },
} as const;

type EnvSpec = typeof ENV;
export type Config = { [K in keyof EnvSpec]: z.output<EnvSpec[K]['schema']> };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Parse and validate the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, only?: readonly (keyof EnvSpec)[]): Config {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV)) {
    if (only && !only.includes(name as keyof EnvSpec)) continue;
    const raw = env[name] === '' ? undefined : env[name];
    const parsed = (spec.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const why =
        raw === undefined
          ? 'is required'
          : `${issue?.message ?? 'is invalid'} (got ${JSON.stringify(redact(name, raw))})`;
      throw new ConfigError(name, why);
    }
    out[name] = parsed.data;
  }
  const cfg = out as Config;
  if (cfg.KAFKA_SASL_MECHANISM && (!cfg.KAFKA_SASL_USERNAME || !cfg.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError(
      cfg.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME',
      'is required when KAFKA_SASL_MECHANISM is set',
    );
  }
  if (cfg.KAFKA_SASL_MECHANISM && cfg.KAFKA_SSL === false && !cfg.KAFKA_ALLOW_PLAINTEXT_SASL) {
    throw new ConfigError(
      'KAFKA_SSL',
      `must be true when KAFKA_SASL_MECHANISM is set: ${cfg.KAFKA_SASL_MECHANISM} without TLS exposes the ` +
        'credentials on the network (set KAFKA_ALLOW_PLAINTEXT_SASL=true to accept that on purpose)',
    );
  }
  const urlMode = cfg.DATABASE_URL ? new URL(cfg.DATABASE_URL).searchParams.get('sslmode') : null;
  if (urlMode !== null && !(SSL_MODES as readonly string[]).includes(urlMode)) {
    throw new ConfigError(
      'DATABASE_URL',
      `sslmode must be one of ${SSL_MODES.join(', ')} (got "${urlMode}")`,
    );
  }
  return cfg;
}

function redact(name: string, value: string): string {
  if (name.includes('PASSWORD')) return '***';
  if (name === 'DATABASE_URL') return redactUrl(value);
  return value;
}

/** Hide the passwords of a connection string (user:password@ and ?password=), for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Every secret the configuration holds, as it may be written: the database password (in the URL's
 * user info or its ?password=, raw and percent-decoded, or PGPASSWORD) and the SASL password.
 * The log scrubs these from every line (src/observability/log.ts).
 */
export function secretsOf(cfg: Partial<Config>): string[] {
  const found = [cfg.PGPASSWORD, cfg.KAFKA_SASL_PASSWORD, cfg.WRITER_PASSWORD];
  if (cfg.DATABASE_URL) {
    const url = new URL(cfg.DATABASE_URL);
    found.push(url.password, ...url.searchParams.getAll('password'));
    const raw = /[?&]password=([^&#]*)/i.exec(cfg.DATABASE_URL)?.[1];
    found.push(raw);
  }
  const all = new Set<string>();
  for (const s of found) {
    if (!s) continue;
    all.add(s);
    all.add(safeDecode(s));
  }
  return [...all];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The environment reference, for `--help`. */
export function describeEnvironment(): string {
  const width = Math.max(...Object.keys(ENV).map((k) => k.length));
  return Object.entries(ENV)
    .map(([name, spec]) => {
      const def = (spec.schema as z.ZodType).safeParse(undefined);
      const shown = def.success && def.data !== undefined ? ` [default: ${JSON.stringify(def.data)}]` : '';
      return `  ${name.padEnd(width)}  ${spec.doc}${shown}`;
    })
    .join('\n');
}
