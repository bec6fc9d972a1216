export { forgetTrades } from './forget.js';
export { countOpenGaps, type GapFilter, type GapRow, listGaps } from './gaps.js';
export { checkTrades, type TradeCheck, type TradeDecision } from './step.js';
export { tradingDay } from './trading-day.js';
