export * from '../index.ts';
export { openConnection, openUnixConnection } from './deno/connect.ts';
export type { DenoSock } from './deno/connect.ts';
export { startServer, startUnixServer } from './deno/listen.ts';
export { DenoSocket } from './deno/socket.ts';
export type { DenoSocketOptions } from './deno/socket.ts';
export type { RuntimeStartTlsOptions, SocketInfo } from './_socket.ts';
export type { DenoAddr, DenoConn, DenoListener, DenoNetAddr, DenoUnixAddr } from './deno/namespace.ts';
