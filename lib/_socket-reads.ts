/**
 * A faster way into a socket's `readable` for the library's own reader: the socket's read
 * itself, straight into the reader's storage, past the byte stream. A BYOB read through the
 * stream transfers its buffer twice and runs the stream's pull machinery for every chunk;
 * over a `Deno.Conn` that cost about 5 µs per round trip, more than the read.
 *
 * The reader finds that read one of two ways: the socket hands it over with its readable side
 * when the connection's reader claims it (`ClaimedReadable`: the stream is then made only when
 * needed, so an idle connection holds none), or a socket whose stream someone made offers it
 * for whoever locks that stream (`offerSocketRead()`: `StreamReader.from(socket.readable)`).
 */

/** A socket that reads into a view itself (see `offerSocketRead()`). */
export interface SocketReader {
  /**
   * Reads into `view` and resolves with how many bytes it put at its front; never rejects.
   * Resolves 0 once the socket has nothing more to give this way (end, error, close, TLS): its
   * `readable` has then ended or errored, and reading it tells which.
   */
  _readInto(view: Uint8Array<ArrayBuffer>): Promise<number>;
}

/**
 * The readable side of a socket as its one owner, the connection's `StreamReader`, has it (see
 * `Transport._claimReadable()`): the socket's own read, and the stream only once it is needed.
 * @internal
 */
export interface ClaimedReadable extends SocketReader {
  /**
   * The reader of the socket's byte stream, made with the stream on the first call (the same
   * one every time): for what the socket's own read cannot tell, how it ended, and to cancel.
   */
  _claimedReader(): ReadableStreamBYOBReader;
}

/** The socket of each readable whose socket offered its own read; the socket itself, not a closure per socket. */
const socketReaders = new WeakMap<ReadableStream<Uint8Array>, SocketReader>();

/**
 * Lets whoever locks `readable` read with `socket._readInto()` instead, while it gives bytes
 * (see `SocketReader`).
 *
 * @example
 * ```ts
 * const readable = new ReadableStream<Uint8Array>({ type: 'bytes' });
 * offerSocketRead(readable, { _readInto: async () => 0 }); // nothing this way: read the stream
 * ```
 */
export function offerSocketRead(readable: ReadableStream<Uint8Array>, socket: SocketReader): void {
  socketReaders.set(readable, socket);
}

/**
 * The socket that offered its own read for `readable`, if any: for the one who locked it only.
 *
 * @example
 * ```ts
 * const socket = socketReaderOf(readable); // null for a stream nobody offered one for
 * ```
 */
export function socketReaderOf(readable: ReadableStream<Uint8Array>): SocketReader | null {
  return socketReaders.get(readable) ?? null;
}
