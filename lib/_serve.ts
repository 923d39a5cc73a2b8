import { logClientError, type ClientConnectedCallback } from './_client-callback.ts';
import type { AddressFamily, ClientErrorHandler, StartServerOptions, StartUnixServerOptions } from './options.ts';
import { checkServer, checkUnixServer, startTlsOptionsOf, type CheckedServer, type CheckedTls } from './_checks.ts';
import { Server, type ServerListener } from './server.ts';
import type { HostPort, SocketStartTlsOptions, Transport } from './transport.ts';
import { listenOnPath, type SocketFiles } from './_unix-socket-file.ts';

/** One TCP address to listen on. */
export interface TcpAddress {
  /** The address; `null` for every interface (the runtime picks its dual-stack form). */
  host: string | null;
  port: number;
  /** Which interfaces "every interface" means: 4, 6, or 0 for both. */
  family: AddressFamily;
  backlog: number;
  /** `SO_REUSEPORT` (checked by `ServerRuntime.checkReuse` first). */
  reusePort: boolean;
}

/** The path of a Unix socket to listen on. */
export interface UnixAddress {
  path: string;
  backlog: number;
}

/** An accepted connection as the runtime wraps it: a transport that starts TLS with a context made once. */
export interface AcceptedSocket<Context> extends Transport {
  /** Starts TLS (server side) and returns the TLS socket, whose `opened` settles with the handshake. */
  startTls(options: SocketStartTlsOptions & { secureContext?: Context }): Transport;
}

/**
 * The building blocks a runtime adapter hands the server outline (`serveTcp()`,
 * `serveUnix()`), as hono's adapters hand `getContent` to its core: each is what only the
 * runtime can do, and the outline does the rest the same way everywhere.
 *
 * @typeParam Conn the runtime's accepted connection (`net.Socket`, `Deno.Conn`)
 * @typeParam Socket what the adapter wraps it in (`NodeSocket`, `DenoSocket`)
 * @typeParam Context what TLS is made of, made once per server (a `SecureContext`)
 */
export interface ServerRuntime<Conn, Socket extends AcceptedSocket<Context>, Context> {
  /** Refuses what the runtime's TCP listeners cannot do (`reuseAddress: false`, `reusePort`). */
  checkReuse(options: StartServerOptions<unknown>): void;
  /** Every address to listen on for `hosts`, in order, each once. */
  resolve(hosts: readonly string[], family: AddressFamily): Promise<readonly string[]>;
  /** Listens at `address`; each accepted connection goes to `deliver`, a failed accept to `onError`. */
  listen(address: TcpAddress | UnixAddress, deliver: (conn: Conn) => void, onError: ClientErrorHandler): Promise<ServerListener>;
  /**
   * Serves a listening socket the caller made (the `sock` option).
   * @throws {TypeError} when `sock` is not one of the runtime's listening sockets
   */
  adopt(sock: unknown, deliver: (conn: Conn) => void, onError: ClientErrorHandler): ServerListener;
  /** Sets `TCP_NODELAY`, and `SO_KEEPALIVE` when `keepAlive`, on an accepted TCP connection. */
  tuneTcp(conn: Conn, keepAlive: boolean): void;
  /** The accepted connection as a socket; `extra` wins over what it reads (a Unix client's names). */
  socketOf(conn: Conn, extra?: Readonly<Record<string, unknown>>): Socket;
  /**
   * What every client's TLS is made of, made once.
   * @throws the runtime's error for PEM text it cannot use, so that `startServer()` fails
   */
  secureContext(tls: CheckedTls): Context;
  /** The file calls of a Unix server's socket file (see `listenOnPath()`). */
  readonly files: SocketFiles;
}

/** How each client of a server gets its socket served: with TLS first, or as it is. */
type Serve<Socket> = (server: Server, socket: Socket) => void;

/**
 * How a server hands each accepted socket to `Server`: at once, or with `tls` once its
 * handshake is done (the server counts it as a client meanwhile, so `closeClients()` and
 * `waitClosed()` see it). The TLS context is made here, up front.
 */
function serverOf<Socket extends AcceptedSocket<Context>, Context>(
  runtime: Pick<ServerRuntime<unknown, Socket, Context>, 'secureContext'>,
  tls: CheckedTls | undefined,
): Serve<Socket> {
  if (tls === undefined) return (server, socket) => server._accept(socket);
  const options = { ...startTlsOptionsOf(tls), secureContext: runtime.secureContext(tls) };
  return (server, socket) => {
    let secure: Transport;
    try {
      secure = socket.startTls(options);
    } catch {
      // Closed before it could start: nothing to serve.
      void socket.close();
      return;
    }
    server._accept(secure, secure.opened);
  };
}

/** Listens on every address of `checked` (one port for all of them), or on none if one fails. */
async function listenTcp<Conn>(
  runtime: Pick<ServerRuntime<Conn, AcceptedSocket<unknown>, unknown>, 'listen' | 'resolve'>,
  checked: CheckedServer,
  reusePort: boolean,
  deliver: (conn: Conn) => void,
  onError: ClientErrorHandler,
): Promise<ServerListener[]> {
  const address: TcpAddress = { host: null, port: checked.port, family: checked.family, backlog: checked.backlog, reusePort };
  if (checked.hosts === undefined) return [await runtime.listen(address, deliver, onError)];
  const listeners: ServerListener[] = [];
  try {
    for (const host of await runtime.resolve(checked.hosts, checked.family)) {
      const listener = await runtime.listen({ ...address, host }, deliver, onError);
      listeners.push(listener);
      // With port 0, every address gets the port the first one was given.
      address.port = (listener.getsockname() as HostPort)[1];
    }
  } catch (error) {
    // The ports bound so far are free when startServer() rejects.
    await Promise.all(listeners.map((listener) => listener.close()));
    throw error;
  }
  return listeners;
}

/** Hands `server` its listeners and starts serving unless told not to. */
async function started<Name extends HostPort | string>(
  server: Server<Name>,
  listeners: readonly ServerListener[],
  checked: CheckedServer,
): Promise<Server<Name>> {
  server._attachListeners(listeners);
  if (checked.startServing) await server.startServing();
  return server;
}

/**
 * The outline of `startServer()` on every runtime (asyncio's `start_server`): checks the
 * arguments, makes the TLS context, listens on every address a host resolves to (or adopts
 * `sock`), and serves each accepted client (TCP_NODELAY, keep-alive, TLS with its deadline).
 *
 * @param runtime the adapter's building blocks
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options `startServer()`'s options
 * @returns the listening server
 * @throws what the checks, the runtime's TLS context and its listeners throw
 * @example
 * ```ts
 * declare const runtime: ServerRuntime<unknown, AcceptedSocket<unknown>, unknown>;
 * const server = await serveTcp(runtime, handle, '127.0.0.1', 0, {});
 * ```
 */
export async function serveTcp<Conn, Socket extends AcceptedSocket<Context>, Context>(
  runtime: ServerRuntime<Conn, Socket, Context>,
  clientConnectedCb: ClientConnectedCallback,
  host: string | readonly string[] | null | undefined,
  port: number | string | null | undefined,
  options: StartServerOptions<unknown>,
): Promise<Server<HostPort>> {
  const checked = checkServer(host, port, options);
  runtime.checkReuse(options);
  const serve = serverOf(runtime, checked.tls);
  const onError = checked.onError ?? logClientError;
  const server = new Server<HostPort>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  const deliver = (conn: Conn): void => {
    runtime.tuneTcp(conn, checked.keepAlive);
    serve(server, runtime.socketOf(conn));
  };
  const listeners = options.sock
    ? [runtime.adopt(options.sock, deliver, onError)]
    : await listenTcp(runtime, checked, Boolean(options.reusePort), deliver, onError);
  return started(server, listeners, checked);
}

/**
 * The outline of `startUnixServer()` on every runtime (asyncio's `start_unix_server`): as
 * `serveTcp()`, on one socket file (a stale one replaced, see `listenOnPath()`), each client
 * with the path as `sockname` and `''` as `peername`.
 *
 * @param runtime the adapter's building blocks
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param path where to create the socket
 * @param options `startUnixServer()`'s options
 * @returns the listening server
 * @throws what the checks, the runtime's TLS context, its listener and its file calls throw
 * @example
 * ```ts
 * declare const runtime: ServerRuntime<unknown, AcceptedSocket<unknown>, unknown>;
 * const server = await serveUnix(runtime, handle, '/run/app.sock', {});
 * ```
 */
export async function serveUnix<Conn, Socket extends AcceptedSocket<Context>, Context>(
  runtime: ServerRuntime<Conn, Socket, Context>,
  clientConnectedCb: ClientConnectedCallback,
  path: string | null | undefined,
  options: StartUnixServerOptions<unknown>,
): Promise<Server<string>> {
  const checked = checkUnixServer(path, options);
  const serve = serverOf(runtime, checked.tls);
  const onError = checked.onError ?? logClientError;
  const server = new Server<string>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  let socketPath = checked.hosts?.[0] ?? '';
  const deliver = (conn: Conn): void => serve(server, runtime.socketOf(conn, { sockname: socketPath, peername: '' }));
  let listener: ServerListener;
  if (options.sock) {
    listener = runtime.adopt(options.sock, deliver, onError);
    socketPath = String(listener.getsockname());
  } else {
    const listenAt = (path: string): Promise<ServerListener> => runtime.listen({ path, backlog: checked.backlog }, deliver, onError);
    listener = await listenOnPath(socketPath, checked.cleanupSocket, runtime.files, listenAt, onError);
  }
  return started(server, [listener], checked);
}
