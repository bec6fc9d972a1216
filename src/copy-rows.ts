/**
 * Rows of one table as PostgreSQL COPY text, back to back in one byte array: how rows travel from
 * the decode thread through the batch to the COPY without a string or an object per row (the
 * arrays are transferred between threads, not copied, and the garbage collector never walks them).
 * Decoders build them, the sink writes them; both import this module, never each other.
 */
export interface CopyRows {
  /** The lines, UTF-8, each ending in '\n'. */
  text: Uint8Array;
  /** `ends[i]` is where line i ends (exclusive); it starts where line i - 1 ends (0 for the first). */
  ends: Int32Array;
  /** `messages[i]` is the index, in its Kafka batch, of the message line i came from. */
  messages: Int32Array;
}

/**
 * Tick lines start with their market_ticks id, which the sink knows only inside the flush's
 * transaction: the decoder leaves this many zeros and a tab, and the sink writes the id's digits
 * over them (leading zeros are valid bigint input). 19 digits hold every positive bigint.
 */
export const ID_WIDTH = 19;

export const lineStart = (rows: CopyRows, i: number): number => (i === 0 ? 0 : (rows.ends[i - 1] as number));

/** Bytes of rows' text in use. */
export const textLength = (rows: CopyRows): number =>
  rows.ends.length === 0 ? 0 : (rows.ends[rows.ends.length - 1] as number);

const ZEROS = `${'0'.repeat(ID_WIDTH)}\t`;

/** Collects one table's lines into CopyRows; the byte array grows by doubling. */
export class CopyRowsBuilder {
  private text: Buffer;
  private length = 0;
  private readonly ends: number[] = [];
  private readonly messages: number[] = [];

  /** `capacity`: the bytes expected (e.g. the batch's input size), so the array seldom grows. */
  constructor(
    private readonly withId: boolean,
    capacity = 0,
  ) {
    // Not Buffer.allocUnsafe: small ones come from a shared pool, and a pooled buffer cannot be transferred.
    this.text = Buffer.allocUnsafeSlow(capacity);
  }

  /** A whole line (with its '\n'), from message `message`. */
  add(line: string, message: number): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    this.begin(message, line.length * 3);
    this.length += this.text.write(line, this.length, 'utf8');
    this.ends.push(this.length);
  }

  /**
   * A line written piece by piece (ascii, digits, byte), then end(): no string per line, for the
   * fast path. `maxBytes` bounds what the pieces will write.
   */
  begin(message: number, maxBytes: number): void {
    this.reserve(maxBytes + ID_WIDTH + 2);
    if (this.withId) for (let k = 0; k < ZEROS.length; k++) this.text[this.length++] = ZEROS.charCodeAt(k);
    this.messages.push(message);
  }

  /** Text known to be ASCII and to need no COPY escaping. */
  ascii(s: string): void {
    const text = this.text;
    let n = this.length;
    for (let k = 0; k < s.length; k++) text[n++] = s.charCodeAt(k);
    this.length = n;
  }

  byte(c: number): void {
    this.text[this.length++] = c;
  }

  /** A whole number ≥ 0 as exactly `width` digits, zero-padded (it must fit). */
  digits(value: number, width: number): void {
    const text = this.text;
    let v = value;
    for (let k = this.length + width - 1; k >= this.length; k--) {
      text[k] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    this.length += width;
  }

  /** Ends the line begun last with its '\n'. */
  end(): void {
    this.text[this.length++] = 10;
    this.ends.push(this.length);
  }

  /** The rows so far; the builder must not be used afterwards (its bytes are handed over). */
  build(): CopyRows {
    return {
      text: new Uint8Array(this.text.buffer, 0, this.length),
      ends: Int32Array.from(this.ends),
      messages: Int32Array.from(this.messages),
    };
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.text.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.text.length * 2, this.length + bytes, 1 << 14));
    this.text.copy(bigger, 0, 0, this.length);
    this.text = bigger;
  }
}

/**
 * Writes an id's ID_WIDTH zero-padded digits over the id field of line `i` built with ids; the digits
 * of an earlier id there are overwritten (a retried flush reserves new ids).
 */
export function writeId(rows: CopyRows, i: number, digits: Uint8Array): void {
  rows.text.set(digits, lineStart(rows, i));
}
