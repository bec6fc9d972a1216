import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { unpackBytes } from '../packed.js';
import { transferables } from '../tick-columns.js';
import { decodeBatch } from './decode-batch.js';
import type { DecodeRequest, DecodeResponse, ThreadData } from './decode-thread.js';

/** The decode thread: unpacks the values of one batch, decodes them, answers with the rows. */
const port = parentPort;
if (!port) throw new Error('decode-thread-main runs as a worker thread');
const { exitAfter } = (workerData ?? {}) as ThreadData;
let answered = 0;
port.on('message', (req: DecodeRequest) => {
  // Fault injection for the fault suite only (TICK_INGEST_FAULT_DECODE_EXIT_AFTER): die holding a
  // batch, mid-drain, so that batch fails and must be read again.
  if (exitAfter !== undefined && answered >= exitAfter) process.exit(70);
  let res: DecodeResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    const result = decodeBatch(req.kind, unpackBytes(req.values), req.timestampsMs, req.ctx);
    // The rows' arrays move to the main thread rather than being copied.
    transfer = result.rows.flatMap((r) => [r.text.buffer, r.ends.buffer, r.messages.buffer] as ArrayBuffer[]);
    transfer.push(...transferables(result.ticks));
    // The values go back to the pipeline, which keeps them until the rows commit.
    transfer.push(req.values.data.buffer as ArrayBuffer, req.values.lengths.buffer as ArrayBuffer);
    res = { id: req.id, result, values: req.values };
  } catch (err) {
    res = { id: req.id, error: errorMessage(err) };
  }
  port.postMessage(res, transfer);
  answered++;
});
