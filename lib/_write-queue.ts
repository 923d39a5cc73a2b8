/** A write at least this large gets a chunk of its own; smaller ones share one. */
const OWN_CHUNK_MIN = 16384;
/** Writes up to this size are copied byte by byte. */
const SMALL_COPY_MAX = 32;
/** The largest chunk small writes are gathered into. */
const GATHER_MAX = 1024 * 1024;

/**
 * The bytes a `StreamWriter` has taken and not yet handed to its stream, as copies: once
 * `write()` returns, the caller may change or reuse its buffer (asyncio's transports copy what
 * they cannot send at once). Small writes are gathered into shared chunks, so a burst of them
 * reaches the stream as a few large chunks: N writes cost O(total bytes), whatever the stream
 * costs per chunk (Node's `WritableStream` queue costs O(queue length) per chunk it takes).
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
  /** Chunks complete and waiting, oldest first from `#head`; the gathering chunk comes after them. */
  #chunks: Uint8Array<ArrayBuffer>[] = [];
  #head = 0;
  /** The chunk small writes are appended to, and how much of it is filled. */
  #gathering: Uint8Array<ArrayBuffer> | null = null;
  #gathered = 0;
  #length = 0;

  /** The bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Queues a copy of `data` (which must not be empty). */
  push(data: Uint8Array): void {
    const size = data.byteLength;
    const gathering = this.#gathering;
    if (gathering !== null && gathering.byteLength - this.#gathered >= size) {
      const offset = this.#gathered;
      // A loop beats set() below a few dozen bytes (set() costs ~50 ns a call on V8).
      if (size <= SMALL_COPY_MAX) for (let i = 0; i < size; i += 1) gathering[offset + i] = data[i]!;
      else gathering.set(data, offset);
      this.#gathered = offset + size;
      this.#length += size;
      return;
    }
    this.#endGathering();
    // A lone write, or a large one, gets an exact copy: the common write-then-drain sends one
    // chunk of its own size. Writes that follow it before the stream takes it are gathered.
    if (this.#length === 0 || size >= OWN_CHUNK_MIN) {
      this.#chunks.push(new Uint8Array(data));
    } else {
      // Growing with what is queued keeps the number of chunks logarithmic in a long burst.
      const storage = new Uint8Array(Math.min(GATHER_MAX, Math.max(OWN_CHUNK_MIN, this.#length)));
      storage.set(data);
      this.#gathering = storage;
      this.#gathered = size;
    }
    this.#length += size;
  }

  /** Takes the oldest chunk, which is the caller's from now on; `null` when nothing is queued. */
  shift(): Uint8Array<ArrayBuffer> | null {
    if (this.#head === this.#chunks.length) this.#endGathering();
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
    this.#gathering = null;
    this.#gathered = 0;
    this.#length = 0;
  }

  /** Closes the gathering chunk: it joins the complete ones, cut to what it holds. */
  #endGathering(): void {
    const gathering = this.#gathering;
    if (gathering === null) return;
    this.#chunks.push(gathering.subarray(0, this.#gathered));
    this.#gathering = null;
    this.#gathered = 0;
  }
}
