/**
 * Type tests of the public API, checked by tsc against the packed package's declarations in
 * every project of the consumer matrix (spec/package-types.spec.ts): TypeScript 5.0 and the
 * newest, nodenext and bundler, a DOM-only project, exactOptionalPropertyTypes. They use only
 * the portable API, so they hold for every entry.
 */
import {
  IncompleteReadError,
  LimitOverrunError,
  openConnection,
  startServer,
  startUnixServer,
  StreamReader,
  StreamWriter,
  type Bytes,
  type CipherInfo,
  type HostPort,
  type PeerCertificate,
  type Server,
  type SocketName,
  type StreamPair,
  type Transport,
} from 'asyncio-streams';
import { expectType, type Equal } from './_equal.js';

declare const reader: StreamReader;
declare const writer: StreamWriter;

// Results are Bytes: Uint8Array<ArrayBuffer> from TypeScript 5.7 on, Uint8Array before.
expectType<Equal<Bytes, ReturnType<Uint8Array['slice']>>>();
expectType<Equal<Awaited<ReturnType<StreamReader['read']>>, Bytes>>();
expectType<Equal<Awaited<ReturnType<StreamReader['readline']>>, Bytes>>();
expectType<Equal<Awaited<ReturnType<StreamReader['readexactly']>>, Bytes>>();
expectType<Equal<Awaited<ReturnType<StreamReader['readuntil']>>, Bytes>>();
expectType<Equal<StreamReader['readable'], ReadableStream<Bytes>>>();

export async function resultsAreWebBytes(): Promise<void> {
  const line = await reader.readline();
  // A BlobPart, a BodyInit and a BufferSource, with no cast.
  new Blob([line]);
  new Response(line);
  await crypto.subtle.digest('SHA-256', line);
  await crypto.subtle.digest('SHA-256', await reader.readexactly(4));
  for await (const each of reader) new Blob([each]);
  await new Response(reader.readable).arrayBuffer();
  // Reads take a signal; separators may be strings, bytes or a list of them.
  await reader.readuntil(['\r\n', new Uint8Array([10])], { signal: AbortSignal.timeout(1000) });
}

// The errors.
expectType<Equal<IncompleteReadError['partial'], Uint8Array>>();
expectType<Equal<IncompleteReadError['expected'], number | null>>();
expectType<Equal<LimitOverrunError['consumed'], number>>();

// getExtraInfo is typed per name, null when unknown; any other name is unknown.
export function extraInfo(): void {
  const peer = writer.getExtraInfo('peername');
  expectType<Equal<typeof peer, SocketName | null>>();
  const own = writer.getExtraInfo('sockname', 'unknown');
  expectType<Equal<typeof own, SocketName | 'unknown'>>();
  const cert = writer.getExtraInfo('peercert');
  expectType<Equal<typeof cert, PeerCertificate | null>>();
  const cipher = writer.getExtraInfo('cipher');
  expectType<Equal<typeof cipher, CipherInfo | null>>();
  const compression = writer.getExtraInfo('compression');
  expectType<Equal<typeof compression, null>>();
  const other = writer.getExtraInfo('something else');
  expectType<Equal<typeof other, unknown>>();
}

// writer.transport: the socket of the connection functions' writers, what from() was given.
expectType<Equal<StreamWriter['transport'], Transport | StreamPair | null>>();
declare const writable: WritableStream<Uint8Array>;
declare const pair: StreamPair;
export function writerTransport(): void {
  const bare = StreamWriter.from(writable);
  expectType<Equal<typeof bare.transport, null>>();
  const over = StreamWriter.from(pair.writable, { transport: pair });
  expectType<Equal<typeof over.transport, StreamPair>>();
  // A writer with a transport of its own is still a StreamWriter where one is expected.
  const accepted: StreamWriter = over;
  void accepted;
}

// getsockname(): [host, port] for startServer(), the path for startUnixServer(); no cast needed.
expectType<Equal<Awaited<ReturnType<typeof startServer>>, Server<HostPort>>>();
expectType<Equal<Awaited<ReturnType<typeof startUnixServer>>, Server<string>>>();
export async function serverNames(): Promise<void> {
  const server = await startServer(async (r, w) => {
    expectType<Equal<typeof r, StreamReader>>();
    w.write(await r.readline());
  }, '127.0.0.1', 0);
  const [host, port] = server.sockets[0]!.getsockname();
  expectType<Equal<typeof host, string>>();
  expectType<Equal<typeof port, number>>();
  const [, client] = await openConnection(host, port, { limit: 1024, ssl: { rejectUnauthorized: false } });
  client.write('ping\n');
  await client.drain();
  const unix = await startUnixServer(() => undefined, '/tmp/app.sock');
  expectType<Equal<ReturnType<(typeof unix.sockets)[number]['getsockname']>, string>>();
  server.close();
  await server.waitClosed();
  await server[Symbol.asyncDispose]();
}

// Wrong uses are refused.
export async function refused(): Promise<void> {
  // @ts-expect-error a limit is a number
  new StreamReader({ limit: '10' });
  // @ts-expect-error bytes or a string
  writer.write(42);
  // @ts-expect-error an options object, not a number
  await reader.readline(5);
  // @ts-expect-error ssl is true or TLS options
  await openConnection('localhost', 443, { ssl: 'yes' });
}
