import type { LossWatcher, StreamPair, Transport } from './transport.ts';
import { StreamReader } from './stream-reader.ts';
import { StreamReaderProtocol } from './stream-reader-protocol.ts';
import { StreamWriter } from './stream-writer.ts';
import { whenClosed } from './_when-closed.ts';

function isStreamPair(value: unknown): value is StreamPair {
  const pair = value as (Partial<StreamPair> & Pick<Partial<Transport>, '_claimReadable' | '_claimWritable'>) | null;
  // A socket whose streams are made on first need (see Transport._claimReadable and
  // _claimWritable) has them: asking for them here would make them.
  if (typeof pair?._claimReadable !== 'function' && typeof pair?.readable?.getReader !== 'function') return false;
  return typeof pair._claimWritable === 'function' || typeof pair.writable?.getWriter === 'function';
}

/**
 * The reader and writer of a connection: what `openConnection()` returns, and what `Server`
 * hands each client's callback. A transport that can deliver to a protocol feeds its reader
 * directly, as in asyncio; any other `{ readable, writable }` pair is read in pull mode.
 *
 * @param connection a runtime's socket, or a pair of streams
 * @param limit the reader's limit (default 65536)
 * @param serverSide whether this is a server's connection: the writer's `startTls()` then does
 *   the server's side of the handshake
 * @param lossWatcher told once the connection is gone (a server, of its client), if given
 * @returns `[reader, writer]`
 * @throws {TypeError} when `connection` is neither
 * @example
 * ```ts
 * const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
 * const [reader, writer] = openStreams({ readable, writable }, undefined);
 * writer.write('ping\n');
 * await reader.readline(); // 'ping\n'
 * ```
 */
export function openStreams(
  connection: Transport | StreamPair,
  limit: number | undefined,
  serverSide = false,
  lossWatcher: LossWatcher | null = null,
): [StreamReader, StreamWriter] {
  const transport = connection as Partial<Transport>;
  if (typeof transport.connectProtocol === 'function') {
    const reader = new StreamReader({ limit });
    const protocol = new StreamReaderProtocol(reader);
    if (lossWatcher !== null) protocol._watchLoss(lossWatcher);
    transport.connectProtocol(protocol);
    return [reader, StreamWriter._overTransport(connection, reader, serverSide, protocol)];
  }
  if (!isStreamPair(connection)) {
    throw new TypeError('sock must be a socket of the runtime or a { readable, writable } pair of streams');
  }
  // Checked before the reader locks the readable, which a failure afterwards would leave locked.
  if (transport._claimWritable === undefined && connection.writable.locked) throw new TypeError('sock.writable is locked');
  const reader = StreamReader._pulling(transport._claimReadable?.() ?? connection.readable, { limit });
  if (lossWatcher !== null) whenClosed(transport, (error) => lossWatcher.connectionLost(error));
  return [reader, StreamWriter._overTransport(connection, reader, serverSide)];
}
