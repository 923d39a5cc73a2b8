export * from '../index.js';
export { openConnection, openUnixConnection } from './_deno-open-connection.js';
export type { DenoSock } from './_deno-open-connection.js';
export { startServer, startUnixServer } from './_deno-start-server.js';
export { DenoSocket } from './_deno-socket.js';
export type { DenoSocketInfo, DenoSocketOptions, DenoStartTlsOptions } from './_deno-socket.js';
export type { DenoAddr, DenoConn, DenoListener, DenoNetAddr, DenoUnixAddr } from './_deno-namespace.js';
