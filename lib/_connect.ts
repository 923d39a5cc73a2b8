import { abortable } from './_abortable.ts';
import { startTlsOptionsOf, type CheckedConnection } from './_checks.ts';
import { connectFirst, interleaveAddresses, type ResolvedAddress } from './_happy-eyeballs.ts';
import { openStreams } from './_open-streams.ts';
import type { AddressFamily } from './options.ts';
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
  startTls?: Transport['startTls'];
};

/**
 * The runtime building blocks of a client connection (after undici's `buildConnector`): the
 * outline, `connectStreams()`, is the same on every runtime.
 */
export interface Connector {
  /**
   * Starts connecting to `address`, one that the host resolved to, or with `undefined` to the
   * host as given (the runtime resolves it). It may resolve before the connection is open: the
   * outline waits for its `opened`. An abort of `signal` must end what it still waits for.
   */
  connect(address: ResolvedAddress | undefined, signal: AbortSignal | undefined): Promise<Connection>;
  /**
   * Every address `host` resolves to, in the resolver's order, for `happyEyeballsDelay`,
   * `interleave` and `allErrors`. Absent where the runtime resolves only inside its own
   * connect (a WinterTC `connect()`): that entry refuses these options.
   */
  resolve?(host: string, family: AddressFamily): Promise<ResolvedAddress[]>;
  /**
   * The runtime's own socket given as `sock`, wrapped as a connection; `undefined` for
   * anything else, which is used as a pair of streams.
   */
  adopt?(sock: unknown): Connection | undefined;
  /** What `sock` must be for `ssl`, as the error says (`'a net.Socket'`). */
  readonly socketName: string;
}

function ignore(): void {}

/** Closes `connection`, whose failure is the caller's to report, not the close's. */
function discard(connection: Connection, reason?: unknown): void {
  connection.close(reason).catch(ignore);
}

/** `connection` once it is open; an abort of `signal` meanwhile closes it with the signal's reason. */
async function opened(connection: Connection, signal: AbortSignal | undefined): Promise<Connection> {
  await abortable(connection.opened ?? Promise.resolve(), signal, (reason) => discard(connection, reason));
  return connection;
}

/**
 * Connects to each address the host resolves to as `happyEyeballsDelay`, `interleave` and
 * `allErrors` say (`connectFirst()`); without them, or without a resolver, as the runtime does.
 */
async function connectTo(checked: CheckedConnection, connector: Connector): Promise<Connection> {
  const { happyEyeballs, signal } = checked;
  // The outline waits for this one to open.
  if (happyEyeballs === undefined || connector.resolve === undefined) return connector.connect(undefined, signal);
  const resolved = await abortable(connector.resolve(checked.host ?? 'localhost', checked.family), signal, ignore);
  const { delay, interleave, allErrors } = happyEyeballs;
  const addresses = interleave > 0 ? interleaveAddresses(resolved, interleave) : resolved;
  const attempt = async (address: ResolvedAddress, lost: AbortSignal): Promise<Connection> => {
    const stop = signal === undefined ? lost : AbortSignal.any([lost, signal]);
    return opened(await connector.connect(address, stop), stop);
  };
  try {
    return await connectFirst(addresses, attempt, { delay, allErrors, close: (connection) => discard(connection) });
  } catch (error) {
    // An abort is the caller's, whatever each attempt made of it.
    signal?.throwIfAborted();
    throw error;
  }
}

/**
 * The client outline of every runtime (asyncio's `open_connection()` after
 * `create_connection()`): adopt `sock` or connect (happy eyeballs where asked), wait until
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
 *   connect: (address, signal) => dial(address?.address ?? 'example.com', signal),
 *   socketName: 'a socket of this platform',
 * });
 * ```
 */
export async function connectStreams(checked: CheckedConnection, sock: unknown, connector: Connector): Promise<[StreamReader, StreamWriter]> {
  let connection: Connection;
  if (sock !== undefined && sock !== null) {
    const adopted = connector.adopt?.(sock);
    if (adopted === undefined) {
      if (checked.tls !== undefined) throw new TypeError(`ssl needs sock to be ${connector.socketName}, not a pair of streams`);
      return openStreams(sock as StreamPair, checked.limit);
    }
    connection = adopted;
  } else {
    checked.signal?.throwIfAborted();
    connection = await connectTo(checked, connector);
  }
  const { signal, tls } = checked;
  try {
    let open = await opened(connection, signal);
    if (tls !== undefined) {
      signal?.throwIfAborted();
      if (open.startTls === undefined) throw new TypeError(`ssl needs sock to be ${connector.socketName}`);
      open = await opened(open.startTls(startTlsOptionsOf(tls)), signal);
    }
    return openStreams(open, checked.limit);
  } catch (error) {
    // A failed connect or handshake has closed it already; this covers an abort in between,
    // and a startTls() that refused to start. Closing a socket closes its TLS socket too.
    discard(connection);
    throw error;
  }
}
