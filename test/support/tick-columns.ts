import type { TickColumns } from '../../src/records.js';
import { type PackedTicks, PackedTicksBuilder } from '../../src/tick-columns.js';

/** Tick columns as the decode thread hands them over. */
export function packTicks(c: TickColumns): PackedTicks {
  const b = new PackedTicksBuilder();
  c.symbols.forEach((symbol, i) => {
    b.add(
      symbol,
      c.exchanges[i] as string,
      c.prices[i] as string,
      c.volumes[i] as string,
      c.timesUs[i] as number,
      c.tradeIds[i] ?? null,
    );
  });
  return b.build();
}
