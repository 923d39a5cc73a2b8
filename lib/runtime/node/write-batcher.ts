import type { Socket as NetSocket } from 'node:net';

/** What the batcher writes to: a `net.Socket` (or a `TLSSocket`), or any `Writable` like it. */
export type BatchedSocket = Pick<NetSocket, 'write' | 'cork' | 'uncork' | 'destroyed' | 'writableNeedDrain'>;

/**
 * Gathers the writes of one tick and sends them to a socket together at its end: one write,
 * or one writev for several chunks, instead of a system call each. A `WritableStream`'s sink
 * is called one microtask apart, and `process.nextTick` runs only once the microtask queue is
 * empty, so the writes a tick makes all land in one batch. A lone write skips Node's
 * `cork()`/`uncork()`, which costs about a microsecond per tick.
 *
 * @example
 * ```ts
 * const { connect } = await import('node:net');
 * const netSocket = connect(8888, '127.0.0.1');
 * const batcher = new WriteBatcher(netSocket, () => console.log('taken whole: no drain to wait for'));
 * batcher.push(new TextEncoder().encode('*1\r\n'));
 * batcher.push(new TextEncoder().encode('$4\r\nPING\r\n')); // both go out in one writev
 * ```
 */
export class WriteBatcher {
  readonly #socket: BatchedSocket;
  readonly #onTaken: () => void;
  /** The tick's first chunk; the usual batch is this one alone, which then needs no array. */
  #first: Uint8Array | null = null;
  /** The chunks after the first, if any. */
  #more: Uint8Array[] | null = null;
  #byteLength = 0;

  /**
   * @param socket where the batches go
   * @param onTaken called after a batch the socket took whole: it will emit no `'drain'`,
   *   though the batch alone may have looked full
   */
  constructor(socket: BatchedSocket, onTaken: () => void) {
    this.#socket = socket;
    this.#onTaken = onTaken;
  }

  /** The bytes waiting for the end of the tick, which the socket does not count yet. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** Adds `chunk` to this tick's batch, sent at the end of the tick (or at `flush()`). */
  push(chunk: Uint8Array): void {
    if (this.#first === null) {
      this.#first = chunk;
      process.nextTick(this.#scheduledFlush);
    } else if (this.#more === null) {
      this.#more = [chunk];
    } else {
      this.#more.push(chunk);
    }
    this.#byteLength += chunk.byteLength;
  }

  /** Sends the batch now: before the socket ends or is handed to TLS. A destroyed socket gets nothing. */
  flush(): void {
    const first = this.#first;
    if (first === null) return;
    const more = this.#more;
    this.#first = this.#more = null;
    this.#byteLength = 0;
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (more === null) {
      socket.write(first);
    } else {
      socket.cork();
      socket.write(first);
      for (const chunk of more) socket.write(chunk);
      socket.uncork();
    }
    if (!socket.writableNeedDrain) this.#onTaken();
  }

  readonly #scheduledFlush = (): void => this.flush();
}
