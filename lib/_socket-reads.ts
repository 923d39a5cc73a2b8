/**
 * A faster way into a socket's `readable` for the library's own reader: the socket's read
 * itself, straight into the reader's storage, past the byte stream. A BYOB read through the
 * stream transfers its buffer twice and runs the stream's pull machinery for every chunk;
 * over a `Deno.Conn` that cost about 5 µs per round trip, more than the read.
 */

/**
 * Reads into `view` and resolves with how many bytes it put at its front; never rejects.
 * Resolves 0 once the socket has nothing more to give this way (end, error, close, TLS): its
 * `readable` has then ended or errored, and reading it tells which.
 */
export type SocketRead = (view: Uint8Array<ArrayBuffer>) => Promise<number>;

const socketReads = new WeakMap<ReadableStream<Uint8Array>, SocketRead>();

/**
 * Lets whoever locks `readable` read with `read` instead, while it gives bytes (see `SocketRead`).
 *
 * @example
 * ```ts
 * const readable = new ReadableStream<Uint8Array>({ type: 'bytes' });
 * offerSocketRead(readable, async () => 0); // nothing this way: read the stream
 * ```
 */
export function offerSocketRead(readable: ReadableStream<Uint8Array>, read: SocketRead): void {
  socketReads.set(readable, read);
}

/**
 * The socket's own read offered for `readable`, if any: for the one who locked it only.
 *
 * @example
 * ```ts
 * const read = socketReadOf(readable); // null for a stream nobody offered one for
 * ```
 */
export function socketReadOf(readable: ReadableStream<Uint8Array>): SocketRead | null {
  return socketReads.get(readable) ?? null;
}
