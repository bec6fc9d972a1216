import { loadConfig, redactUrl } from './config.js';
import { createLogger } from './observability/log.js';
import { Pipeline } from './pipeline.js';

/** `tick-ingest run`: the long-running worker, until SIGTERM/SIGINT. */
export async function runWorker(): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL);
  log.info(
    { database: redactUrl(cfg.DATABASE_URL), brokers: cfg.KAFKA_BROKERS, group: cfg.KAFKA_GROUP_ID },
    'starting',
  );
  const pipeline = new Pipeline(cfg, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error(
        { timeoutMs: cfg.SHUTDOWN_TIMEOUT_MS },
        'shutdown timed out; uncommitted rows will be read again by the next owner',
      );
      process.exit(1);
    }, cfg.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    pipeline.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await pipeline.start();
}
