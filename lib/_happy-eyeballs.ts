import { abortable } from './_abortable.ts';
import type { CheckedConnection } from './_checks.ts';
import { opened, type Connection } from './_connect.ts';
import type { AddressFamily } from './options.ts';

/** An address a host name resolved to, with its family (4 or 6). */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/**
 * Orders addresses as CPython's `_interleave_addrinfos()` does (RFC 8305 section 4): the
 * families alternate, in the order each first appears, after `firstFamilyCount - 1` more
 * addresses of the first family.
 *
 * @param addresses as the resolver gave them
 * @param firstFamilyCount CPython's `interleave` (1: strict alternation)
 * @returns the same addresses, reordered
 * @example
 * ```ts
 * interleaveAddresses([{ address: '::1', family: 6 }, { address: '::2', family: 6 }, { address: '127.0.0.1', family: 4 }], 1);
 * // ::1, 127.0.0.1, ::2
 * ```
 */
export function interleaveAddresses<T extends { family: number }>(addresses: readonly T[], firstFamilyCount: number): T[] {
  const byFamily = new Map<number, T[]>();
  for (const address of addresses) {
    const list = byFamily.get(address.family);
    if (list === undefined) byFamily.set(address.family, [address]);
    else list.push(address);
  }
  const lists = [...byFamily.values()];
  const reordered = firstFamilyCount > 1 && lists.length > 0 ? lists[0]!.splice(0, firstFamilyCount - 1) : [];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  for (let i = 0; i < longest; i += 1) {
    for (const list of lists) if (i < list.length) reordered.push(list[i]!);
  }
  return reordered;
}

/** How `connectFirst()` tries the addresses. */
export interface ConnectFirstOptions<T> {
  /**
   * Seconds to wait for an attempt before starting the next one alongside it (CPython's
   * `happy_eyeballs_delay`); `undefined`: one attempt at a time, each after the last failed.
   */
  delay: number | undefined;
  /** When every attempt fails: an `AggregateError` of all their errors (CPython's `all_errors`). */
  allErrors: boolean;
  /** Closes a connection that arrived after another had won. */
  close(connection: T): void;
}

/**
 * The error of a connection whose every attempt failed, by CPython's rule in
 * `create_connection()`: all of them (`allErrors`), the one, the first when they all say the
 * same, else one error that lists their messages (with their `code` when they share one).
 */
function failure(errors: unknown[], allErrors: boolean): unknown {
  if (allErrors) return new AggregateError(errors, 'openConnection() failed');
  const first = errors[0];
  if (errors.length === 1 || errors.every((error) => String(error) === String(first))) return first;
  const combined = new Error(`Multiple exceptions: ${errors.map((error) => (error instanceof Error ? error.message : String(error))).join(', ')}`);
  // Better than CPython's bare OSError: the code they all share (ECONNREFUSED from every address) stays.
  const code = (first as { code?: unknown } | null)?.code;
  if (code !== undefined && errors.every((error) => (error as { code?: unknown } | null)?.code === code)) Object.assign(combined, { code });
  return combined;
}

/**
 * Where a client with no host connects: the loopback address of each family `family` allows,
 * IPv6 first, as CPython's `getaddrinfo(None, port)` gives them (whatever the hosts file says
 * `localhost` is).
 */
function loopbackAddresses(family: AddressFamily): ResolvedAddress[] {
  return LOOPBACK.filter((address) => family === 0 || address.family === family);
}

const LOOPBACK: readonly ResolvedAddress[] = [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];

/** Each address tried once the one before failed, as CPython does without `happy_eyeballs_delay`. */
const ONE_AT_A_TIME = { delay: undefined, interleave: 0, allErrors: false } as const;

/**
 * Connects to the first of `addresses` that answers (RFC 8305 "Happy Eyeballs", CPython's
 * `staggered_race()`): with a `delay`, each attempt starts when the one before fails or has
 * not connected within `delay` seconds; the first to connect wins and the others are aborted
 * (or closed, if they connect anyway). Without a delay, one at a time.
 *
 * @param addresses in the order to try them
 * @param connect opens a connection to one address; aborting its signal must end the attempt
 * @param options the delay, `allErrors` and how to close a connection that lost
 * @returns the winning connection
 * @throws the attempts' errors, as `failure()` combines them
 * @example
 * ```ts
 * declare function connectTo(address: string, signal: AbortSignal): Promise<{ close(): void }>;
 * const socket = await connectFirst(['::1', '127.0.0.1'], (address, signal) => connectTo(address, signal), {
 *   delay: 0.25, allErrors: false, close: (socket) => socket.close(),
 * });
 * ```
 */
export function connectFirst<A, T>(
  addresses: readonly A[],
  connect: (address: A, signal: AbortSignal) => Promise<T>,
  options: ConnectFirstOptions<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const errors: unknown[] = new Array(addresses.length);
    const attempts: AbortController[] = [];
    let failed = 0;
    let won = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const start = (index: number): void => {
      clearTimeout(timer);
      if (won || index >= addresses.length || index < attempts.length) return;
      const controller = new AbortController();
      attempts.push(controller);
      // No timer after the last address: it would hold the process for the delay, with nothing to start.
      if (options.delay !== undefined && index + 1 < addresses.length) timer = setTimeout(() => start(index + 1), options.delay * 1000);
      connect(addresses[index]!, controller.signal).then(
        (connection) => {
          if (won) {
            options.close(connection);
            return;
          }
          won = true;
          clearTimeout(timer);
          for (const other of attempts) if (other !== controller) other.abort();
          resolve(connection);
        },
        (error: unknown) => {
          errors[index] = error;
          failed += 1;
          if (won) return;
          if (failed === addresses.length) reject(failure(errors, options.allErrors));
          // The next one starts now, unless the delay started it already.
          else start(attempts.length);
        },
      );
    };
    if (addresses.length === 0) reject(new Error('getaddrinfo() returned empty list'));
    else start(0);
  });
}

function ignore(): void {}

/**
 * The `connect` of a runtime that can resolve names (see `Connector`): with
 * `happyEyeballsDelay`, `interleave` or `allErrors`, every address `resolve` gives for the
 * host, ordered by `interleaveAddresses()` and tried by `connectFirst()`, each attempt until
 * it is open; without them, `connectTo` the host as given (the runtime resolves it, as it
 * does). With no host, the loopback addresses (`loopbackAddresses()`), one at a time. It is
 * written once here, for every adapter that has a resolver, and stays out of a browser
 * bundle, whose WinterTC `connect()` resolves alone.
 *
 * @param checked the checked options: the host, `family`, the happy eyeballs options
 * @param resolve every address of a host, in the resolver's order
 * @param connectTo starts connecting to one address, or with `undefined` to the host as given
 * @returns what connects, abortably, as `Connector.connect`
 * @example
 * ```ts
 * declare const checked: Parameters<typeof connectHappyEyeballs>[0]; // what checkConnection() returned
 * declare function dial(host: string, signal?: AbortSignal): Promise<StreamPair & { close(): Promise<void> }>;
 * const connect = connectHappyEyeballs(checked, async (host) => [{ address: host, family: 4 }], (address, signal) =>
 *   dial(address?.address ?? 'example.com', signal));
 * ```
 */
export function connectHappyEyeballs<C extends Connection>(
  checked: CheckedConnection,
  resolve: (host: string, family: AddressFamily) => Promise<ResolvedAddress[]>,
  connectTo: (address: ResolvedAddress | undefined, signal: AbortSignal | undefined) => Promise<C>,
): (signal: AbortSignal | undefined) => Promise<C> {
  const host = checked.host;
  // No host: the loopback addresses, one after the other, as CPython tries them.
  const happyEyeballs = checked.happyEyeballs ?? (host === undefined ? ONE_AT_A_TIME : undefined);
  if (happyEyeballs === undefined) return (signal) => connectTo(undefined, signal);
  const { delay, interleave, allErrors } = happyEyeballs;
  return async (signal) => {
    const resolved = host === undefined ? loopbackAddresses(checked.family) : await abortable(resolve(host, checked.family), signal, ignore);
    const addresses = interleave > 0 ? interleaveAddresses(resolved, interleave) : resolved;
    const attempt = async (address: ResolvedAddress, lost: AbortSignal): Promise<C> => {
      const stop = signal === undefined ? lost : AbortSignal.any([lost, signal]);
      return opened(await connectTo(address, stop), stop);
    };
    try {
      return await connectFirst(addresses, attempt, { delay, allErrors, close: (connection) => void connection.close().catch(ignore) });
    } catch (error) {
      // An abort is the caller's, whatever each attempt made of it.
      signal?.throwIfAborted();
      throw error;
    }
  };
}
