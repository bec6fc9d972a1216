/**
 * Exact decimals for numeric(18,8): parsed from text by hand, never through a JS float,
 * kept as canonical text ("30.12", "100", "0.0000001"), and as BigInt scaled by 10^8 where
 * arithmetic is needed (book totals, spread).
 */

export const MAX_SCALE = 8;
export const MAX_INTEGER_DIGITS = 10;
const SCALE = 10n ** BigInt(MAX_SCALE);

/** Why a text is not an acceptable decimal; preallocated so a failure costs nothing. */
export interface DecimalFailure {
  readonly reason: string;
}
const NOT_DECIMAL: DecimalFailure = { reason: 'is not a decimal number' };
const NEGATIVE: DecimalFailure = { reason: 'is negative' };
const TOO_PRECISE: DecimalFailure = { reason: `has more than ${MAX_SCALE} fractional digits (not rounded)` };
const TOO_LARGE: DecimalFailure = {
  reason: `has more than ${MAX_INTEGER_DIGITS} integer digits (does not fit numeric(18,8))`,
};

const ZERO = 48;
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Parses JSON number syntax (`-?digits(.digits)?([eE][+-]?digits)?`, leading zeros tolerated)
 * into canonical text: no exponent, no leading zeros, no trailing fractional zeros.
 * Zero comes back as "0" (sign dropped): the caller decides whether zero is allowed.
 */
export function parseDecimal(text: string): string | DecimalFailure {
  const n = text.length;
  let i = 0;
  const negative = n > 0 && text.charCodeAt(0) === 45; // '-'
  if (negative) i++;
  const intStart = i;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  const intLen = i - intStart;
  if (intLen === 0) return NOT_DECIMAL;
  let fracStart = i;
  let fracLen = 0;
  if (i < n && text.charCodeAt(i) === 46) {
    fracStart = ++i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    fracLen = i - fracStart;
    if (fracLen === 0) return NOT_DECIMAL;
  }
  let exponent = 0;
  let hasExponent = false;
  if (i < n && (text.charCodeAt(i) | 32) === 101) {
    hasExponent = true;
    i++;
    let expSign = 1;
    const s = text.charCodeAt(i);
    if (s === 43 || s === 45) {
      if (s === 45) expSign = -1;
      i++;
    }
    const expStart = i;
    while (i < n && isDigit(text.charCodeAt(i))) {
      // Saturate: any exponent this large is out of range unless the mantissa is zero.
      if (exponent < 1e6) exponent = exponent * 10 + text.charCodeAt(i) - ZERO;
      i++;
    }
    if (i === expStart) return NOT_DECIMAL;
    exponent *= expSign;
  }
  if (i !== n) return NOT_DECIMAL;

  // Digits D = int digits followed by frac digits; the decimal point sits before index `point`.
  const total = intLen + fracLen;
  let first = 0;
  while (first < total && digitAt(text, intStart, intLen, fracStart, first) === ZERO) first++;
  if (first === total) return '0';
  if (negative) return NEGATIVE;
  let last = total - 1;
  while (digitAt(text, intStart, intLen, fracStart, last) === ZERO) last--;
  const point = intLen + exponent;
  if (point - first > MAX_INTEGER_DIGITS) return TOO_LARGE;
  if (last + 1 - point > MAX_SCALE) return TOO_PRECISE;

  const canonical =
    !hasExponent && (first === 0 || intLen === 1) && (fracLen === 0 || text.charCodeAt(n - 1) !== ZERO);
  if (canonical) return text;

  let out = '';
  if (point <= first) out = '0';
  else
    for (let k = first; k < point; k++)
      out += k < total ? text[k < intLen ? intStart + k : fracStart + k - intLen] : '0';
  if (last >= point) {
    out += '.';
    for (let k = point; k <= last; k++)
      out += k < first ? '0' : text[k < intLen ? intStart + k : fracStart + k - intLen];
  }
  return out;
}

/** Char code of digit `k` of D (int digits, then frac digits): a plain function, no closure per call. */
function digitAt(text: string, intStart: number, intLen: number, fracStart: number, k: number): number {
  return text.charCodeAt(k < intLen ? intStart + k : fracStart + k - intLen);
}

export const isDecimalFailure = (r: string | DecimalFailure): r is DecimalFailure => typeof r !== 'string';

/** Canonical decimal text → integer scaled by 10^8. */
export function toScaled(canonical: string): bigint {
  const dot = canonical.indexOf('.');
  if (dot < 0) return BigInt(canonical) * SCALE;
  return BigInt(canonical.slice(0, dot) + canonical.slice(dot + 1).padEnd(MAX_SCALE, '0'));
}

/** Integer scaled by 10^8 (≥ 0) → canonical decimal text. */
export function fromScaled(scaled: bigint): string {
  const digits = scaled.toString().padStart(MAX_SCALE + 1, '0');
  const int = digits.slice(0, -MAX_SCALE);
  let end = digits.length;
  while (end > int.length && digits.charCodeAt(end - 1) === ZERO) end--;
  return end === int.length ? int : `${int}.${digits.slice(int.length, end)}`;
}
