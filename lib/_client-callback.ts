import type { StreamReader } from './stream-reader.ts';
import type { StreamWriter } from './stream-writer.ts';
import type { ClientErrorContext, ClientErrorHandler } from './options.ts';

/**
 * What `startServer()` calls for each client. A plain function or an async one: an async one
 * runs on its own, and the server does not wait for it.
 */
export type ClientConnectedCallback = (reader: StreamReader, writer: StreamWriter) => void | PromiseLike<void>;

const MESSAGE = 'Unhandled exception in client_connected_cb';

function isThenable(value: unknown): value is PromiseLike<void> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** Where a client's error goes when no hook is given, as asyncio's default exception handler. */
export function logClientError(error: unknown, context: ClientErrorContext): void {
  console.error(context.message, error);
}

/**
 * What keeps a client's writer (and through it, its reader) while the client's async callback
 * runs: the server's record of the client, or the server-side protocol, each reachable from the
 * connection while it is open. CPython's protocol holds its writer and its task for the whole
 * connection; ours holds the writer weakly, so that an abandoned one is closed (gh-114914), and
 * strongly only while the callback runs. A callback may drop its reader and writer and await
 * something nothing can settle, and JavaScript then collects it, frame and all: without this,
 * that collection would close the connection of a callback still at work.
 */
export interface CallbackKeeper {
  /** The writer while the client's callback runs, else `null` (`runClientCallback()` sets it). */
  _held: StreamWriter | null;
}

/**
 * Calls `callback(reader, writer)` and watches it: when it throws, or the promise it returns
 * rejects, `onError` hears of it and that client's connection is closed (CPython 3.13, and the
 * fix for plain callbacks in gh-155941); nothing reaches the server or goes unhandled. Until
 * the promise settles, `keeper` holds the writer.
 */
export function runClientCallback(
  callback: ClientConnectedCallback,
  reader: StreamReader,
  writer: StreamWriter,
  keeper: CallbackKeeper,
  onError: ClientErrorHandler = logClientError,
): void {
  const fail = (error: unknown): void => {
    try {
      onError(error, { message: MESSAGE, transport: writer.transport });
    } catch (hookError) {
      logClientError(hookError, { message: 'Exception in the onError hook of a server', transport: writer.transport });
    }
    writer.close();
  };
  let result: unknown;
  try {
    result = callback(reader, writer);
  } catch (error) {
    fail(error);
    return;
  }
  if (!isThenable(result)) return;
  keeper._held = writer;
  // After a rejection the keeper may go on holding the writer: fail() closes the connection.
  Promise.resolve(result).then(() => void (keeper._held = null), fail);
}
