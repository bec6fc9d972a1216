/**
 * A small strict JSON parser that keeps every number as its source text (JsonNumber), for the
 * rare message whose numbers a double cannot hold exactly, and the matching serialiser.
 * Strings are decoded by JSON.parse on their token, so escapes behave exactly as in the fast path.
 */

export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonNumber
  | JsonValue[]
  | { [key: string]: JsonValue };

class Parser {
  i = 0;
  depth = 0;
  constructor(
    readonly s: string,
    readonly maxDepth: number,
  ) {}

  enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`nested deeper than ${this.maxDepth} levels`);
  }

  fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++this.i);
  }

  value(): JsonValue {
    this.ws();
    const c = this.s.charCodeAt(this.i);
    if (c === 123) return this.object();
    if (c === 91) return this.array();
    if (c === 34) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.s.startsWith('true', this.i)) return this.literal(4, true);
    if (this.s.startsWith('false', this.i)) return this.literal(5, false);
    if (this.s.startsWith('null', this.i)) return this.literal(4, null);
    return this.fail('unexpected token');
  }

  literal<T>(len: number, v: T): T {
    this.i += len;
    return v;
  }

  object(): { [key: string]: JsonValue } {
    const out: { [key: string]: JsonValue } = {};
    this.enter();
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 125) {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 34) this.fail('expected a property name');
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 58) this.fail("expected ':'");
      this.i++;
      // An own "__proto__" property, as JSON.parse makes, not a prototype change.
      Object.defineProperty(out, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 125) {
        this.depth--;
        return out;
      }
      if (c !== 44) this.fail("expected ',' or '}'");
    }
  }

  array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.enter();
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 93) {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 93) {
        this.depth--;
        return out;
      }
      if (c !== 44) this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    let j = start + 1;
    for (;;) {
      const c = s.charCodeAt(j);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 34) break;
      j += c === 92 ? 2 : 1;
    }
    this.i = j + 1;
    return JSON.parse(s.slice(start, j + 1)) as string;
  }

  number(): JsonNumber {
    const s = this.s;
    const start = this.i;
    let j = start;
    if (s.charCodeAt(j) === 45) j++;
    const digits = (): number => {
      const from = j;
      while (s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
      return j - from;
    };
    const intStart = j;
    const intLen = digits();
    if (intLen === 0 || (intLen > 1 && s.charCodeAt(intStart) === 48)) this.fail('bad number');
    if (s.charCodeAt(j) === 46) {
      j++;
      if (digits() === 0) this.fail('bad number');
    }
    if ((s.charCodeAt(j) | 32) === 101) {
      j++;
      if (s.charCodeAt(j) === 43 || s.charCodeAt(j) === 45) j++;
      if (digits() === 0) this.fail('bad number');
    }
    this.i = j;
    return new JsonNumber(s.slice(start, j));
  }
}

/** Parses strict JSON, numbers kept as JsonNumber. Throws SyntaxError, also when nested deeper than maxDepth. */
export function parseLossless(text: string, maxDepth = 64): JsonValue {
  const p = new Parser(text, maxDepth);
  const v = p.value();
  p.ws();
  if (p.i !== text.length) p.fail('unexpected data after JSON');
  return v;
}

/** Serialises a value from parseLossless, numbers written as their source text. */
export function stringifyLossless(v: JsonValue): string {
  if (v instanceof JsonNumber) return v.text;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let k = 0; k < v.length; k++) out += (k ? ',' : '') + stringifyLossless(v[k] as JsonValue);
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(v)) {
    out += `${first ? '' : ','}${JSON.stringify(key)}:${stringifyLossless(v[key] as JsonValue)}`;
    first = false;
  }
  return `${out}}`;
}
