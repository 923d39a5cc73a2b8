/**
 * What `readuntil()` accepts: one separator, or several of which the earliest match wins
 * (`checkSeparator()` in _checks.ts checks and encodes it).
 */
export type Separator = Uint8Array | string | ReadonlyArray<Uint8Array | string>;

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
