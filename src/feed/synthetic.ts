/**
 * A synthetic ProfitDLL feed: B3-like instruments, prices on their tick size, µs timestamps in
 * exchange-local ISO form. Pure and seeded, so tests, benchmarks and the demo produce the same data.
 */
export interface FeedMessage {
  kind: 'ticks' | 'book' | 'callbacks';
  key: string;
  value: string;
}

interface Instrument {
  symbol: string;
  price: number;
  tick: number;
  decimals: number;
}

const STOCKS = [
  'PETR4',
  'VALE3',
  'ITUB4',
  'BBDC4',
  'BBAS3',
  'ABEV3',
  'B3SA3',
  'WEGE3',
  'RENT3',
  'SUZB3',
  'ELET3',
  'ELET6',
  'PRIO3',
  'GGBR4',
  'CSNA3',
  'USIM5',
  'JBSS3',
  'BRFS3',
  'RADL3',
  'LREN3',
  'MGLU3',
  'VIVT3',
  'TIMS3',
  'EQTL3',
  'CMIG4',
  'SBSP3',
  'CPLE6',
  'HAPV3',
  'RDOR3',
  'RAIL3',
  'CCRO3',
  'EMBR3',
  'AZUL4',
  'GOLL4',
  'COGN3',
  'YDUQ3',
  'BPAC11',
  'SANB11',
  'KLBN11',
  'TAEE11',
  'ENEV3',
  'CSAN3',
  'UGPA3',
  'VBBR3',
  'BRKM5',
  'CYRE3',
  'MRVE3',
  'EZTC3',
];

export function instruments(): Instrument[] {
  const list: Instrument[] = STOCKS.map((symbol, i) => ({
    symbol,
    price: 8 + ((i * 7919) % 90),
    tick: 0.01,
    decimals: 2,
  }));
  list.push({ symbol: 'WINZ26', price: 131_000, tick: 5, decimals: 0 });
  list.push({ symbol: 'WDOZ26', price: 5_412.5, tick: 0.5, decimals: 1 });
  return list;
}

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ISO-8601 in São Paulo time (-03:00) with 6 fractional digits, from epoch microseconds. */
export function isoLocal(us: number): string {
  const local = us - 3 * 3600 * 1_000_000;
  const ms = Math.floor(local / 1000);
  const micros = String(((local % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}-03:00`;
}

const US_PER_DAY = 86_400_000_000;
const SAO_PAULO_OFFSET_US = 3 * 3600 * 1_000_000;

/**
 * Trade numbers as B3 gives them: per instrument and trading day (São Paulo's, like isoLocal),
 * consecutive from `start`, except where `skip` (asked before every number but a symbol-day's
 * first) leaves some out: a hole in the feed. Share one instance between generators, or between
 * successive calls, for one numbering.
 */
export class TradeNumbers {
  private readonly last = new Map<string, number>();
  /** Holes left so far (each skip after a symbol-day's first number). */
  holes = 0;

  constructor(
    private readonly start = 1,
    private readonly skip: () => number = () => 0,
  ) {}

  /** The next number of `symbol` on the trading day of `timeUs`. */
  next(symbol: string, timeUs: number): number {
    const key = `${symbol}\u0000${Math.floor((timeUs - SAO_PAULO_OFFSET_US) / US_PER_DAY)}`;
    const prev = this.last.get(key);
    let n = this.start;
    if (prev !== undefined) {
      const skipped = this.skip();
      if (skipped > 0) this.holes++;
      n = prev + 1 + skipped;
    }
    this.last.set(key, n);
    return n;
  }
}

export interface TickOptions {
  seed?: number;
  /** Epoch µs of the first tick. */
  startUs?: number;
  /** µs between consecutive ticks. */
  stepUs?: number;
  /** First sequence number: unique volumes derive from it, and trade numbers start after it. */
  firstSeq?: number;
  /**
   * Where the trade numbers come from; default: each symbol and day numbered from firstSeq + 1, so
   * calls with disjoint firstSeq ranges never share a number. Pass one instance to successive calls
   * to keep each symbol's numbers consecutive (no holes between calls).
   */
  trades?: TradeNumbers;
  /** Make each tick's volume its sequence number + 1, so tests can count duplicates in the table. */
  uniqueVolumes?: boolean;
}

export function* tickMessages(count: number, opts: TickOptions = {}): Generator<FeedMessage> {
  const rand = rng(opts.seed ?? 1);
  const list = instruments();
  const startUs = opts.startUs ?? Date.UTC(2026, 10, 24, 13, 0, 0) * 1000;
  const stepUs = opts.stepUs ?? 997;
  const first = opts.firstSeq ?? 0;
  const sides = ['BUY', 'SELL', 'NEUTRAL'] as const;
  const trades = opts.trades ?? new TradeNumbers(first + 1);
  for (let i = 0; i < count; i++) {
    const seq = first + i;
    const ins = list[Math.floor(rand() * list.length)] as Instrument;
    ins.price = Math.max(ins.tick, ins.price + (Math.floor(rand() * 5) - 2) * ins.tick);
    const volume = opts.uniqueVolumes ? seq + 1 : (1 + Math.floor(rand() * 50)) * 100;
    const value = JSON.stringify({
      symbol: ins.symbol,
      exchange: 'B3',
      price: ins.price.toFixed(ins.decimals),
      volume,
      aggressor: sides[Math.floor(rand() * 3)],
      tickTime: isoLocal(startUs + i * stepUs),
      tradeId: trades.next(ins.symbol, startUs + i * stepUs),
    });
    yield { kind: 'ticks', key: ins.symbol, value };
  }
}

export function bookValue(symbol: string, mid: number, levels: number, timeUs: number): string {
  const bids = Array.from({ length: levels }, (_, i) => ({
    price: (mid - 0.01 * (i + 1)).toFixed(2),
    volume: 100 * (i + 1),
  }));
  const asks = Array.from({ length: levels }, (_, i) => ({
    price: (mid + 0.01 * (i + 1)).toFixed(2),
    volume: 100 * (i + 1),
  }));
  return JSON.stringify({ symbol, exchange: 'B3', snapshotTime: isoLocal(timeUs), bids, asks });
}
