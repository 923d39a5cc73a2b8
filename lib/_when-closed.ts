import type { Transport } from './transport.ts';

/**
 * Calls `watcher` once `transport` is fully closed, with `null` after a clean close, else the
 * error it died of: through `_whenClosed()` where the transport has it (its `closed` promise
 * is then never made), else through `closed`.
 *
 * @param transport the connection
 * @param watcher hears how it closed
 * @returns false when `transport` tells neither way (it has no `closed` promise)
 * @example
 * ```ts
 * declare const transport: Transport;
 * whenClosed(transport, (error) => console.log(error === null ? 'closed' : `died of ${error}`));
 * ```
 */
export function whenClosed(transport: Partial<Transport>, watcher: (error: unknown) => void): boolean {
  if (typeof transport._whenClosed === 'function') {
    transport._whenClosed(watcher);
    return true;
  }
  const closed = transport.closed;
  if (!(closed instanceof Promise)) return false;
  closed.then(
    () => watcher(null),
    (error: unknown) => watcher(error),
  );
  return true;
}
