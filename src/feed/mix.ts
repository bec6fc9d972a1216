import {
  bookValue,
  type FeedMessage,
  instruments,
  isoLocal,
  rng,
  TradeNumbers,
  tickMessages,
} from './synthetic.js';

/**
 * A mixed synthetic ProfitDLL feed: ticks, book snapshots and callbacks of every type, a fraction
 * of them invalid. Each message carries where the worker should put it, so a demo or a test can
 * compare what landed with what was sent. Pure and seeded, like synthetic.ts.
 */
export type Outcome =
  | 'tick' // a market_ticks row
  | 'book' // an order_book_snapshots row
  | 'trade-callback' // PROCESSED callback + a market_ticks row
  | 'depth-callback' // PROCESSED callback + an order_book_snapshots row
  | 'failed-callback' // FAILED callback (payload kept)
  | 'skipped-callback' // SKIPPED callback
  | 'dead-letter' // ingest.dlq
  | 'replayed-tick' // a trade sent before, again: no row (a duplicate the worker skips)
  | 'replayed-trade-callback'; // PROCESSED callback of a trade sent before: no market_ticks row

export interface LabelledMessage extends FeedMessage {
  outcome: Outcome;
  /** A trade whose number jumps over some (the feed skipped them): one open hole in feed_gaps. */
  opensHole?: boolean;
}

export interface MixOptions {
  seed?: number;
  /** Relative weights of the three topics. */
  weights?: { ticks: number; book: number; callbacks: number };
  /** Share of messages that are invalid (0..1): dead letters, or FAILED for callback payloads. */
  invalidFraction?: number;
  /** Epoch µs of the first message. */
  startUs?: number;
  /** µs between consecutive messages of the whole feed. */
  stepUs?: number;
  /** Share of messages that start re-sending the last 1-3 trades, as a bridge does after a restart (0..1). */
  replayFraction?: number;
  /** Share of trades after which 1-3 trade numbers are left out: a hole in the feed (0..1). */
  skipFraction?: number;
}

export const DEFAULT_REPLAY_FRACTION = 0.002;
export const DEFAULT_SKIP_FRACTION = 0.001;
/** How many of the latest trades a replay can reach back to. */
const RECENT_TRADES = 3;

export const DEFAULT_WEIGHTS = { ticks: 70, book: 20, callbacks: 10 } as const;

type Kind = FeedMessage['kind'];
const SKIPPED_TYPES = ['STATE', 'ORDER', 'OFFER_BOOK', 'PRICE_DEPTH'] as const;

/** Dead letters, one builder per way of being wrong; `time` is an ISO local timestamp. */
const BROKEN: Record<Kind, Array<(symbol: string, time: string) => string>> = {
  ticks: [
    (s) => `{"symbol":"${s}","price":`,
    (s, t) => JSON.stringify({ symbol: s, price: '0', volume: 100, aggressor: 'BUY', tickTime: t }),
    (s, t) => JSON.stringify({ symbol: s, price: '10.5', volume: 100, aggressor: 'UP', tickTime: t }),
    (s) => JSON.stringify({ symbol: s, price: '10.5', volume: 100, aggressor: 'SELL' }),
  ],
  book: [
    (s, t) =>
      JSON.stringify({
        symbol: s,
        snapshotTime: t,
        bids: [{ price: '10.10', volume: 100 }],
        asks: [{ price: '10.00', volume: 100 }],
      }),
    (s, t) => JSON.stringify({ symbol: s, snapshotTime: t, bids: [], asks: [{ price: '10.00', volume: 1 }] }),
  ],
  callbacks: [
    (_s, t) => JSON.stringify({ type: 'HEARTBEAT', callbackTime: t, payload: {} }),
    (s) => JSON.stringify({ type: 'STATE', payload: { symbol: s } }),
  ],
};

function pick<T>(list: readonly T[], rand: () => number): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function chooseKind(weights: MixOptions['weights'] & object, r: number): Kind {
  const total = weights.ticks + weights.book + weights.callbacks;
  if (r * total < weights.ticks) return 'ticks';
  return r * total < weights.ticks + weights.book ? 'book' : 'callbacks';
}

/** A valid callback of a random type, with the outcome the worker must give it. */
function validCallback(
  symbol: string,
  mid: number,
  time: string,
  seq: number,
  rand: () => number,
  tradeId: () => number,
): { value: string; outcome: Outcome } {
  const r = rand();
  let type: string;
  let payload: Record<string, unknown>;
  let outcome: Outcome = 'skipped-callback';
  if (r < 0.3) {
    type = 'TRADE';
    payload = { symbol, price: mid.toFixed(2), volume: 100, aggressor: 'BUY', tradeId: tradeId() };
    outcome = 'trade-callback';
  } else if (r < 0.5) {
    type = 'PRICE_DEPTH';
    payload = JSON.parse(bookValue(symbol, mid, 3, 0)) as Record<string, unknown>;
    delete payload.snapshotTime; // falls back to callbackTime
    outcome = 'depth-callback';
  } else {
    type = pick(SKIPPED_TYPES, rand);
    payload =
      type === 'STATE'
        ? { connectionStateType: 2, result: 4 }
        : type === 'ORDER'
          ? {
              clOrdId: `ord-${seq}`,
              symbol,
              side: 'BUY',
              status: 'NEW',
              price: mid.toFixed(2),
              quantity: 100,
            }
          : { symbol, side: 'BID', position: 0, price: mid.toFixed(2), quantity: 100, action: 'ADD' };
  }
  return { value: JSON.stringify({ type, callbackTime: time, payload }), outcome };
}

/** A trade sent before, sent again: as it was, or (a tick) inside a TRADE callback, i.e. on another topic. */
function replay(m: LabelledMessage, timeUs: number, rand: () => number): LabelledMessage {
  if (m.kind === 'callbacks')
    return { kind: m.kind, key: m.key, value: m.value, outcome: 'replayed-trade-callback' };
  if (rand() < 0.5) return { kind: m.kind, key: m.key, value: m.value, outcome: 'replayed-tick' };
  const value = JSON.stringify({
    type: 'TRADE',
    callbackTime: isoLocal(timeUs),
    payload: JSON.parse(m.value),
  });
  return { kind: 'callbacks', key: m.key, value, outcome: 'replayed-trade-callback' };
}

/**
 * `count` messages over the three topics, in time order, seeded. Trades (ticks and TRADE callbacks)
 * are numbered per symbol and trading day; some numbers are skipped (holes) and some trades are
 * sent again (replays), each labelled, so what the worker must skip and report is known.
 */
export function* mixedFeed(count: number, opts: MixOptions = {}): Generator<LabelledMessage> {
  const seed = opts.seed ?? 7;
  const rand = rng(seed);
  const weights = opts.weights ?? DEFAULT_WEIGHTS;
  const invalid = opts.invalidFraction ?? 0.01;
  const startUs = opts.startUs ?? Date.UTC(2026, 10, 24, 13, 0, 0) * 1000;
  const stepUs = opts.stepUs ?? 1000;
  const tickShare = weights.ticks / (weights.ticks + weights.book + weights.callbacks) || 1;
  // Replays and skips draw from streams of their own, so they leave the rest of the feed as it was.
  const replayRand = rng(seed + 2);
  const skipRand = rng(seed + 3);
  const replayFraction = opts.replayFraction ?? DEFAULT_REPLAY_FRACTION;
  const skipFraction = opts.skipFraction ?? DEFAULT_SKIP_FRACTION;
  const trades = new TradeNumbers(1, () =>
    skipFraction > 0 && skipRand() < skipFraction ? 1 + Math.floor(skipRand() * 3) : 0,
  );
  // Ticks come from synthetic.ts's price walk, spaced so their times keep pace with the feed's.
  const ticks = tickMessages(Number.MAX_SAFE_INTEGER, {
    seed: seed + 1,
    startUs,
    stepUs: Math.max(1, Math.round(stepUs / tickShare)),
    trades,
  });
  const list = instruments().filter((i) => i.decimals === 2);
  const last = new Map<string, number>();
  const recent: LabelledMessage[] = [];
  const replays: LabelledMessage[] = [];
  /** A fresh trade: labelled with the hole its number opens, remembered for replays. */
  const trade = (m: LabelledMessage, holesBefore: number): LabelledMessage => {
    const out = trades.holes > holesBefore ? { ...m, opensHole: true } : m;
    recent.push(m);
    if (recent.length > RECENT_TRADES) recent.shift();
    return out;
  };
  for (let i = 0; i < count; i++) {
    const timeUs = startUs + Math.round(i * stepUs);
    if (replays.length === 0 && recent.length > 0 && replayRand() < replayFraction)
      replays.push(...recent.slice(-1 - Math.floor(replayRand() * RECENT_TRADES)));
    const again = replays.shift();
    if (again) {
      yield replay(again, timeUs, replayRand);
      continue;
    }
    const kind = chooseKind(weights, rand());
    const ins = pick(list, rand);
    // Books and trade callbacks quote around the symbol's last tick, so bars mix coherent prices.
    const mid = Math.max(1, last.get(ins.symbol) ?? ins.price);
    if (rand() < invalid) {
      const time = isoLocal(timeUs);
      // Half the bad callbacks have a valid envelope: stored as FAILED, not dead-lettered.
      if (kind === 'callbacks' && rand() < 0.5) {
        const value = JSON.stringify({ type: 'TRADE', callbackTime: time, payload: { symbol: ins.symbol } });
        yield { kind, key: ins.symbol, value, outcome: 'failed-callback' };
      } else {
        yield {
          kind,
          key: ins.symbol,
          value: pick(BROKEN[kind], rand)(ins.symbol, time),
          outcome: 'dead-letter',
        };
      }
      continue;
    }
    const holes = trades.holes;
    if (kind === 'ticks') {
      const tick = ticks.next().value as FeedMessage;
      last.set(tick.key, Number((JSON.parse(tick.value) as { price: string }).price));
      yield trade({ ...tick, outcome: 'tick' }, holes);
    } else if (kind === 'book') {
      yield { kind, key: ins.symbol, value: bookValue(ins.symbol, mid, 5, timeUs), outcome: 'book' };
    } else {
      const cb = validCallback(ins.symbol, mid, isoLocal(timeUs), i, rand, () =>
        trades.next(ins.symbol, timeUs),
      );
      const m: LabelledMessage = { kind, key: ins.symbol, ...cb };
      yield cb.outcome === 'trade-callback' ? trade(m, holes) : m;
    }
  }
}

/** What a feed should leave behind, from its messages' outcomes. */
export interface Expected {
  messages: Record<Kind, number>;
  marketTicks: number;
  bookSnapshots: number;
  callbacks: { PROCESSED: number; FAILED: number; SKIPPED: number };
  deadLetters: number;
  /** Trades sent again: ticks the worker must not store (tick_ingest_duplicate_trades_total). */
  duplicateTrades: number;
  /** Runs of skipped trade numbers: the open holes data_capture.feed_gaps must show. */
  holes: number;
}

export function emptyExpected(): Expected {
  return {
    messages: { ticks: 0, book: 0, callbacks: 0 },
    marketTicks: 0,
    bookSnapshots: 0,
    callbacks: { PROCESSED: 0, FAILED: 0, SKIPPED: 0 },
    deadLetters: 0,
    duplicateTrades: 0,
    holes: 0,
  };
}

/** Add one message to the running expectation (mutates and returns `e`, to stay cheap per message). */
export function tally(e: Expected, m: LabelledMessage): Expected {
  e.messages[m.kind]++;
  switch (m.outcome) {
    case 'tick':
      e.marketTicks++;
      break;
    case 'book':
      e.bookSnapshots++;
      break;
    case 'trade-callback':
      e.marketTicks++;
      e.callbacks.PROCESSED++;
      break;
    case 'depth-callback':
      e.bookSnapshots++;
      e.callbacks.PROCESSED++;
      break;
    case 'failed-callback':
      e.callbacks.FAILED++;
      break;
    case 'skipped-callback':
      e.callbacks.SKIPPED++;
      break;
    case 'dead-letter':
      e.deadLetters++;
      break;
    case 'replayed-tick':
      e.duplicateTrades++;
      break;
    case 'replayed-trade-callback':
      e.callbacks.PROCESSED++;
      e.duplicateTrades++;
      break;
  }
  if (m.opensHole) e.holes++;
  return e;
}
