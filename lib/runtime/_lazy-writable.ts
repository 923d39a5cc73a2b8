import { socketClosedError } from '../errors.ts';
import type { ClaimedWritable } from '../transport.ts';

/** What a socket's writable does with what it is given: send a chunk, end our side, give up. */
export interface SocketSink {
  write(chunk: Uint8Array): Promise<void> | undefined;
  /** Ends our side once the bytes written are out (a half-close, or TLS's close_notify). */
  close(): Promise<void>;
  abort(reason: unknown): void;
}

/**
 * A socket's `writable`, made on first need, so that an idle connection holds no stream; and,
 * claimed, the side the connection's `StreamWriter` owns instead (see
 * `Transport._claimWritable()`): `writable` is then locked, as after `getWriter()`. Both
 * socket classes keep theirs in one of these.
 *
 * @example
 * ```ts
 * const sent: Uint8Array[] = [];
 * const side = new LazyWritable(sent, (chunks) => ({
 *   write: (chunk) => void chunks.push(chunk),
 *   close: async () => {},
 *   abort: () => {},
 * }), 65536);
 * const owned = side.claim();
 * side.stream.locked; // true: the owner's writer holds it
 * await owned.end(); // no stream was needed
 * ```
 */
export class LazyWritable<Owner = unknown> implements ClaimedWritable {
  readonly #owner: Owner;
  readonly #sinkOf: (owner: Owner) => SocketSink;
  readonly #highWaterMark: number;
  #stream: WritableStream<Uint8Array> | null = null;
  #controller: WritableStreamDefaultController | null = null;
  /** The owner's writer: undefined while nobody claimed the side, null until the owner first asks for it. */
  #claimedWriter: WritableStreamDefaultWriter<Uint8Array> | null | undefined = undefined;
  /** Why writing failed, once it has: a stream made later starts errored (`null`: the socket closed). */
  #failure: { error: unknown } | null = null;

  /**
   * @param owner the socket, which `sinkOf` is given
   * @param sinkOf makes the sink of `owner` when it is first needed (the stream, or `end()`):
   *   a function shared by every socket of a class, where a closure per socket would cost
   *   an idle connection its bytes
   * @param highWaterMark bytes the stream queues before `writer.ready` waits
   */
  constructor(owner: Owner, sinkOf: (owner: Owner) => SocketSink, highWaterMark: number) {
    this.#owner = owner;
    this.#sinkOf = sinkOf;
    this.#highWaterMark = highWaterMark;
  }

  /** Bytes the stream queues before `writer.ready` waits. */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  /** The socket's `writable`: made now if need be, and locked while claimed. */
  get stream(): WritableStream<Uint8Array> {
    if (this.#claimedWriter !== undefined) this.writer();
    return this.#made();
  }

  /** Makes the connection's writer the one owner (see `Transport._claimWritable()`). */
  claim(): ClaimedWritable {
    this.#claimedWriter ??= null;
    return this;
  }

  /** The owner's writer, made on its first call. */
  writer(): WritableStreamDefaultWriter<Uint8Array> {
    this.#claimedWriter ??= this.#made().getWriter();
    return this.#claimedWriter;
  }

  /** Ends our side without making the stream (see `ClaimedWritable.end()`). */
  end(): Promise<void> {
    return this.#sinkOf(this.#owner).close();
  }

  /**
   * Errors the stream with `error`, now or as it is made; `null` means the socket is closed, an
   * error made only if there is a stream to see it (an `Error`'s stack is the costliest part of
   * closing an idle connection).
   */
  fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = { error };
    this.#controller?.error(error ?? socketClosedError());
  }

  #made(): WritableStream<Uint8Array> {
    if (this.#stream !== null) return this.#stream;
    const sink = this.#sinkOf(this.#owner);
    this.#stream = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          if (this.#failure !== null) controller.error(this.#failure.error ?? socketClosedError());
        },
        write: (chunk) => sink.write(chunk),
        close: () => sink.close(),
        abort: (reason) => sink.abort(reason),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.#highWaterMark }),
    );
    return this.#stream;
  }
}
