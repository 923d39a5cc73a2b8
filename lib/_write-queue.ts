/** A write at least this large gets a chunk of its own; smaller ones are copied into a pool. */
const OWN_CHUNK_MIN = 16384;
/**
 * The pool small writes are copied into, shared by every writer as Node's `Buffer` pool is: one
 * allocation for many writes, and the bytes just written stay in the cache (a pool per writer,
 * with many connections, is cold memory at every write: it cost ~10% of an echo's CPU).
 */
const POOL_SIZE = 65536;
let pool: Uint8Array<ArrayBuffer> | null = null;
let poolUsed = 0;
/** Writes up to this size are copied byte by byte: a loop beats `set()` there (~50 ns a call on V8). */
const SMALL_COPY_MAX = 32;
/** The chunks of every queue holding none, shared (an idle writer's queue holds no array); never pushed to. */
const NO_CHUNKS: readonly Uint8Array<ArrayBuffer>[] = [];

/**
 * `chunk` with an `ArrayBuffer` of its own: a chunk `WriteQueue.shift()` cut from the shared
 * pool is copied, one that owns its whole buffer is returned as it is. For code that is not
 * the library's, which may keep, transfer or detach the buffer (a byte stream's `enqueue()`
 * transfers it): the pool holds other writers' bytes.
 *
 * @example
 * ```ts
 * const queue = new WriteQueue();
 * queue.push(new TextEncoder().encode('PING\r\n'));
 * const chunk = ownBuffer(queue.shift()!); // chunk.buffer.byteLength === 6
 * ```
 */
export function ownBuffer(chunk: Uint8Array): Uint8Array {
  return chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
}

/**
 * The bytes a `StreamWriter` has taken and not yet handed to its stream, as copies: once
 * `write()` returns, the caller may change or reuse its buffer (asyncio's transports copy what
 * they cannot send at once). Small writes are copied one after the other into a pool shared
 * by every queue, and those queued together leave as one chunk, so a burst of them reaches the
 * stream as a few large chunks: N writes cost O(total bytes), whatever the stream costs per
 * chunk (Node's `WritableStream` queue costs O(queue length) per chunk it takes). A chunk handed
 * out is never written again: the pool only grows past it. Its buffer is the pool: only the
 * library's own sockets take it as it is (others get `ownBuffer()`'s copy).
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
  #chunks = NO_CHUNKS;
  #head = 0;
  /** The open chunk: `#openPool` from `#openStart` to `#openEnd`; it grows while nothing follows it there. */
  #openPool: Uint8Array<ArrayBuffer> | null = null;
  #openStart = 0;
  #openEnd = 0;
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
      this.#append(new Uint8Array(data));
      return;
    }
    if (pool === null || POOL_SIZE - poolUsed < size) {
      pool = new Uint8Array(POOL_SIZE);
      poolUsed = 0;
    }
    // Another queue wrote after the open chunk: it cannot grow any more.
    if (this.#openPool !== pool || this.#openEnd !== poolUsed) {
      this.#closeOpen();
      this.#openPool = pool;
      this.#openStart = this.#openEnd = poolUsed;
    }
    const into = pool;
    const offset = poolUsed;
    if (size <= SMALL_COPY_MAX) for (let i = 0; i < size; i += 1) into[offset + i] = data[i]!;
    else into.set(data, offset);
    poolUsed = this.#openEnd = offset + size;
  }

  /** Takes the oldest chunk, which is the caller's from now on; `null` when nothing is queued. */
  shift(): Uint8Array<ArrayBuffer> | null {
    if (this.#head === this.#chunks.length) {
      // Only the open chunk (a writer's usual state): it skips the array.
      const open = this.#takeOpen();
      if (open !== null) this.#length -= open.byteLength;
      return open;
    }
    const chunk = this.#chunks[this.#head]!;
    this.#head += 1;
    if (this.#head === this.#chunks.length) {
      this.#chunks = NO_CHUNKS;
      this.#head = 0;
    }
    this.#length -= chunk.byteLength;
    return chunk;
  }

  /** Drops everything queued. */
  clear(): void {
    this.#chunks = NO_CHUNKS;
    this.#head = 0;
    this.#openPool = null;
    this.#openStart = this.#openEnd = 0;
    this.#length = 0;
  }

  /** Closes the open chunk: it joins the waiting ones, and the next write opens another. */
  #closeOpen(): void {
    const open = this.#takeOpen();
    if (open !== null) this.#append(open);
  }

  /** Closes the open chunk and returns it (null when there is none); the next write opens another. */
  #takeOpen(): Uint8Array<ArrayBuffer> | null {
    const open = this.#openPool;
    if (open === null || this.#openEnd === this.#openStart) return null;
    const chunk = open.subarray(this.#openStart, this.#openEnd);
    this.#openPool = null;
    this.#openStart = this.#openEnd = 0;
    return chunk;
  }

  #append(chunk: Uint8Array<ArrayBuffer>): void {
    if (this.#chunks === NO_CHUNKS) this.#chunks = [chunk];
    else (this.#chunks as Uint8Array<ArrayBuffer>[]).push(chunk);
  }
}
