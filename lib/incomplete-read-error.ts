import { hasBrand } from './_brand.js';

const brand = Symbol.for('asyncio-streams.IncompleteReadError');

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
    return hasBrand(value, brand);
  }
}

Object.defineProperty(IncompleteReadError.prototype, 'name', { value: 'IncompleteReadError' });
Object.defineProperty(IncompleteReadError.prototype, brand, { value: true });
