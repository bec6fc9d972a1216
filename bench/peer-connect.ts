/**
 * The benchmark's peer: Kafka Connect in standalone mode with the Debezium JDBC sink connector,
 * one task, writing the peer topic's ticks into data_capture.market_ticks of its own database.
 * Jars come from Maven Central through scripts/peer-jars.sh (cached outside the repo); Connect
 * runs as a plain java process, as the stack's Kafka does.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface PeerOptions {
  brokers: string;
  topic: string;
  /** postgres://… of the peer's database (trust auth: no password). */
  databaseUrl: string;
  /** The connector's name; Connect's consumer group is `connect-<name>`. */
  name: string;
  tasks: number;
  /** Rows per JDBC batch, and records per poll. */
  batchSize: number;
}

export interface Peer {
  child: ChildProcess;
  group: string;
  /** Connect's version and the connector's, for the results. */
  versions: { connect: string; debezium: string };
  stop(): Promise<void>;
}

const properties = (p: Record<string, string | number>) =>
  `${Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;

export function startPeer(root: string, opts: PeerOptions): Peer {
  const out = execFileSync('bash', [resolve(root, 'scripts/peer-jars.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const vars = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  const libs = vars.CONNECT_LIBS;
  const pluginPath = vars.PLUGIN_PATH;
  if (!libs || !pluginPath) throw new Error(`scripts/peer-jars.sh printed no paths: ${out}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  const db = new URL(opts.databaseUrl);
  writeFileSync(
    join(dir, 'worker.properties'),
    properties({
      'bootstrap.servers': opts.brokers,
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
      'offset.storage.file.filename': join(dir, 'offsets'),
      // Sink offsets are committed to the group on this interval: the bench reads progress from them.
      'offset.flush.interval.ms': 200,
      'plugin.path': pluginPath,
      listeners: 'http://127.0.0.1:0',
      'consumer.max.poll.records': opts.batchSize,
      'consumer.auto.offset.reset': 'earliest',
    }),
  );
  writeFileSync(
    join(dir, 'sink.properties'),
    properties({
      name: opts.name,
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max': opts.tasks,
      topics: opts.topic,
      // reWriteBatchedInserts: the PostgreSQL driver's own multi-row INSERT, the usual tuning.
      'connection.url': `jdbc:postgresql://${db.host}${db.pathname}?reWriteBatchedInserts=true`,
      'connection.username': decodeURIComponent(db.username) || 'postgres',
      'connection.password': '',
      'insert.mode': 'insert',
      'primary.key.mode': 'none',
      'schema.evolution': 'none',
      'collection.name.format': 'data_capture.market_ticks',
      'batch.size': opts.batchSize,
    }),
  );
  writeFileSync(
    join(dir, 'log4j.properties'),
    properties({
      'log4j.rootLogger': 'WARN, file',
      'log4j.appender.file': 'org.apache.log4j.FileAppender',
      'log4j.appender.file.File': join(dir, 'connect.log'),
      'log4j.appender.file.layout': 'org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern': '[%d] %p %m (%c)%n',
    }),
  );
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
      '-cp',
      `${libs}/*`,
      'org.apache.kafka.connect.cli.ConnectStandalone',
      join(dir, 'worker.properties'),
      join(dir, 'sink.properties'),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const version = (path: string) => /-(\d[\w.]*?)(?:\/plugins)?$/.exec(path)?.[1] ?? 'unknown';
  return {
    child,
    group: `connect-${opts.name}`,
    versions: { connect: version(resolve(libs, '..')), debezium: version(pluginPath) },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
