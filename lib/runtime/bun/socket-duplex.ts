import { Duplex } from 'node:stream';
import { socketClosedError } from '../../errors.ts';
import type { BunNativeSocket } from './namespace.ts';
import { sendQueued } from './send-queued.ts';

/** What a {@link BunSocketDuplex} starts with: the state of the connection it takes over. */
export interface BunSocketDuplexStart {
  /** Bytes taken from the socket already, which come before what it still holds (a server's client hello). */
  received?: readonly Uint8Array[];
  /** Bytes written to the socket that the kernel has not taken yet: they go out first. */
  unsent?: readonly Uint8Array[];
  /** Whether the peer's EOF came already. */
  peerEnded?: boolean;
}

/** A native socket whose `data` slot holds its duplex. */
type OwnedSocket = BunNativeSocket<BunSocketDuplex>;

/**
 * A `Bun.Socket` (from `Bun.listen`/`Bun.connect`) as a Node `Duplex`, for Bun's `node:tls` to
 * run TLS over: what `BunSocket.startTls()` hands the connection to, as the Deno adapter hands
 * its `Deno.Conn` (see `connDuplex()`). It takes the socket's `data` slot, where
 * `BunSocket.handlers` find whom to hand each event to, so its old owner hears nothing more of
 * it: once upgraded, no byte reaches the plain socket's protocol. (Not `socket.reload()`: on a
 * socket a listener accepted, that would give every connection of the listener these handlers.)
 *
 * Reading: the socket's bytes are pushed, and the socket paused while the `Duplex` is full
 * (`push()` false), until Node asks for more (`_read()`). Writing: `socket.write()` keeps
 * nothing, so what the kernel does not take waits here for Bun's `drain`, and the write is
 * done only then. Ending it half-closes the connection (`shutdown()`, after TLS's
 * close_notify); destroying it closes it (`end()`).
 *
 * @example
 * ```ts
 * // A socket of Bun.listen(), once the client asked for STARTTLS:
 * declare const native: ConstructorParameters<typeof BunSocketDuplex>[0];
 * const secure = new TLSSocket(new BunSocketDuplex(native), { isServer: true, key, cert });
 * ```
 */
export class BunSocketDuplex extends Duplex {
  readonly #socket: OwnedSocket;
  /** Written bytes the kernel has not taken yet, in order. */
  #unsent: Uint8Array[];
  /** The callback of the write (or of the end) waiting for `#unsent` to go out. */
  #written: ((error?: Error | null) => void) | null = null;
  /** The socket is closed: by the peer, by Bun, or by `_destroy()`. */
  #closed = false;
  /** What the socket's `error` handler reported; its `close` follows. */
  #error: Error | null = null;

  /**
   * Takes `socket` over: its events come here from now on.
   *
   * @param socket a connected native socket made with `BunSocket.handlers`, which nothing else
   *   may read or write from now on
   * @param start bytes read ahead, bytes not sent yet, and whether the peer has ended
   */
  constructor(socket: BunNativeSocket<unknown>, start: BunSocketDuplexStart = {}) {
    super();
    const owned = socket as OwnedSocket;
    this.#socket = owned;
    owned.data = this;
    this.#unsent = start.unsent === undefined ? [] : [...start.unsent];
    for (const chunk of start.received ?? []) if (chunk.byteLength > 0) this.push(chunk);
    if (start.peerEnded === true) this.push(null);
  }

  /** Node wants more bytes: the socket reads again. */
  override _read(): void {
    if (!this.#closed) this.#socket.resume();
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#closed) {
      callback(this.#error ?? socketClosedError());
      return;
    }
    this.#written = callback;
    this.#unsent.push(chunk);
    this.#send();
  }

  /** TLS has sent its close_notify: our side ends once the bytes before it are out. */
  override _final(callback: (error?: Error | null) => void): void {
    this.#written = (error) => {
      if (error == null && !this.#closed) this.#socket.shutdown();
      callback(error);
    };
    this.#send();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#written = null;
    if (!this.#closed) {
      this.#closed = true;
      // Bun runs the close handler within end(); _bunClose() then does nothing.
      this.#socket.end();
    }
    callback(error);
  }

  /** @internal Bun's `data`: the peer's bytes. */
  _bunData(data: Uint8Array): void {
    if (!this.push(data)) this.#socket.pause();
  }

  /** @internal Bun's `drain`: the kernel has room again. */
  _bunDrain(): void {
    this.#send();
  }

  /** @internal Bun's `end`: the peer's EOF. */
  _bunEnd(): void {
    this.push(null);
  }

  /** @internal Bun's `error`: its `close` follows. */
  _bunError(error: Error): void {
    this.#error ??= error;
  }

  /** Sends what is unsent, as far as the kernel takes it; the waiting write is done once all is. */
  #send(): void {
    const unsent = this.#unsent;
    if (sendQueued(this.#socket, unsent) < 0) {
      // Closed or shut down under us: the bytes cannot go out.
      unsent.length = 0;
      this.#writeDone(this.#error ?? socketClosedError());
    } else if (unsent.length === 0) {
      this.#writeDone(null);
    }
  }

  #writeDone(error: Error | null): void {
    const callback = this.#written;
    this.#written = null;
    callback?.(error);
  }

  /**
   * @internal Bun's `close`: a reset errors the stream; a clean close ends it, if the peer's FIN
   * did not (Bun reports no `end` after our `shutdown()`).
   */
  _bunClose(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const failure = error ?? this.#error;
    this.#unsent.length = 0;
    this.#writeDone(failure ?? socketClosedError());
    if (failure !== null) this.destroy(failure);
    else this.push(null);
  }
}
