import { Server as NetServer } from 'node:net';
import type { ClientConnectedCallback } from '../../_client-callback.ts';
import type { StartServerOptions, StartUnixServerOptions } from '../../options.ts';
import type { Server } from '../../server.ts';
import type { HostPort, SocketName } from '../../transport.ts';
import { given } from '../../_checks.ts';
import { serveTcp, serveUnix, type ServerRuntime } from '../../_serve.ts';
import { bunNamespace, isBunListener, type BunListener, type BunListenOptions, type BunNativeSocket, type BunTcpListener } from './namespace.ts';
import { BunSocket, type BunSocketSlot } from './socket.ts';
import { tuneTcp } from './tune-tcp.ts';
import { startServer as startNodeServer, startUnixServer as startNodeUnixServer } from '../node/listen.ts';
import { nodeSocketFiles } from '../node/socket-files.ts';
import { secureContextOf, type SecureContext } from '../node/tls.ts';
import { resolveHosts } from '../node/resolve.ts';

/**
 * What a `Bun.listen` server is made of; the outlines are `serveTcp()` and `serveUnix()`. TLS
 * servers without `sock`, and `net.Server`s given as `sock`, run over `node:net` instead (see
 * `servesOnNodeNet()`); a Bun listener given as `sock` with `ssl` upgrades each client with
 * `BunSocket.startTls()`. Bun takes no `backlog` (uSockets listens with its own).
 */
const bunServer: ServerRuntime<BunNativeSocket, BunSocket, SecureContext> = {
  checkReuse(options) {
    if (options.reuseAddress === false) throw new RangeError('reuseAddress: false is not supported on Bun, which always sets SO_REUSEADDR');
  },
  // Every address of every host, as the Node adapter (and CPython) binds them.
  resolve: resolveHosts,
  async listen(address, deliver) {
    // Every socket's handlers but `open`, which makes its BunSocket and serves it.
    const socket = { ...BunSocket.handlers, open: deliver };
    if ('path' in address) {
      const listener = bunNamespace().listen({ unix: address.path, allowHalfOpen: true, socket });
      return { getsockname: () => address.path, close: () => listener.stop(false) };
    }
    // All interfaces: '::' is one dual-stack socket, as Node's default.
    const hostname = address.host ?? (address.family === 4 ? '0.0.0.0' : '::');
    const options: BunListenOptions<BunSocketSlot> = {
      hostname,
      port: address.port,
      allowHalfOpen: true,
      socket,
    };
    if (address.reusePort) options.reusePort = true;
    if (address.host === null && address.family === 6) options.ipv6Only = true;
    const listener = bunNamespace().listen(options);
    const name: HostPort = [listener.hostname, listener.port];
    return { getsockname: () => name, close: () => listener.stop(false) };
  },
  adopt(sock, deliver) {
    if (!isBunListener(sock)) throw new TypeError('sock must be a listening net.Server or a listener of Bun.listen()');
    // Every connection it accepts from now on comes to the adapter's handlers.
    sock.reload({ socket: { ...BunSocket.handlers, open: deliver } });
    const name: SocketName = sock.unix ?? [(sock as BunTcpListener).hostname, (sock as BunTcpListener).port];
    return { getsockname: () => name, close: () => sock.stop(false) };
  },
  tuneTcp,
  socketOf: (socket, extra) => new BunSocket(socket, extra === undefined ? {} : { extra }),
  secureContext: secureContextOf,
  files: nodeSocketFiles,
};

/**
 * Whether a server runs over Bun's `node:net` and `node:tls` (the Node adapter) rather than
 * `Bun.listen()`, TCP and Unix alike: given a `net.Server` as `sock`, and without `sock`, with
 * `ssl` (which passes every TLS spec there). A `Bun.listen()` listener given as `sock` stays
 * here, with `ssl` too (each client's `BunSocket.startTls()`).
 */
function servesOnNodeNet(options: StartServerOptions<unknown> | StartUnixServerOptions<unknown>): boolean {
  if (given(options.sock)) return options.sock instanceof NetServer;
  return given(options.ssl);
}

/**
 * Starts a TCP server (asyncio's `start_server`) with `Bun.listen()`: `clientConnectedCb(reader,
 * writer)` is called for each client, over a {@link BunSocket}. A server with `ssl`, or given a
 * listening `net.Server` as `sock`, runs over Bun's `node:net` and `node:tls`, as the Node
 * adapter's `startServer()` (which documents every option). A listener of `Bun.listen()` given
 * as `sock` serves the connections it accepts from then on, with `ssl` too (made with
 * `allowHalfOpen: true`, it keeps a client's connection writable after the client's EOF, as
 * asyncio does). Bun listens with a backlog of its own: `backlog` is checked and not used.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options as the Node adapter's
 * @returns the listening server
 * @throws Bun's error for a failed bind (`EADDRINUSE`)
 * @example
 * ```ts
 * import { startServer } from 'asyncio-streams';
 *
 * const server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readline());
 *   writer.close();
 * }, '127.0.0.1', 8888);
 * ```
 */
export function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options: StartServerOptions<NetServer | BunListener> = {},
): Promise<Server<HostPort>> {
  // Given a Bun listener as sock, it never runs over node:net.
  if (servesOnNodeNet(options)) return startNodeServer(clientConnectedCb, host, port, options as StartServerOptions<NetServer>);
  return serveTcp(bunServer, clientConnectedCb, host, port, options);
}

/**
 * Starts a Unix socket server (asyncio's `start_unix_server`) with `Bun.listen({ unix })`; see
 * `startServer()`. A stale socket file at `path` is replaced; closing the server removes the
 * file if it is still the one the server created, unless `cleanupSocket` is false. For each
 * client, `getExtraInfo('sockname')` is the path and `peername` is `''`. A server with `ssl`,
 * or given a listening `net.Server` as `sock`, runs over Bun's `node:net` and `node:tls`, as
 * the Node adapter's `startUnixServer()` (which documents every option); a `Bun.listen()`
 * listener given as `sock` is served as by `startServer()`.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param path where to create the socket
 * @param options as the Node adapter's
 * @returns the listening server
 * @throws Bun's error for a failed bind (`EADDRINUSE`, `ENOENT`), which names the path
 * @example
 * ```ts
 * import { startUnixServer } from 'asyncio-streams';
 *
 * const server = await startUnixServer(async (reader, writer) => {
 *   writer.write(await reader.readline());
 *   writer.close();
 * }, '/run/app.sock');
 * ```
 */
export function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions<NetServer | BunListener> = {},
): Promise<Server<string>> {
  // Given a Bun listener as sock, it never runs over node:net.
  if (servesOnNodeNet(options)) return startNodeUnixServer(clientConnectedCb, path, options as StartUnixServerOptions<NetServer>);
  return serveUnix(bunServer, clientConnectedCb, path, options);
}
