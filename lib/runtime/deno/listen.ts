import { logClientError, type ClientConnectedCallback, type ClientErrorHandler } from '../../_client-callback.ts';
import { checkServer, checkUnixServer, type CheckedServer } from '../../_checks.ts';
import type { StartServerOptions, StartUnixServerOptions } from '../../options.ts';
import { Server, type HostPort, type ServerListener, type SocketName } from '../../server.ts';
import { listenOnPath, type SocketFiles } from '../../_unix-socket-file.ts';
import { denoNamespace, isDenoListener, type DenoConn, type DenoListener } from './namespace.ts';
import { DenoSocket } from './socket.ts';
import { acceptTls, serverTlsOf } from './tls.ts';

type Accept = (conn: DenoConn) => void;

function nameOf(listener: DenoListener): SocketName {
  const addr = listener.addr;
  return 'path' in addr ? (addr.path ?? '') : [addr.hostname, addr.port];
}

/** How long accepting waits after it failed, as CPython's `constants.ACCEPT_RETRY_DELAY`. */
export const ACCEPT_RETRY_DELAY_MS = 1000;

/**
 * Accepts until the listener closes; each connection goes to `accept`. An accept that fails
 * (EMFILE: out of descriptors, ...) is reported once, as asyncio logs it, and accepting pauses
 * for `ACCEPT_RETRY_DELAY_MS` instead of failing again at once in a loop (CPython's
 * `_accept_connection`): connections wait in the backlog meanwhile.
 */
export async function acceptLoop(listener: Pick<DenoListener, 'accept'>, accept: Accept, onError: ClientErrorHandler, closed: AbortSignal): Promise<void> {
  while (!closed.aborted) {
    let conn: DenoConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (closed.aborted) return;
      onError(error, { message: `socket.accept() failed; accepting again in ${ACCEPT_RETRY_DELAY_MS / 1000} s`, transport: null });
      await pause(ACCEPT_RETRY_DELAY_MS, closed);
      continue;
    }
    accept(conn);
  }
}

/** Waits `ms`, or less when `signal` aborts: a closed server keeps no timer alive. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

function serve(listener: DenoListener, accept: Accept, onError: ClientErrorHandler): ServerListener {
  const name = nameOf(listener);
  const closing = new AbortController();
  void acceptLoop(listener, accept, onError, closing.signal);
  return {
    getsockname: () => name,
    close: () => {
      if (closing.signal.aborted) return;
      closing.abort();
      try {
        listener.close();
      } catch {
        // Closed already.
      }
    },
  };
}

function checkReuse(options: StartServerOptions<unknown>): void {
  if (options.reuseAddress === false) {
    throw new RangeError('reuseAddress: false is not supported on Deno, which always sets SO_REUSEADDR on TCP listeners');
  }
  // Deno.listen() with reusePort exits the process, uncatchably, unless --unstable-net is given.
  if (options.reusePort && denoNamespace().listenDatagram === undefined) {
    throw new RangeError('reusePort on Deno needs the --unstable-net flag (Deno.listen() takes it as an unstable API)');
  }
}

function listenTcp(checked: CheckedServer, reusePort: boolean, accept: Accept, onError: ClientErrorHandler): ServerListener[] {
  const deno = denoNamespace();
  const listen = (hostname: string, port: number): ServerListener =>
    serve(deno.listen({ hostname, port, tcpBacklog: checked.backlog, ...(reusePort ? { reusePort } : {}) }), accept, onError);
  if (checked.hosts === undefined) {
    // All interfaces: '::' is one dual-stack socket, as Node's default.
    return [listen(checked.family === 4 ? '0.0.0.0' : '::', checked.port)];
  }
  const listeners: ServerListener[] = [];
  try {
    let port = checked.port;
    for (const host of checked.hosts) {
      const listener = listen(host, port);
      listeners.push(listener);
      // With port 0, every address gets the port the first one was given.
      port = (listener.getsockname() as [string, number])[1];
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    throw error;
  }
  return listeners;
}

/** The file calls of a Unix server's socket file (see `listenOnPath()`). */
function denoFiles(): SocketFiles {
  const deno = denoNamespace();
  return {
    lstat(path) {
      try {
        const info = deno.lstatSync(path);
        return { dev: info.dev, ino: info.ino ?? 0, isSocket: info.isSocket === true };
      } catch (error) {
        if (error instanceof deno.errors.NotFound) return null;
        throw error;
      }
    },
    link: (from, to) => deno.linkSync(from, to),
    unlink: (path) => deno.removeSync(path),
  };
}

function adopt(sock: unknown, accept: Accept, onError: ClientErrorHandler): ServerListener {
  if (!isDenoListener(sock)) throw new TypeError('sock must be a Deno.Listener');
  return serve(sock, accept, onError);
}

/**
 * Starts a TCP server with `Deno.listen()` (asyncio's `start_server`); with `ssl`, each client
 * does the handshake through Deno's `node:tls` over its connection and is handed over once it
 * is done (not `Deno.listenTls()`, which cannot close a connection mid-handshake, see
 * `serverTlsOf()`): `clientConnectedCb(reader,
 * writer)` is called for each client, as with Node (see the Node adapter's `startServer`).
 * Each host given is listened on as it is (Deno resolves a name to one address); no host means
 * every interface. `TCP_NODELAY` is set on every client.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options `limit`, `ssl` (`cert` and `key`; with `ca`, client certificates are asked for
 *   and checked), `sslHandshakeTimeout`, `sslShutdownTimeout`, `family`, `backlog` (100),
 *   `reusePort` (run Deno with `--unstable-net`), `keepAlive` (`SO_KEEPALIVE` on every client),
 *   `flags` (0 or `AI_PASSIVE`), `startServing` (true), `sock` (a `Deno.Listener`), `onError`
 * @returns the listening server
 * @throws Deno's error for a failed bind (`AddrInUse`, ...)
 * @throws {RangeError} for conflicting arguments, `reuseAddress: false`, and `reusePort` without
 *   Deno's `--unstable-net` flag or with `ssl`
 * @example
 * ```ts
 * import { startServer } from 'asyncio-streams';
 *
 * const server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readline());
 *   writer.close();
 * }, '127.0.0.1', 8888);
 * await server.serveForever();
 * ```
 */
export async function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options: StartServerOptions<DenoListener> = {},
): Promise<Server<HostPort>> {
  const checked = checkServer(host, port, options);
  checkReuse(options);
  const server = new Server<HostPort>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  const serverTls = checked.tls === undefined ? undefined : serverTlsOf(checked.tls);
  const accept = (conn: DenoConn): void => {
    conn.setNoDelay?.(true);
    if (checked.keepAlive) conn.setKeepAlive?.(true);
    if (serverTls === undefined) {
      server._accept(new DenoSocket(conn));
      return;
    }
    const secure = acceptTls(conn, serverTls);
    server._accept(secure, secure.opened);
  };
  const onError = checked.onError ?? logClientError;
  const listeners = options.sock ? [adopt(options.sock, accept, onError)] : listenTcp(checked, Boolean(options.reusePort), accept, onError);
  server._attachListeners(listeners);
  if (checked.startServing) await server.startServing();
  return server;
}

/**
 * Starts a Unix socket server with `Deno.listen({ transport: 'unix' })` (asyncio's
 * `start_unix_server`). A stale socket file at `path` is replaced; closing the server removes
 * the file if it is still the one the server created, unless `cleanupSocket` is false. For each client, `getExtraInfo('sockname')` is the path, `peername` `''`.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param path where to create the socket
 * @param options `limit`, `ssl` and `sslHandshakeTimeout` (TLS through Deno's `node:tls`),
 *   `sslShutdownTimeout`, `startServing` (true), `sock` (a `Deno.Listener`), `onError`,
 *   `cleanupSocket` (true)
 * @returns the listening server
 * @example
 * ```ts
 * const server = await startUnixServer(handle, '/run/app.sock');
 * ```
 */
export async function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions<DenoListener> = {},
): Promise<Server<string>> {
  const checked = checkUnixServer(path, options);
  const onError = checked.onError ?? logClientError;
  const server = new Server<string>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  const serverTls = checked.tls === undefined ? undefined : serverTlsOf(checked.tls);
  let socketPath = checked.hosts?.[0] ?? '';
  const accept = (conn: DenoConn): void => {
    const extra = { sockname: socketPath, peername: '' };
    if (serverTls === undefined) {
      server._accept(new DenoSocket(conn, { extra }));
      return;
    }
    const secure = acceptTls(conn, serverTls, extra);
    server._accept(secure, secure.opened);
  };
  let listener: ServerListener;
  if (options.sock) {
    listener = adopt(options.sock, accept, onError);
    socketPath = String(listener.getsockname());
  } else {
    const listenAt = async (path: string): Promise<ServerListener> => serve(denoNamespace().listen({ transport: 'unix', path }), accept, onError);
    listener = await listenOnPath(socketPath, checked.cleanupSocket, denoFiles(), listenAt, onError);
  }
  server._attachListeners([listener]);
  if (checked.startServing) await server.startServing();
  return server;
}
