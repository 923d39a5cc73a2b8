import { socketClosedError } from '../errors.ts';

/**
 * A socket's `writable`, made on first need, so that an idle connection holds no stream; and
 * the writer the connection's `StreamWriter` takes instead of asking for it (see
 * `Transport._claimWritable()`). While claimed, `writable` is locked, as after `getWriter()`.
 * Both socket classes keep theirs in one of these.
 *
 * @example
 * ```ts
 * const sent: Uint8Array[] = [];
 * const side = new LazyWritable(() => ({ write: (chunk) => void sent.push(chunk) }), 65536);
 * side.claim();
 * side.stream.locked; // true: the claimed writer holds it
 * ```
 */
export class LazyWritable {
  readonly #sinkOf: () => Omit<UnderlyingSink<Uint8Array>, 'start'>;
  readonly #highWaterMark: number;
  #stream: WritableStream<Uint8Array> | null = null;
  #controller: WritableStreamDefaultController | null = null;
  #claimed = false;
  #claimedWriter: WritableStreamDefaultWriter<Uint8Array> | null = null;
  /** Why writing failed, once it has: a stream made later starts errored (`null`: the socket closed). */
  #failure: { error: unknown } | null = null;

  /**
   * @param sinkOf makes the stream's sink (its `write`, `close`, `abort`) when the stream is made
   * @param highWaterMark bytes the stream queues before `writer.ready` waits
   */
  constructor(sinkOf: () => Omit<UnderlyingSink<Uint8Array>, 'start'>, highWaterMark: number) {
    this.#sinkOf = sinkOf;
    this.#highWaterMark = highWaterMark;
  }

  /** The socket's `writable`: made now if need be, and locked while claimed. */
  get stream(): WritableStream<Uint8Array> {
    if (this.#claimed) this.claimedWriter();
    return this.#made();
  }

  /** Makes the connection's writer the one owner (see `Transport._claimWritable()`). */
  claim(): void {
    this.#claimed = true;
  }

  /** The owner's writer, made on its first call (see `Transport._claimedWriter()`). */
  claimedWriter(): WritableStreamDefaultWriter<Uint8Array> {
    this.#claimedWriter ??= this.#made().getWriter();
    return this.#claimedWriter;
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
    this.#stream ??= new WritableStream<Uint8Array>(
      {
        ...this.#sinkOf(),
        start: (controller) => {
          this.#controller = controller;
          if (this.#failure !== null) controller.error(this.#failure.error ?? socketClosedError());
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.#highWaterMark }),
    );
    return this.#stream;
  }
}
