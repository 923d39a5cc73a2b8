import { hasBrand } from './_brand.js';

const brand = Symbol.for('asyncio-streams.LimitOverrunError');

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
    return hasBrand(value, brand);
  }
}

Object.defineProperty(LimitOverrunError.prototype, 'name', { value: 'LimitOverrunError' });
Object.defineProperty(LimitOverrunError.prototype, brand, { value: true });
