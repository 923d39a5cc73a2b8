export { IncompleteReadError, LimitOverrunError } from './errors.ts';
export { StreamReader } from './stream-reader.ts';
export type { Bytes } from './_bytes.ts';
export type { ReadOptions, ReadingTransport, Separator, StreamReaderOptions } from './stream-reader.ts';
export { StreamWriter } from './stream-writer.ts';
export type { StreamWriterOptions } from './stream-writer.ts';
export type { CipherInfo, ExtraInfo, PeerCertificate } from './_extra-info.ts';
export { StreamReaderProtocol } from './stream-reader-protocol.ts';
export type { StreamReaderProtocolOptions } from './stream-reader-protocol.ts';
export { Server } from './server.ts';
export type { ServerListener, ServerOptions, ServerSocket } from './server.ts';
export type { HostPort, Pem, Protocol, SocketName, SocketStartTlsOptions, StartTlsOptions, StreamPair, TlsOptions, Transport } from './transport.ts';
export type { ClientConnectedCallback } from './_client-callback.ts';
export type { ClientErrorContext, ClientErrorHandler } from './options.ts';
export type {
  AddressFamily,
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  StartServerOptions,
  StartUnixServerOptions,
} from './options.ts';
