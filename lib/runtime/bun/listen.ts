import type { ClientConnectedCallback } from '../../_client-callback.ts';
import type { StartServerOptions } from '../../options.ts';
import type { Server } from '../../server.ts';
import type { HostPort } from '../../transport.ts';
import { serveTcp, type ServerRuntime } from '../../_serve.ts';
import { bunNamespace, type BunListenOptions, type BunNativeSocket } from './namespace.ts';
import { BunSocket } from './socket.ts';
import { resolveHosts } from '../node/resolve.ts';

/** What the prototype cannot do yet, refused by name. */
function unsupported(what: string): never {
  throw new RangeError(`${what} is not supported by the Bun.listen prototype yet`);
}

/**
 * PROTOTYPE. What a `Bun.listen` server is made of; the outline is `serveTcp()`. No TLS, no
 * Unix sockets, no `sock` yet. Bun takes no `backlog` (uSockets listens with its own).
 */
const bunServer: ServerRuntime<BunNativeSocket, BunSocket, never> = {
  checkReuse(options) {
    if (options.reuseAddress === false) throw new RangeError('reuseAddress: false is not supported on Bun, which always sets SO_REUSEADDR');
  },
  // Every address of every host, as the Node adapter (and CPython) binds them.
  resolve: resolveHosts,
  async listen(address, deliver) {
    if ('path' in address) return unsupported('a Unix socket');
    // All interfaces: '::' is one dual-stack socket, as Node's default.
    const hostname = address.host ?? (address.family === 4 ? '0.0.0.0' : '::');
    const options: BunListenOptions<BunSocket | undefined> = {
      hostname,
      port: address.port,
      allowHalfOpen: true,
      // Every socket's handlers but `open`, which makes its BunSocket and serves it.
      socket: { ...BunSocket.handlers, open: deliver },
    };
    if (address.reusePort) options.reusePort = true;
    if (address.host === null && address.family === 6) options.ipv6Only = true;
    const listener = bunNamespace().listen(options);
    const name: HostPort = [listener.hostname, listener.port];
    return { getsockname: () => name, close: () => listener.stop(false) };
  },
  adopt: () => unsupported('sock'),
  tuneTcp(socket, keepAlive) {
    socket.setNoDelay(true);
    if (keepAlive) socket.setKeepAlive(true);
  },
  socketOf: (socket) => new BunSocket(socket),
  secureContext: () => unsupported('ssl'),
  files: { lstat: () => unsupported('a Unix socket'), link: () => unsupported('a Unix socket'), unlink: () => unsupported('a Unix socket') },
};

/**
 * PROTOTYPE. Starts a TCP server with `Bun.listen()` (asyncio's `start_server`):
 * `clientConnectedCb(reader, writer)` is called for each client, over a {@link BunSocket}.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options `limit`, `family`, `reusePort`, `keepAlive`, `startServing`, `onError`
 * @returns the listening server
 * @throws Bun's error for a failed bind (`EADDRINUSE`)
 * @example
 * ```ts
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
  options: StartServerOptions<never> = {},
): Promise<Server<HostPort>> {
  return serveTcp(bunServer, clientConnectedCb, host, port, options);
}
