export { IncompleteReadError } from './incomplete-read-error.js';
export { LimitOverrunError } from './limit-overrun-error.js';
export { StreamReader } from './stream-reader.js';
export type { Bytes } from './_bytes.js';
export type { ReadOptions, ReadingTransport, Separator, StreamReaderOptions } from './stream-reader.js';
export { StreamWriter } from './stream-writer.js';
export type { StreamWriterOptions } from './stream-writer.js';
export type { CipherInfo, ExtraInfo, PeerCertificate } from './_extra-info.js';
export { StreamReaderProtocol } from './stream-reader-protocol.js';
export type { StreamReaderProtocolOptions } from './stream-reader-protocol.js';
export { Server } from './server.js';
export type { HostPort, ServerListener, ServerOptions, ServerSocket, SocketName } from './server.js';
export type { ClientConnectedCallback, ClientErrorContext, ClientErrorHandler } from './_client-callback.js';
export type { Protocol, SocketStartTlsOptions, StartTlsOptions, Transport } from './_transport.js';
export type {
  AddressFamily,
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  Pem,
  StartServerOptions,
  StartUnixServerOptions,
  StreamPair,
  TlsOptions,
} from './_connection-options.js';
export { openConnection, openUnixConnection, startServer, startUnixServer } from './_web-connection.js';
