/** The bar timeframes of data_capture.ohlcv_bars, finest first, with their time_bucket widths. */
export const TIMEFRAMES = [
  { name: '1m', interval: '1 minute', widthUs: 60_000_000 },
  { name: '5m', interval: '5 minutes', widthUs: 300_000_000 },
  { name: '15m', interval: '15 minutes', widthUs: 900_000_000 },
  { name: '1h', interval: '1 hour', widthUs: 3_600_000_000 },
  { name: '4h', interval: '4 hours', widthUs: 14_400_000_000 },
  { name: '1d', interval: '1 day', widthUs: 86_400_000_000 },
] as const;

export type Timeframe = (typeof TIMEFRAMES)[number]['name'];
