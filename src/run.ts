import { createWorker } from './compose.js';
import { loadConfig, redactUrl } from './config.js';
import { errorMessage } from './errors.js';
import { createLogger } from './observability/log.js';

/** `tick-ingest run`: the long-running worker, until SIGTERM/SIGINT, or exit 1 on a fatal error. */
export async function runWorker(): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL);
  log.info(
    { database: redactUrl(cfg.DATABASE_URL), brokers: cfg.KAFKA_BROKERS, group: cfg.KAFKA_GROUP_ID },
    'starting',
  );
  const worker = createWorker(cfg, log);
  let stopping = false;
  const shutdown = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error(
        { timeoutMs: cfg.SHUTDOWN_TIMEOUT_MS },
        'shutdown timed out; uncommitted rows will be read again by the next owner',
      );
      process.exit(1);
    }, cfg.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    worker.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  // Waiting cannot fix it: stop and exit non-zero, so the orchestrator restarts the worker.
  void worker.fatal.then(() => shutdown('fatal error', 1));
  try {
    await worker.start();
  } catch (err) {
    log.fatal({ err: errorMessage(err) }, 'the worker could not start');
    shutdown('start failed', 1);
  }
}
