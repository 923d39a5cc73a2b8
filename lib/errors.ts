/**
 * Brands let `instanceof` work across two installed copies of this package (a dependency
 * that bundles its own copy, say): the check looks for a `Symbol.for` key, which is shared
 * by every copy in the realm, instead of comparing prototypes, which are not.
 */
function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

const incompleteReadBrand = Symbol.for('asyncio-streams.IncompleteReadError');

/**
 * The stream ended before a read was satisfied (CPython's `asyncio.IncompleteReadError`).
 *
 * `readexactly(n)` throws it with the bytes that did arrive and `expected === n`;
 * `readuntil()` throws it with `expected === null` when the stream ends before a separator.
 * Either way the reader's buffer has been emptied into `partial`.
 *
 * @example
 * ```ts
 * import { IncompleteReadError, StreamReader } from 'asyncio-streams';
 *
 * const reader = new StreamReader();
 * reader.feedData(new TextEncoder().encode('abc'));
 * reader.feedEof();
 * try {
 *   await reader.readexactly(5);
 * } catch (error) {
 *   if (error instanceof IncompleteReadError) console.log(error.partial.length, error.expected); // 3 5
 * }
 * ```
 */
export class IncompleteReadError extends Error {
  /** The bytes read before the stream ended. */
  readonly partial: Uint8Array;
  /** How many bytes were asked for, or `null` when reading up to a separator. */
  readonly expected: number | null;

  /**
   * Makes the error with CPython's message (`'3 bytes read on a total of 5 expected bytes'`).
   *
   * @param partial the bytes that were read before the end of the stream
   * @param expected the number of bytes asked for, or `null` for `readuntil()`
   */
  constructor(partial: Uint8Array, expected: number | null) {
    const total = expected === null ? 'undefined' : String(expected);
    super(`${partial.length} bytes read on a total of ${total} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }

  /** Recognises errors from any copy of this package, not only this one. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, incompleteReadBrand);
  }
}

Object.defineProperty(IncompleteReadError.prototype, 'name', { value: 'IncompleteReadError' });
Object.defineProperty(IncompleteReadError.prototype, incompleteReadBrand, { value: true });

const limitOverrunBrand = Symbol.for('asyncio-streams.LimitOverrunError');

/**
 * `readuntil()` found no separator within the reader's limit, or found one too far away
 * (CPython's `asyncio.LimitOverrunError`). The buffer is left untouched, so the caller can
 * skip `consumed` bytes with `read(consumed)` or raise the limit and retry.
 *
 * @example
 * ```ts
 * import { LimitOverrunError, StreamReader } from 'asyncio-streams';
 *
 * const reader = new StreamReader({ limit: 3 });
 * reader.feedData(new TextEncoder().encode('abcd\n'));
 * try {
 *   await reader.readuntil('\n');
 * } catch (error) {
 *   if (error instanceof LimitOverrunError) await reader.read(error.consumed + 1); // skip the line
 * }
 * ```
 */
export class LimitOverrunError extends Error {
  /** How many bytes can be consumed before the separator, or that were searched without one. */
  readonly consumed: number;

  /**
   * Makes the error; the reader raises it with CPython's messages.
   *
   * @param message what went wrong (CPython's wording)
   * @param consumed the number of bytes to be consumed
   */
  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }

  /** Recognises errors from any copy of this package, not only this one. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, limitOverrunBrand);
  }
}

Object.defineProperty(LimitOverrunError.prototype, 'name', { value: 'LimitOverrunError' });
Object.defineProperty(LimitOverrunError.prototype, limitOverrunBrand, { value: true });

/**
 * CPython's `ConnectionResetError('Connection lost')`, raised by `drain()` on a connection that
 * is closing or gone. It carries Node's code for a reset so that code testing
 * `error.code === 'ECONNRESET'` handles it like the runtime's own resets.
 */
export function connectionLost(): Error {
  return Object.assign(new Error('Connection lost'), { code: 'ECONNRESET' });
}

/** A socket used after it was closed. */
export function socketClosedError(): Error {
  return Object.assign(new Error('The socket is closed'), { code: 'ERR_SOCKET_CLOSED' });
}

/** The plain socket's streams after `startTls()`: the TLS socket it returned is the one to use. */
export function upgradedError(): Error {
  return Object.assign(new Error('The socket was upgraded by startTls(): use the socket it returned'), {
    code: 'ERR_SOCKET_UPGRADED',
  });
}

/**
 * A client's `startTls()` refused because the peer's bytes that came in the clear are still
 * unread: after the server's answer to STARTTLS nothing may come before the handshake, so
 * such bytes were injected (the STARTTLS "response injection" of CVE-2011-0411), and read
 * after the upgrade they would pass for bytes that came over TLS. CPython's reader keeps them.
 */
export function unreadBeforeTlsError(byteLength: number): Error {
  return Object.assign(
    new Error(`startTls(): ${byteLength} bytes the peer sent in the clear are still unread: read them first, or close the connection (after the answer to STARTTLS nothing may come before the handshake)`),
    { code: 'ERR_TLS_UNREAD_PLAINTEXT' },
  );
}
