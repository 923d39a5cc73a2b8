/** What `readuntil()` accepts: one separator, or several of which the earliest match wins. */
export type Separator = Uint8Array | string | ReadonlyArray<Uint8Array | string>;

const encoder = new TextEncoder();
const NEWLINE: readonly Uint8Array[] = [encoder.encode('\n')];

let lastText = '\n';
let lastEncoded: readonly Uint8Array[] = NEWLINE;

function toBytes(separator: unknown): Uint8Array {
  if (separator instanceof Uint8Array) return separator;
  if (typeof separator === 'string') return encoder.encode(separator);
  throw new TypeError(`Separator must be a Uint8Array or a string, got ${describe(separator)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/**
 * Validates `separator` and returns its separators sorted by length, shortest first, as
 * CPython 3.13 does with a tuple (the order decides which of two matches ending at the same
 * byte is reported against the limit). Messages are CPython's.
 */
export function normalizeSeparators(separator: Separator): readonly Uint8Array[] {
  if (typeof separator === 'string') {
    // Protocol code calls readuntil('\r\n') in a loop: skip re-encoding the same text.
    if (separator !== lastText) {
      lastEncoded = [encoder.encode(separator)];
      lastText = separator;
    }
    if (separator.length === 0) throw new RangeError('Separator should be at least one-byte string');
    return lastEncoded;
  }
  let separators: Uint8Array[];
  if (Array.isArray(separator)) {
    if (separator.length === 0) throw new RangeError('Separator should contain at least one element');
    separators = separator.map(toBytes).sort((a, b) => a.length - b.length);
  } else {
    separators = [toBytes(separator)];
  }
  if (separators[0]!.length === 0) throw new RangeError('Separator should be at least one-byte string');
  return separators;
}

/** Where a separator was found: `start` is its first byte, `end` just past its last. */
export interface SeparatorMatch {
  start: number;
  end: number;
}

/**
 * Finds the separator whose match ends first in `haystack[from, haystack.length)`; of two
 * that end at the same byte the shorter one wins, because `separators` is sorted shortest
 * first and only a strictly earlier end replaces a match (CPython 3.13 `readuntil`).
 * Returns `null` when none occurs.
 */
export function findSeparator(
  haystack: Uint8Array,
  from: number,
  separators: readonly Uint8Array[],
): SeparatorMatch | null {
  let best: SeparatorMatch | null = null;
  for (const separator of separators) {
    const start = indexOfSequence(haystack, separator, from);
    if (start === -1) continue;
    const end = start + separator.length;
    if (best === null || end < best.end) best = { start, end };
  }
  return best;
}

/** `bytes.find(needle, from)` for a non-empty needle: `indexOf` on its first byte, then a compare. */
export function indexOfSequence(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const length = needle.length;
  if (length === 1) return haystack.indexOf(first, from);
  const last = haystack.length - length;
  for (let at = haystack.indexOf(first, from); at !== -1 && at <= last; at = haystack.indexOf(first, at + 1)) {
    let i = 1;
    while (i < length && haystack[at + i] === needle[i]) i++;
    if (i === length) return at;
  }
  return -1;
}
