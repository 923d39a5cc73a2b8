/**
 * The storage of every buffer not fed yet, shared: it has no room, so nothing is ever written
 * into it, and it is never handed out (results are copies or adopted chunks).
 */
const NO_STORAGE = new Uint8Array(0);

/**
 * The reader's byte buffer. Live bytes occupy `bytes[start, end)`; reads consume from the
 * front by moving `start`, appends fill the free tail `bytes[end, capacity)`.
 *
 * Unlike a wrap-around ring, the live bytes are always contiguous, so a separator search is
 * one `indexOf` over plain memory and a result is one copy. The room at the front is
 * reclaimed by sliding the live bytes down, but only once at least as many bytes have been
 * consumed as would be moved: each byte is therefore moved at most once per time it is
 * consumed, which keeps appending and consuming amortised O(1) per byte (CPython's
 * `bytearray` front deletion gives the same bound; re-copying on every read would be
 * quadratic).
 */
export class ByteBuffer {
  /** The storage. Replaced when it grows or shrinks, or swapped for one a BYOB read filled. */
  bytes: Uint8Array<ArrayBuffer>;
  start = 0;
  end = 0;
  /** How many bytes have passed through: the stream position of `bytes[start]`. */
  position = 0;
  #filled: Uint8Array | null = null;
  readonly #baseCapacity: number;
  /** The storage put aside while an adopted chunk is the storage (see `adopt()`). */
  #aside: Uint8Array<ArrayBuffer> | null = null;

  constructor(baseCapacity: number) {
    this.#baseCapacity = baseCapacity;
    // Allocated on the first append: a reader that is never fed costs nothing.
    this.bytes = NO_STORAGE;
  }

  get length(): number {
    return this.end - this.start;
  }

  /** `bytes[0, end)`: searches run over this view so they never scan stale bytes past `end`. */
  get filled(): Uint8Array {
    return (this.#filled ??= this.bytes.subarray(0, this.end));
  }

  /** Copies `data` in at the end. */
  append(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.end);
    this.#setEnd(this.end + data.length);
  }

  /** Makes sure the free tail holds at least `size` bytes, sliding or growing the storage. */
  reserve(size: number): void {
    const capacity = this.bytes.length;
    // An adopted chunk fills its storage: this never passes while one is the storage.
    if (capacity - this.end >= size) return;
    const length = this.length;
    const aside = this.#aside;
    if (aside !== null && length + size <= aside.length) {
      // Back to our own storage, with what is left of the chunk.
      this.#moveTo(aside);
    } else if (length + size <= capacity && this.start >= length && aside === null) {
      this.bytes.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.#setEnd(length);
    } else {
      this.#moveTo(new Uint8Array(Math.max(capacity * 2, length + size, this.#baseCapacity)));
    }
  }

  /**
   * Takes `storage`, whose first `filled` bytes come next in the stream, in place of the
   * (empty) current storage, which it returns for reuse.
   */
  swap(storage: Uint8Array<ArrayBuffer>, filled: number): Uint8Array<ArrayBuffer> {
    const previous = this.bytes;
    this.bytes = storage;
    this.start = 0;
    this.#setEnd(filled);
    return previous;
  }

  /**
   * Makes `chunk` the storage of the empty buffer, its bytes the live ones: arriving bytes
   * kept without a copy, for a transport that hands over each chunk it read and never touches
   * it again. The storage it replaces is put aside for the next append. Nothing is ever
   * appended into an adopted chunk, so `takeAdopted()` can hand it over whole.
   */
  adopt(chunk: Uint8Array<ArrayBuffer>): void {
    this.#aside ??= this.bytes;
    this.bytes = chunk;
    this.start = 0;
    this.#setEnd(chunk.length);
  }

  /** Whether the live bytes are an adopted chunk, all of it: `takeAdopted()` can hand it over. */
  get holdsWholeChunk(): boolean {
    return this.#aside !== null && this.start === 0 && this.end === this.bytes.length;
  }

  /** Consumes every byte by handing over the adopted chunk (see `holdsWholeChunk`); the storage put aside comes back. */
  takeAdopted(): Uint8Array<ArrayBuffer> {
    const chunk = this.bytes;
    this.position += chunk.length;
    this.bytes = this.#aside!;
    this.#aside = null;
    this.start = 0;
    this.#setEnd(0);
    return chunk;
  }

  /** Puts bytes that were consumed back in front, in their order (an aborted read returns them). */
  unshift(data: Uint8Array): void {
    const length = this.length;
    if (data.length <= this.start) {
      this.start -= data.length;
      this.bytes.set(data, this.start);
    } else {
      const merged = new Uint8Array(Math.max(this.bytes.length, data.length + length));
      merged.set(data);
      merged.set(this.bytes.subarray(this.start, this.end), data.length);
      this.bytes = merged;
      this.start = 0;
      this.#setEnd(data.length + length);
    }
    this.position -= data.length;
  }

  /** Drops `count` bytes from the front, and gives memory back once a burst has been read. */
  consume(count: number): void {
    this.start += count;
    this.position += count;
    if (this.length <= this.bytes.length >>> 3) this.#giveBackMemory();
  }

  /**
   * The first `count` live bytes, consumed, as an array of their own. When they fill most of
   * the storage, the storage itself is handed over and the buffer starts over with fresh
   * storage holding the rest: one allocation either way, and no copy of the bulk.
   */
  takeFront(count: number): Uint8Array<ArrayBuffer> {
    const start = this.start;
    let taken: Uint8Array<ArrayBuffer>;
    if (2 * count >= this.bytes.length) {
      taken = this.bytes.subarray(start, start + count);
      const rest = this.bytes.subarray(start + count, this.end);
      const aside = this.#aside;
      this.#aside = null;
      this.bytes = aside !== null && aside.length >= rest.length ? aside : new Uint8Array(Math.max(this.#baseCapacity, rest.length));
      this.bytes.set(rest);
      this.start = 0;
      this.#setEnd(rest.length);
      this.position += count;
    } else {
      taken = this.bytes.slice(start, start + count);
      this.consume(count);
    }
    return taken;
  }

  /** Drops everything. */
  clear(): void {
    this.position += this.length;
    this.start = 0;
    this.#setEnd(0);
    this.#giveBackMemory();
  }

  /** A copy of the first `count` live bytes (all of them by default). */
  copy(count = this.length): Uint8Array<ArrayBuffer> {
    return this.bytes.slice(this.start, this.start + count);
  }

  /**
   * Shrinks storage left large by a burst. Only well above the resting capacity: a steady
   * stream of chunks larger than it must not grow and shrink the storage once per chunk.
   */
  #giveBackMemory(): void {
    const aside = this.#aside;
    // What is left of a large adopted chunk (Bun's are about 300 KiB) goes back to the
    // storage put aside: no new storage per chunk.
    if (aside !== null && this.length <= aside.length) this.#moveTo(aside);
    else if (this.bytes.length > 4 * this.#baseCapacity) this.#moveTo(new Uint8Array(Math.max(this.#baseCapacity, this.length * 2)));
  }

  /** Moves the live bytes to the front of `storage`, our own, which becomes the storage (nothing is put aside then). */
  #moveTo(storage: Uint8Array<ArrayBuffer>): void {
    const length = this.length;
    storage.set(this.bytes.subarray(this.start, this.end));
    this.#aside = null;
    this.bytes = storage;
    this.start = 0;
    this.#setEnd(length);
  }

  #setEnd(end: number): void {
    this.end = end;
    this.#filled = null;
  }
}
