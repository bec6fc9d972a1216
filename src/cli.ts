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

program
  .command('gaps')
  .description(
    'list the holes in the feed (data_capture.feed_gaps): the trade-number ranges to request from ProfitDLL history',
  )
  .option('--symbol <symbol>', 'only this symbol')
  .option('--day <YYYY-MM-DD>', 'only this trading day (exchange time)')
  .option('--open', 'only holes still open')
  .action(async (flags: { symbol?: string; day?: string; open?: boolean }) =>
    (await import('./trades/command.js')).gapsCommand(flags),
  );

program
  .command('produce')
  .description(
    'send a synthetic ProfitDLL feed (ticks, books, callbacks, some invalid) to the TOPIC_* topics',
  )
  .option('--count <n>', 'messages to send (with --rate: stop after n)')
  .option('--rate <msgs/s>', 'pace the feed; without --count run until SIGINT')
  .option('--invalid <fraction>', 'share of invalid messages, 0..1', '0.01')
  .option('--mix <ticks,book,callbacks>', 'relative weights of the three topics', '70,20,10')
  .option(
    '--replay <fraction>',
    'share of messages that re-send the last 1-3 trades (duplicates), 0..1',
    '0.002',
  )
  .option(
    '--skip <fraction>',
    'share of trades after which 1-3 trade numbers are left out (holes), 0..1',
    '0.001',
  )
  .option('--span <seconds>', 'with --count only: spread message times over the last N seconds', '600')
  .option('--seed <n>', 'seed of the generator', '7')
  .option('--quiet', 'no progress lines')
  .action(async (flags) => (await import('./feed/command.js')).produceCommand(flags));

program
  .command('bars')
  .description('rebuild ohlcv_bars from market_ticks for a range (default: everything), for repair')
  .option('--from <iso>', 'first tick time of the range (ISO 8601)')
  .option('--to <iso>', 'last tick time of the range (ISO 8601)')
  .option('--symbol <symbol>', 'only this symbol')
  .action(async (opts: { from?: string; to?: string; symbol?: string }) =>
    (await import('./bars/command.js')).barsCommand(opts),
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`tick-ingest: configuration error: ${err.message}`);
  process.exit(2);
}
