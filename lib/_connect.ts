import { abortable } from './_abortable.ts';
import type { CheckedConnection, CheckedTls } from './_checks.ts';
import { openStreams } from './_open-streams.ts';
import type { StreamReader } from './stream-reader.ts';
import type { StreamWriter } from './stream-writer.ts';
import type { StreamPair, Transport } from './transport.ts';

/**
 * A connection an adapter opened: a transport of the runtime (which `startTls()` upgrades), or
 * a WinterTC socket; either way a pair of streams that can be closed and tells when it is open.
 */
export type Connection = (Transport | StreamPair) & {
  readonly opened?: Promise<unknown>;
  close(reason?: unknown): Promise<void>;
};

/**
 * The runtime building blocks of a client connection (after undici's `buildConnector`): the
 * outline, `connectStreams()`, is the same on every runtime.
 */
export interface Connector<C extends Connection = Connection> {
  /**
   * Starts connecting, and resolves with the connection once it is made; it may resolve
   * before the connection is open, the outline waits for its `opened`. An abort of `signal`
   * must end what it still waits for. Where the runtime can resolve names,
   * `connectHappyEyeballs()` makes it, trying the addresses as `happyEyeballsDelay`,
   * `interleave` and `allErrors` say.
   */
  connect(signal: AbortSignal | undefined): Promise<C>;
  /**
   * The runtime's own socket given as `sock`, wrapped as a connection; `undefined` for
   * anything else, which is used as a pair of streams.
   */
  adopt?(sock: unknown): C | undefined;
  /**
   * Starts TLS on the open `connection` and returns the TLS connection, whose `opened`
   * settles with the handshake. Absent where `ssl` is refused before the outline runs.
   */
  startTls?(connection: C, tls: CheckedTls): Connection;
  /** What `sock` must be for `ssl`, as the error says (`'a net.Socket'`). */
  readonly socketName?: string;
}

function ignore(): void {}

/** Closes `connection`, whose failure is the caller's to report, not the close's. */
function discard(connection: Connection, reason?: unknown): void {
  connection.close(reason).catch(ignore);
}

/**
 * `connection` once it is open; an abort of `signal` meanwhile closes it with the signal's
 * reason (and rejects with it).
 *
 * @param connection what an adapter opened
 * @param signal the caller's signal
 * @returns `connection`
 * @throws the connection's error (refused, a failed handshake, ...), or the signal's reason
 * @example
 * ```ts
 * const connection = await opened(socket, AbortSignal.timeout(5000));
 * ```
 */
export async function opened<C extends Connection>(connection: C, signal: AbortSignal | undefined): Promise<C> {
  await abortable(connection.opened ?? Promise.resolve(), signal, (reason) => discard(connection, reason));
  return connection;
}

/**
 * The client outline of every runtime (asyncio's `open_connection()` after
 * `create_connection()`): adopt `sock` or connect (see `connectHappyEyeballs()`), wait until
 * open, start TLS and wait for its handshake, all abortable by `checked.signal`, then the
 * reader and writer (`openStreams()`). A failure or an abort closes what was opened.
 *
 * @param checked the options, checked once by `checkConnection()` or `checkUnixConnection()`
 * @param sock the `sock` option as given
 * @param connector the runtime's building blocks
 * @returns `[reader, writer]`
 * @throws the runtime's connection or TLS error, or the signal's reason
 * @throws {TypeError} for `ssl` with a `sock` that is not the runtime's socket
 * @example
 * ```ts
 * declare const checked: Parameters<typeof connectStreams>[0]; // what checkConnection() returned
 * declare function dial(host: string, signal?: AbortSignal): Promise<StreamPair & { close(): Promise<void> }>;
 * const [reader, writer] = await connectStreams(checked, undefined, {
 *   connect: (signal) => dial('example.com', signal),
 *   socketName: 'a socket of this platform',
 * });
 * ```
 */
export async function connectStreams<C extends Connection>(
  checked: CheckedConnection,
  sock: unknown,
  connector: Connector<C>,
): Promise<[StreamReader, StreamWriter]> {
  let connection: C;
  const { signal, tls } = checked;
  if (sock !== undefined && sock !== null) {
    const adopted = connector.adopt?.(sock);
    if (adopted === undefined) {
      if (tls !== undefined) throw new TypeError(`ssl needs sock to be ${connector.socketName}, not a pair of streams`);
      signal?.throwIfAborted();
      return openStreams(sock as StreamPair, checked.limit);
    }
    connection = adopted;
  } else {
    signal?.throwIfAborted();
    connection = await connector.connect(signal);
  }
  try {
    await opened(connection, signal);
    if (tls === undefined) return openStreams(connection, checked.limit);
    signal?.throwIfAborted();
    // Never the connection in plain text where TLS was asked for.
    if (connector.startTls === undefined) throw new TypeError('ssl is not supported on this connection');
    return openStreams(await opened(connector.startTls(connection, tls), signal), checked.limit);
  } catch (error) {
    // A failed connect or handshake has closed it already; this covers an abort in between,
    // and a startTls() that refused to start. Closing a socket closes its TLS socket too.
    discard(connection);
    throw error;
  }
}
