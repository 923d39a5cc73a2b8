/**
 * The Bun entry: TCP and Unix connections and servers over Bun's own sockets (`Bun.connect()`,
 * `Bun.listen()`, see `bun/`; a `Bun.Socket` or Bun listener given as `sock` too), and what
 * those cannot do (TLS at connect and on servers, `localAddr`, `family`, a `net.Socket` or
 * `net.Server` given as `sock`) over Bun's `node:net` and `node:tls`, through the Node adapter.
 */
export * from './node.ts';
export { openConnection, openUnixConnection } from './bun/connect.ts';
export type { BunSock } from './bun/connect.ts';
export { startServer, startUnixServer } from './bun/listen.ts';
export { BunSocket } from './bun/socket.ts';
export type { BunSocketOptions, BunSocketSlot } from './bun/socket.ts';
export type { BunListener, BunNativeSocket, BunSocketHandlers } from './bun/namespace.ts';
