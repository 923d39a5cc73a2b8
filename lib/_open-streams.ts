import type { StreamPair } from './transport.ts';
import { StreamReader } from './stream-reader.ts';
import { StreamReaderProtocol } from './stream-reader-protocol.ts';
import { StreamWriter } from './stream-writer.ts';
import type { Transport } from './transport.ts';

function isStreamPair(value: unknown): value is StreamPair {
  const pair = value as Partial<StreamPair> | null;
  return typeof pair?.readable?.getReader === 'function' && typeof pair.writable?.getWriter === 'function';
}

/**
 * The reader and writer of a client connection (what `openConnection()` returns). A transport
 * that can deliver to a protocol feeds its reader directly, as in asyncio; any other
 * `{ readable, writable }` pair is read in pull mode.
 *
 * @throws {TypeError} when `connection` is neither
 */
export function openStreams(
  connection: Transport | StreamPair,
  limit: number | undefined,
): [StreamReader, StreamWriter] {
  const transport = connection as Partial<Transport>;
  if (typeof transport.connectProtocol === 'function') {
    const reader = new StreamReader({ limit });
    transport.connectProtocol(new StreamReaderProtocol(reader));
    return [reader, StreamWriter._overTransport(connection as Transport, reader, false)];
  }
  if (!isStreamPair(connection)) {
    throw new TypeError('sock must be a socket of the runtime or a { readable, writable } pair of streams');
  }
  const reader = StreamReader.from(connection.readable, { limit });
  return [reader, StreamWriter.from(connection.writable, { reader, transport: connection })];
}
