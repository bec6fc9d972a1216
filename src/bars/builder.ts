import type pg from 'pg';
import { withClient } from '../db.js';
import { backoffMs, classifyError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { TouchedSpan } from '../writers/batch.js';
import { recomputeBars } from './recompute.js';
import { SpanSet } from './spans.js';

export interface BarBuilderOptions {
  /** IANA zone the buckets are aligned in (EXCHANGE_TIME_ZONE). */
  timeZone: string;
}

/**
 * Keeps ohlcv_bars equal to market_ticks after each committed flush. `ticksCommitted` only records
 * the touched spans and returns; one pass at a time (per process) takes everything pending,
 * coalesced, and recomputes it. Database errors are retried with backoff, data errors are logged
 * and their spans dropped (repair with `tick-ingest bars`); nothing is thrown to the worker.
 */
export class BarBuilder {
  private readonly pending = new SpanSet();
  private running: Promise<void> | undefined;
  private stopping = false;
  private newestCommittedUs = Number.NEGATIVE_INFINITY;
  private newestBuiltUs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: BarBuilderOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  ticksCommitted(spans: TouchedSpan[]): void {
    if (spans.length === 0) return;
    this.pending.add(spans);
    for (const s of spans) {
      this.newestCommittedUs = Math.max(this.newestCommittedUs, s.toUs);
      // Until the first pass, the bars are taken to reflect what came before the first span.
      if (!Number.isFinite(this.newestBuiltUs)) this.newestBuiltUs = s.fromUs - 1;
    }
    this.updateLag();
    if (!this.running && !this.stopping) this.running = this.drain();
  }

  /** Resolves when everything recorded so far is reflected in the bars (or given up). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Finish pending work (one attempt per pass, no retries), then accept no more. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (!this.running && !this.pending.isEmpty) this.running = this.drain();
    await this.idle();
  }

  private async drain(): Promise<void> {
    try {
      for (let attempt = 0; !this.pending.isEmpty; ) {
        const spans = this.pending.take();
        if (await this.pass(spans, attempt)) attempt = 0;
        else if (this.stopping) this.giveUp(spans, 'stopping');
        else {
          this.pending.add(spans);
          await sleep(backoffMs(attempt++));
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** One recompute; true when done with these spans (written, or dropped as bad data). */
  private async pass(spans: TouchedSpan[], attempt: number): Promise<boolean> {
    const end = this.metrics.barRecomputeDuration.startTimer();
    try {
      const counts = await withClient(this.pool, (client) =>
        recomputeBars(client, spans, this.opts.timeZone),
      );
      for (const [timeframe, n] of Object.entries(counts))
        if (n > 0) this.metrics.barsUpserted.inc({ timeframe }, n);
      end();
      this.built(spans);
      return true;
    } catch (err) {
      if (classifyError(err) === 'data') {
        this.giveUp(spans, errorMessage(err));
        return true;
      }
      this.log.warn(
        { err: errorMessage(err), attempt, spans: spans.length },
        'bar recompute failed; will retry',
      );
      return false;
    }
  }

  private built(spans: TouchedSpan[]): void {
    for (const s of spans) this.newestBuiltUs = Math.max(this.newestBuiltUs, s.toUs);
    this.updateLag();
  }

  private giveUp(spans: TouchedSpan[], reason: string): void {
    this.log.error(
      {
        reason,
        spans: spans.map((s) => ({
          symbol: s.symbol,
          from: new Date(Math.floor(s.fromUs / 1000)).toISOString(),
          to: new Date(Math.ceil(s.toUs / 1000)).toISOString(),
        })),
      },
      'bars not recomputed for these spans; repair with `tick-ingest bars --from --to --symbol`',
    );
  }

  /** Newest committed tick time minus the newest tick time the bars reflect, in seconds. */
  private updateLag(): void {
    if (!Number.isFinite(this.newestCommittedUs)) return;
    this.metrics.barLag.set(Math.max(0, this.newestCommittedUs - this.newestBuiltUs) / 1e6);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
