import type { BunNativeSocket } from './namespace.ts';

/**
 * Sets up a TCP connection of Bun's as asyncio does every one: `TCP_NODELAY`, and
 * `SO_KEEPALIVE` when asked for. The same for a client and for each client of a server.
 *
 * @param socket a connected native socket
 * @param keepAlive whether to turn keep-alive probes on
 * @example
 * ```ts
 * declare const socket: Parameters<typeof tuneTcp>[0]; // a connected Bun.Socket
 * tuneTcp(socket, false);
 * ```
 */
export function tuneTcp(socket: BunNativeSocket, keepAlive: boolean): void {
  socket.setNoDelay(true);
  if (keepAlive) socket.setKeepAlive(true);
}
