export * from '../index.ts';
export { openConnection, openUnixConnection } from './node/connect.ts';
export type { NodeSock } from './node/connect.ts';
export { startServer, startUnixServer } from './node/listen.ts';
export { socketpair } from './node/socketpair.ts';
export type { SocketpairOptions } from './node/socketpair.ts';
export { NodeSocket } from './node/socket.ts';
export type { NodeSocketOptions } from './node/socket.ts';
export type { RuntimeStartTlsOptions, SocketInfo } from './_socket.ts';
