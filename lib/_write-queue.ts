/** A write at least this large gets a chunk of its own; smaller ones are copied into a pool. */
const OWN_CHUNK_MIN = 16384;
/** The pool small writes are copied into, as Node's `Buffer` pool does: one allocation for many writes. */
const POOL_SIZE = 65536;
/** Writes up to this size are copied byte by byte: a loop beats `set()` there (~50 ns a call on V8). */
const SMALL_COPY_MAX = 32;

/**
 * The bytes a `StreamWriter` has taken and not yet handed to its stream, as copies: once
 * `write()` returns, the caller may change or reuse its buffer (asyncio's transports copy what
 * they cannot send at once). Small writes are copied one after the other into a shared pool,
 * and those queued together leave as one chunk, so a burst of them reaches the stream as a few
 * large chunks: N writes cost O(total bytes), whatever the stream costs per chunk (Node's
 * `WritableStream` queue costs O(queue length) per chunk it takes). A chunk handed out is never
 * written again: the pool only grows past it.
 *
 * @example
 * ```ts
 * const queue = new WriteQueue();
 * const line = new TextEncoder().encode('PING\r\n');
 * queue.push(line);
 * line.fill(0);               // the queue holds its own copy
 * queue.push(line);
 * const chunk = queue.shift(); // both writes, 12 bytes, in one chunk
 * ```
 */
export class WriteQueue {
  /** Chunks closed and waiting, oldest first from `#head`; the open chunk comes after them. */
  #chunks: Uint8Array<ArrayBuffer>[] = [];
  #head = 0;
  #pool: Uint8Array<ArrayBuffer> | null = null;
  /** How much of the pool is used; the open chunk is the pool from `#openStart` to there. */
  #poolUsed = 0;
  #openStart = 0;
  #length = 0;

  /** The bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Queues a copy of `data` (which must not be empty). */
  push(data: Uint8Array): void {
    const size = data.byteLength;
    this.#length += size;
    if (size >= OWN_CHUNK_MIN) {
      this.#closeOpen();
      this.#chunks.push(new Uint8Array(data));
      return;
    }
    let pool = this.#pool;
    if (pool === null || POOL_SIZE - this.#poolUsed < size) {
      this.#closeOpen();
      pool = this.#pool = new Uint8Array(POOL_SIZE);
      this.#poolUsed = this.#openStart = 0;
    }
    const offset = this.#poolUsed;
    if (size <= SMALL_COPY_MAX) for (let i = 0; i < size; i += 1) pool[offset + i] = data[i]!;
    else pool.set(data, offset);
    this.#poolUsed = offset + size;
  }

  /** Takes the oldest chunk, which is the caller's from now on; `null` when nothing is queued. */
  shift(): Uint8Array<ArrayBuffer> | null {
    if (this.#head === this.#chunks.length) this.#closeOpen();
    if (this.#head === this.#chunks.length) return null;
    const chunk = this.#chunks[this.#head]!;
    this.#head += 1;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
    this.#length -= chunk.byteLength;
    return chunk;
  }

  /** Drops everything queued. */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#openStart = this.#poolUsed;
    this.#length = 0;
  }

  /** Closes the open chunk: it joins the waiting ones, and the next write opens another. */
  #closeOpen(): void {
    if (this.#poolUsed === this.#openStart) return;
    this.#chunks.push(this.#pool!.subarray(this.#openStart, this.#poolUsed));
    this.#openStart = this.#poolUsed;
  }
}
