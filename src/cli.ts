import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describeEnvironment } from './config.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('tick-ingest')
  .description('Kafka → TimescaleDB ingest worker for B3 market data (ProfitDLL bridge)')
  .version(pkg.version)
  .addHelpText('after', `\nEnvironment (read once at start):\n${describeEnvironment()}\n`);

await program.parseAsync(process.argv);
