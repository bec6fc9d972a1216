/**
 * The peer's copy of the feed: each synthetic tick as Kafka Connect's JsonConverter reads it with
 * schemas.enable=true (schema + payload), columns named as in data_capture.market_ticks, so the JDBC
 * sink writes the same rows the worker does. Typed as the sink needs them: the price a Connect
 * Decimal (sent as a JSON number, which JsonConverter accepts), the time Debezium's ZonedTimestamp
 * (the feed's own ISO string with its offset, µs kept), so PostgreSQL gets numeric and timestamptz.
 */
const SCHEMA = {
  type: 'struct',
  name: 'market_tick',
  optional: false,
  fields: [
    { field: 'symbol', type: 'string', optional: false },
    { field: 'exchange', type: 'string', optional: false },
    {
      field: 'price',
      type: 'bytes',
      name: 'org.apache.kafka.connect.data.Decimal',
      version: 1,
      parameters: { scale: '8' },
      optional: false,
    },
    { field: 'volume', type: 'int64', optional: false },
    { field: 'aggressor', type: 'string', optional: true },
    {
      field: 'tick_time',
      type: 'string',
      name: 'io.debezium.time.ZonedTimestamp',
      version: 1,
      optional: false,
    },
    { field: 'trade_id', type: 'int64', optional: true },
  ],
};
const SCHEMA_JSON = JSON.stringify(SCHEMA);

interface SyntheticTick {
  symbol: string;
  exchange: string;
  price: string;
  volume: number;
  aggressor: string;
  tickTime: string;
  tradeId: number;
}

/** One synthetic tick message (src/feed/synthetic.ts's JSON) as a Connect schema + payload message. */
export function connectTick(value: string): string {
  const t = JSON.parse(value) as SyntheticTick;
  // The price's digits verbatim: a JSON number, never a double rounded on the way.
  const payload = `{"symbol":${JSON.stringify(t.symbol)},"exchange":${JSON.stringify(t.exchange)},"price":${t.price},"volume":${t.volume},"aggressor":${JSON.stringify(t.aggressor)},"tick_time":${JSON.stringify(t.tickTime)},"trade_id":${t.tradeId}}`;
  return `{"schema":${SCHEMA_JSON},"payload":${payload}}`;
}
