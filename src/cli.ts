import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, describeEnvironment } from './config.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('tick-ingest')
  .description('Kafka → TimescaleDB ingest worker for B3 market data (ProfitDLL bridge)')
  .version(pkg.version)
  .addHelpText('after', `\nEnvironment (read once at start):\n${describeEnvironment()}\n`);

program
  .command('run')
  .description('run the worker: consume the topics, COPY into TimescaleDB, serve /metrics (until SIGTERM)')
  .action(async () => (await import('./run.js')).runWorker());

program
  .command('migrate')
  .description(
    'apply sql/data_capture/*.sql to DATABASE_URL: checksummed, advisory-locked, no-op when up to date',
  )
  .action(async () => (await import('./schema/commands.js')).migrateCommand());

program
  .command('retention')
  .description(
    'drop data_capture chunks older than their retention windows (the Apache edition has no policies)',
  )
  .action(async () => (await import('./schema/commands.js')).retentionCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`tick-ingest: configuration error: ${err.message}`);
  process.exit(2);
}
