import type { ByteBuffer } from './_byte-buffer.ts';

/** Results up to this size are views into a shared pool; larger ones are taken whole. */
const POOLED_RESULT_MAX = 4 * 1024;
/** How far ahead one copy into the pool reaches. */
const COPY_AHEAD = 16 * 1024;
const POOL_SIZE = 64 * 1024;
const EMPTY = new Uint8Array(0);

let pool = new Uint8Array(POOL_SIZE);
let poolUsed = 0;

/**
 * Reserves `size` bytes of the shared pool, never handed out twice, and returns their offset
 * in `pool`.
 */
function reservePool(size: number): number {
  // A pool whose buffer a caller transferred away is detached and reads as empty.
  if (poolUsed + size > pool.length) {
    pool = new Uint8Array(POOL_SIZE);
    poolUsed = 0;
  }
  const offset = poolUsed;
  // Keep regions 8-byte aligned, so typed-array views over results stay legal.
  poolUsed = (poolUsed + size + 7) & ~7;
  return offset;
}

/**
 * Copies read results out of a reader's buffer so that they belong to the caller.
 *
 * A fresh `Uint8Array` per 80-byte line costs about 300 ns on Node 20 (an off-heap backing
 * store each), more than finding the line. So a small result is a view of a region of
 * a shared 64 KiB pool, as Node's pooled `Buffer`s are, and one copy fills a region with up
 * to 16 KiB of what is buffered, so that the lines that follow need no copy of their own.
 * A region is never written after it is filled, and bytes are located by their position in
 * the stream (which never changes), not by their place in the buffer, so later reads and feeds
 * cannot change a result; only transferring a result's `.buffer` away would disturb the
 * results that share it.
 *
 * A large result takes the buffer's storage itself when it fills most of it (the buffer
 * starts over with fresh storage), which saves copying it; otherwise it is sliced. A result
 * that is exactly a chunk the buffer adopted from its transport is that chunk.
 */
export class ResultSlab {
  /** The pool's buffer holding a copy of the stream's bytes from `#position` on, at `#offset`. */
  #copied: ArrayBuffer = EMPTY.buffer;
  #offset = 0;
  #length = 0;
  #position = 0;

  /** A copy of the first `count` bytes of `buffer`, which it then consumes. */
  take(buffer: ByteBuffer, count: number): Uint8Array<ArrayBuffer> {
    // A transport's chunk taken whole is the caller's already: no copy at all.
    if (count === buffer.length && buffer.holdsWholeChunk) return buffer.takeAdopted();
    if (count > POOLED_RESULT_MAX) return buffer.takeFront(count);
    let offset = buffer.position - this.#position;
    // A caller that transferred a result's buffer away detached the copy (byteLength 0).
    if (offset < 0 || offset + count > this.#length || this.#copied.byteLength === 0) {
      const size = Math.min(buffer.length, COPY_AHEAD);
      const at = reservePool(size);
      pool.set(buffer.bytes.subarray(buffer.start, buffer.start + size), at);
      this.#copied = pool.buffer;
      this.#offset = at;
      this.#length = size;
      this.#position = buffer.position;
      offset = 0;
    }
    // A view made from the buffer, not subarray(): half the cost on V8 (no species lookup).
    const result = new Uint8Array(this.#copied, this.#offset + offset, count);
    buffer.consume(count);
    return result;
  }
}
