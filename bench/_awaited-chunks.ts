/**
 * A socket read the smallest asyncio-shaped way, the benchmarks' await floors: one promise per
 * chunk awaited, no buffer of its own (each chunk is a round trip's whole message on loopback,
 * or an HTTP request head). The socket's events call `received()` and `ended()`.
 */
export class AwaitedChunks {
  readonly #chunks: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  /** A chunk from the socket: wakes the loop waiting in `next()`. */
  received(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#woken();
  }

  /** The peer's EOF: `next()` gives null once the chunks are taken. */
  ended(): void {
    this.#ended = true;
    this.#woken();
  }

  /** The next chunk, or null at EOF. */
  async next(): Promise<Uint8Array | null> {
    if (this.#chunks.length === 0 && !this.#ended) await new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#chunks.shift() ?? null;
  }

  #woken(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
