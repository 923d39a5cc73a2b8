/**
 * The Bun entry: TCP and Unix connections and servers over Bun's own sockets (`Bun.connect()`,
 * `Bun.listen()`, see `bun/`), and what those cannot do (TLS at connect, a `net.Socket` or
 * `net.Server` given as `sock`, `localAddr`, `family`) over Bun's `node:net` and `node:tls`,
 * through the Node adapter.
 */
export * from './node.ts';
export { openConnection, openUnixConnection } from './bun/connect.ts';
export { startServer, startUnixServer } from './bun/listen.ts';
export { BunSocket } from './bun/socket.ts';
export type { BunSocketOptions } from './bun/socket.ts';
