export * from '../index.js';
export { openConnection, openUnixConnection } from './_node-open-connection.js';
export type { NodeSock } from './_node-open-connection.js';
export { startServer, startUnixServer } from './_node-start-server.js';
export { socketpair } from './_node-socketpair.js';
export type { SocketpairOptions } from './_node-socketpair.js';
export { NodeSocket } from './_node-socket.js';
export type { NodeSocketOptions, NodeStartTlsOptions, SocketInfo } from './_node-socket.js';
