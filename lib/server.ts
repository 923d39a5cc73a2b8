/// <reference path="./_symbol-async-dispose.d.ts" preserve="true" />
import { runClientCallback, type CallbackKeeper, type ClientConnectedCallback } from './_client-callback.ts';
import type { ClientErrorHandler } from './options.ts';
import { checkSignalOptions, SIGNAL_OPTIONS } from './_checks.ts';
import { openStreams } from './_open-streams.ts';
import { whenClosed } from './_when-closed.ts';
import type { StreamWriter } from './stream-writer.ts';
import type { LossWatcher, SocketName, Transport } from './transport.ts';
import { socketNameText } from './_socket-name.ts';

/**
 * One listening socket of a server, as `server.sockets` lists it.
 *
 * @typeParam Name `HostPort` for `startServer()`'s sockets, `string` (the path) for `startUnixServer()`'s
 */
export interface ServerSocket<Name extends SocketName = SocketName> {
  /** The address it listens on: `[host, port]`, or the path of a Unix socket. */
  getsockname(): Name;
}

/** What a runtime adapter gives the server for each socket it listens on. */
export interface ServerListener extends ServerSocket {
  /**
   * Stops listening. Connections already accepted stay open. A promise, where one is returned,
   * settles once the listening socket is closed, if that is later (Deno's closes a turn later).
   */
  close(): Promise<void> | void;
}

/** What `Server` itself needs to know; the connection functions fill it in from their options. */
export interface ServerOptions {
  /** The limit of each client's `StreamReader` (default 65536). */
  limit?: number;
  /** Hears about a client callback that threw; the default logs it with `console.error`. */
  onError?: ClientErrorHandler;
}

/** A connection the server counts as its client until it is gone (`waitClosed()`, `closeClients()`). */
class Client implements LossWatcher, CallbackKeeper {
  readonly transport: Transport;
  /**
   * Held weakly: the callback owns its writer, and one it abandons must be collectable so its
   * connection gets closed (see `StreamWriter`), as CPython gh-114914 fixed.
   */
  writer: WeakRef<StreamWriter> | null = null;
  /** The writer, held strongly while the client callback runs (see `CallbackKeeper`). */
  _held: StreamWriter | null = null;
  /** The server's one function that forgets a client (a closure per client would cost memory per connection). */
  readonly #left: (client: Client) => void;

  constructor(transport: Transport, left: (client: Client) => void) {
    this.transport = transport;
    this.#left = left;
  }

  connectionLost(): void {
    this.#left(this);
  }
}

function ignore(): void {}

/**
 * A listening server (CPython's `asyncio.Server`), as `startServer()` and `startUnixServer()`
 * return it. Each accepted connection gets a `StreamReader` and a `StreamWriter` and is handed
 * to the client callback.
 *
 * `close()` stops listening and leaves the clients connected; `waitClosed()` waits for them
 * too (CPython 3.12.1+); `closeClients()`/`abortClients()` end them. `await using` closes the
 * server and waits.
 *
 * @example
 * ```ts
 * import { startServer } from 'asyncio-streams';
 *
 * await using server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readline());
 *   writer.close();
 *   await writer.waitClosed();
 * }, '127.0.0.1', 0);
 * console.log(server.sockets[0]!.getsockname()); // ['127.0.0.1', 40213]
 * ```
 */
export class Server<Name extends SocketName = SocketName> {
  readonly #clientConnectedCb: ClientConnectedCallback;
  readonly #limit: number | undefined;
  readonly #onError: ClientErrorHandler | undefined;
  #listeners: ServerListener[] = [];
  #sockets: ServerSocket[] = [];
  #isClosed = false;
  #serving = false;
  /** Connections accepted before `startServing()`, with their handshakes. */
  #pending: Array<{ transport: Transport; handshake: Promise<unknown> | undefined }> = [];
  readonly #clients = new Set<Client>();
  readonly #clientLeft = (client: Client): void => {
    if (this.#clients.delete(client)) this.#maybeWake();
  };
  /** Listening sockets closing that have not closed yet (see `ServerListener.close()`). */
  #listenersClosing = 0;
  /** `waitClosed()` callers; `null` once the server is closed and every client is gone. */
  #waiters: Array<() => void> | null = [];
  #servingForever = false;
  readonly #closeCalled: Promise<void>;
  #signalClose!: () => void;

  /**
   * Made by `startServer()`/`startUnixServer()` (the outline in `_serve.ts`), not by hand.
   *
   * @param clientConnectedCb called with `(reader, writer)` for each client
   * @param options the readers' `limit` and the `onError` hook
   * @internal
   */
  constructor(clientConnectedCb: ClientConnectedCallback, options: ServerOptions = {}) {
    if (typeof clientConnectedCb !== 'function') throw new TypeError('The client callback must be a function');
    this.#clientConnectedCb = clientConnectedCb;
    this.#limit = options.limit;
    this.#onError = options.onError;
    this.#closeCalled = new Promise((resolve) => {
      this.#signalClose = resolve;
    });
  }

  /**
   * Hands the server its listening sockets (once, right after construction).
   * @internal
   */
  _attachListeners(listeners: readonly ServerListener[]): void {
    this.#listeners = [...listeners];
    this.#sockets = listeners.map((listener) => {
      const name = listener.getsockname();
      return { getsockname: () => name };
    });
  }

  /**
   * Takes a connection a listener accepted: served now, or once `startServing()` is called.
   * With a `handshake` (TLS), the client callback waits for it; a failed handshake drops the
   * connection silently, as asyncio only logs it in debug mode. Either way the connection
   * counts as a client from now on (`waitClosed()`, `closeClients()`).
   * @internal
   */
  _accept(transport: Transport, handshake?: Promise<unknown>): void {
    if (this.#isClosed) {
      transport.close().catch(ignore);
    } else if (this.#serving) {
      this.#serve(transport, handshake);
    } else {
      this.#pending.push({ transport, handshake });
    }
  }

  /** The listening sockets, each with `getsockname()`; empty once closed. */
  get sockets(): readonly ServerSocket<Name>[] {
    // The function that made the server chose `Name` by the kind of socket it listens on.
    return this.#isClosed ? [] : (this.#sockets as ServerSocket<Name>[]);
  }

  /** Whether the server accepts connections (after `startServing()`, before `close()`). */
  isServing(): boolean {
    return this.#serving;
  }

  /**
   * Starts handing connections to the callback (needed only with `startServing: false`).
   * Idempotent. Connections that arrived before are served now.
   *
   * @throws {Error} when the server is closed
   */
  async startServing(): Promise<void> {
    if (this.#isClosed) throw new Error(`server ${this} is closed`);
    if (!this.#serving) {
      this.#serving = true;
      const pending = this.#pending;
      this.#pending = [];
      for (const { transport, handshake } of pending) this.#serve(transport, handshake);
    }
    // CPython's sleep(0): lets the first connections start.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /**
   * Serves until the server is closed: resolves after `close()` once every client is gone;
   * aborting `signal` closes the server, waits the same way, then rejects with the reason
   * (CPython's cancellation of `serve_forever()`).
   *
   * @param options `{ signal }`
   * @throws {Error} when already serving forever, or when the server is closed
   * @throws {TypeError} for an option it does not take, or a `signal` that is not an AbortSignal
   * @example
   * ```ts
   * const controller = new AbortController();
   * process.once('SIGINT', () => controller.abort());
   * await server.serveForever({ signal: controller.signal }).catch(() => {});
   * ```
   */
  async serveForever(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#servingForever) throw new Error(`server ${this} is already being awaited on serveForever()`);
    if (this.#isClosed) throw new Error(`server ${this} is closed`);
    const signal = checkSignalOptions(options, SIGNAL_OPTIONS, 'serveForever()');
    signal?.throwIfAborted();
    this.#servingForever = true;
    const onAbort = (): void => this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.startServing();
      await this.#closeCalled;
      await this.waitClosed();
      signal?.throwIfAborted();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#servingForever = false;
    }
  }

  /**
   * Stops listening; the clients stay connected (see `closeClients()`). A running
   * `serveForever()` ends. Idempotent.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#serving = false;
    for (const listener of this.#listeners) {
      const closing = listener.close();
      if (closing === undefined) continue;
      // waitClosed() waits for the port (or path) to be free too, as CPython's does.
      this.#listenersClosing += 1;
      void closing.then(() => {
        this.#listenersClosing -= 1;
        this.#maybeWake();
      });
    }
    this.#listeners = [];
    this.#closePending();
    this.#signalClose();
    this.#maybeWake();
  }

  /** Resolves once the server is closed and every client connection is gone. */
  async waitClosed(): Promise<void> {
    const waiters = this.#waiters;
    if (waiters === null) return;
    await new Promise<void>((resolve) => waiters.push(resolve));
  }

  /**
   * Closes every client connection gracefully: queued bytes go out first. Connections held
   * until `startServing()` are closed too (nothing was written to them).
   */
  closeClients(): void {
    this.#closePending();
    for (const client of this.#clients) {
      const writer = client.writer?.deref();
      if (writer !== undefined) writer.close();
      else client.transport.close().catch(ignore);
    }
  }

  /** Closes every client connection at once, dropping what is queued; those held until `startServing()` too. */
  abortClients(): void {
    this.#closePending();
    for (const client of this.#clients) client.transport.close().catch(ignore);
  }

  /** Closes the connections held until `startServing()`: they will never be served. */
  #closePending(): void {
    for (const { transport } of this.#pending) transport.close().catch(ignore);
    this.#pending = [];
  }

  /** `await using server = ...`: closes the server and waits for it (`close()` + `waitClosed()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  /** `<Server sockets=[127.0.0.1:8888]>`, after CPython's `repr()`. */
  toString(): string {
    return `<Server sockets=[${this.sockets.map((socket) => socketNameText(socket.getsockname())).join(', ')}]>`;
  }

  #serve(transport: Transport, handshake: Promise<unknown> | undefined): void {
    const client = new Client(transport, this.#clientLeft);
    this.#clients.add(client);
    if (handshake === undefined) {
      // The connection's protocol tells the client when it is gone.
      this.#connect(client, client);
      return;
    }
    // Until the handshake is done there is no protocol: the transport tells.
    whenClosed(transport, () => client.connectionLost());
    handshake.then(() => this.#connect(client, null)).catch(() => void transport.close().catch(ignore));
  }

  /** Gives the client its reader and writer and calls the client callback. */
  #connect(client: Client, lossWatcher: LossWatcher | null): void {
    const [reader, writer] = openStreams(client.transport, this.#limit, true, lossWatcher);
    client.writer = new WeakRef(writer);
    runClientCallback(this.#clientConnectedCb, reader, writer, client, this.#onError);
  }

  #maybeWake(): void {
    if (!this.#isClosed || this.#clients.size > 0 || this.#listenersClosing > 0) return;
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    for (const resolve of waiters) resolve();
  }
}
