/**
 * Copies read results out of the reader's buffer. Allocating a fresh `Uint8Array` per
 * 80-byte line costs about four times as much as copying it into a shared slab and handing
 * out a `subarray` (measured on Node 20), so small results share slabs, as Node's pooled
 * `Buffer`s do. A slab is never written again where a result lives, so results stay the
 * caller's; only transferring a result's `.buffer` would disturb its neighbours.
 */
const SLAB_SIZE = 64 * 1024;
const POOLED_MAX = 4 * 1024;

let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

/** A copy of `source[start, end)` that no later read, feed or write changes. */
export function copyResult(source: Uint8Array, start: number, end: number): Uint8Array {
  const length = end - start;
  if (length > POOLED_MAX) return source.slice(start, end);
  // A slab whose buffer a caller transferred away is detached (length 0): start a new one.
  if (used + length > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  const result = slab.subarray(used, used + length);
  result.set(source.subarray(start, end));
  // Keep the next result 8-byte aligned, so typed-array views over results stay legal.
  used = (used + length + 7) & ~7;
  return result;
}
