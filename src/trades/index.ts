export { forgetTrades } from './forget.js';
export { countOpenGaps, type GapFilter, type GapRow, listGaps } from './gaps.js';
export { recordTrades, type TradeStep, type TradeStepResult } from './step.js';
export { tradingDay } from './trading-day.js';
