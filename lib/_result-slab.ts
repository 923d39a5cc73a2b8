import type { RingBuffer } from './_ring-buffer.js';

/** Results up to this size are views into a slab; larger ones get their own copy. */
const SLAB_RESULT_MAX = 4 * 1024;
/** How much of the buffer one slab copies ahead. */
const SLAB_SIZE = 16 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Copies read results out of a reader's buffer so that they belong to the caller.
 *
 * A fresh `Uint8Array` per 80-byte line costs about 300 ns on Node 20 (an off-heap backing
 * store each), more than finding the line. So small results are `subarray`s of a slab: a
 * copy of up to 16 KiB of the buffer made in one `slice`, which then serves every small
 * result that falls inside it, as Node's pooled `Buffer`s do. A slab is never written after
 * it is made, and bytes are located by their position in the stream (which never changes),
 * not by their place in the ring, so later reads and feeds cannot change a result; only
 * transferring a result's `.buffer` away would disturb the results that share it.
 */
export class ResultSlab {
  #slab: Uint8Array = EMPTY;
  /** The stream position of `#slab[0]`. */
  #position = 0;

  /** A copy of the first `count` bytes of `buffer`, which it then consumes. */
  take(buffer: RingBuffer, count: number): Uint8Array {
    const start = buffer.start;
    let result: Uint8Array;
    if (count > SLAB_RESULT_MAX) {
      result = buffer.bytes.slice(start, start + count);
    } else {
      let offset = buffer.position - this.#position;
      // Also true when a caller transferred the slab's buffer away: it reads as empty.
      if (offset < 0 || offset + count > this.#slab.length) {
        this.#slab = buffer.bytes.slice(start, start + Math.min(buffer.length, SLAB_SIZE));
        this.#position = buffer.position;
        offset = 0;
      }
      result = this.#slab.subarray(offset, offset + count);
    }
    buffer.consume(count);
    // No later result can come from this slab; let it go with the results that hold it.
    if (buffer.length === 0) this.#slab = EMPTY;
    return result;
  }
}
