import type { ClientErrorHandler } from './options.ts';
import type { ServerListener } from './server.ts';
import type { SocketName } from './transport.ts';

/** How long accepting waits after it failed, as CPython's `constants.ACCEPT_RETRY_DELAY`. */
export const ACCEPT_RETRY_DELAY_MS = 1000;

/** A listening socket that hands out connections one `accept()` at a time (a `Deno.Listener`). */
export interface PullListener<Conn> {
  /** The next connection. */
  accept(): Promise<Conn>;
  /** Stops listening; a pending `accept()` rejects. */
  close(): void;
}

/**
 * The codes of an accept that failed because its peer left before it was accepted (Deno's
 * `accept()` rejects with ENOTCONN for a connection reset in the backlog): nothing to report
 * or wait for, as CPython's `_accept_connection` passes over `ConnectionAbortedError`.
 */
const PEER_GONE = new Set(['ENOTCONN', 'ECONNABORTED', 'ECONNRESET']);

/**
 * Accepts until `closed` aborts; each connection goes to `deliver`. An accept that fails
 * (EMFILE: out of descriptors, ...) is reported once, as asyncio logs it, and accepting pauses
 * for `ACCEPT_RETRY_DELAY_MS` instead of failing again at once in a loop (CPython's
 * `_accept_connection`): connections wait in the backlog meanwhile. An accept whose peer had
 * already gone (`PEER_GONE`) is passed over, with no report and no pause: else any client that
 * connects and resets would stop the server accepting for a second.
 *
 * @param listener where connections come from
 * @param deliver takes each accepted connection
 * @param onError hears about a failed accept
 * @param closed aborts when the server stops listening
 * @returns a promise that resolves once the loop has stopped
 * @example
 * ```ts
 * declare const listener: PullListener<{ close(): void }>;
 * const closing = new AbortController();
 * void acceptLoop(listener, (conn) => conn.close(), console.error, closing.signal);
 * ```
 */
export async function acceptLoop<Conn>(
  listener: Pick<PullListener<Conn>, 'accept'>,
  deliver: (conn: Conn) => void,
  onError: ClientErrorHandler,
  closed: AbortSignal,
): Promise<void> {
  while (!closed.aborted) {
    let conn: Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (closed.aborted) return;
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && PEER_GONE.has(code)) continue;
      onError(error, { message: `socket.accept() failed; accepting again in ${ACCEPT_RETRY_DELAY_MS / 1000} s`, transport: null });
      await pause(ACCEPT_RETRY_DELAY_MS, closed);
      continue;
    }
    deliver(conn);
  }
}

/** Waits `ms`, or less when `signal` aborts: a closed server keeps no timer alive. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * Serves a pull listener: runs the accept loop and returns the server's handle on it, whose
 * `close()` stops the loop and closes the listener (once).
 *
 * @param listener where connections come from
 * @param name its address, for `server.sockets`
 * @param deliver takes each accepted connection
 * @param onError hears about a failed accept
 * @returns the listener as the server holds it
 * @example
 * ```ts
 * declare const listener: PullListener<{ close(): void }>;
 * const served = acceptingListener(listener, ['127.0.0.1', 8888], (conn) => conn.close(), console.error);
 * served.close();
 * ```
 */
export function acceptingListener<Conn>(
  listener: PullListener<Conn>,
  name: SocketName,
  deliver: (conn: Conn) => void,
  onError: ClientErrorHandler,
): ServerListener {
  const closing = new AbortController();
  const accepting = acceptLoop(listener, deliver, onError, closing.signal);
  return {
    getsockname: () => name,
    // Ends once the accept in flight has failed: the socket is closed by then (Deno closes a
    // listener with an accept pending a turn after close()).
    close: () => {
      if (!closing.signal.aborted) {
        closing.abort();
        try {
          listener.close();
        } catch {
          // Closed already.
        }
      }
      return accepting;
    },
  };
}
