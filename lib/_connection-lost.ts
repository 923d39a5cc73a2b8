/**
 * CPython's `ConnectionResetError('Connection lost')`, raised by `drain()` on a connection that
 * is closing or gone. It carries Node's code for a reset so that code testing
 * `error.code === 'ECONNRESET'` handles it like the runtime's own resets.
 */
export function connectionLost(): Error {
  return Object.assign(new Error('Connection lost'), { code: 'ECONNRESET' });
}
