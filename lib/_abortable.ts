/**
 * Settles as `pending` does, unless `signal` aborts first: then it rejects with the signal's
 * reason at once and calls `onAbort(reason)`, which ends what is under way (closes the socket
 * still connecting, or the connection that arrives late). The one abort-while-connecting rule
 * of every client route: connecting, waiting for `opened`, the TLS handshake. The signal is not
 * watched once `pending` has settled; an aborted one rejects at once.
 *
 * @param pending what is under way
 * @param signal the caller's signal; `undefined`: `pending` itself
 * @param onAbort stops what is under way; called once, after the rejection is decided
 * @returns `pending`'s value
 * @throws `pending`'s error, or the signal's reason
 * @example
 * ```ts
 * const connecting = openConnection('192.0.2.1', 8888); // an address that does not answer
 * const [, writer] = await abortable(connecting, AbortSignal.timeout(5000), () => {
 *   void connecting.then(([, late]) => late.close(), () => {});
 * });
 * ```
 */
export function abortable<T>(pending: Promise<T>, signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): Promise<T> {
  if (signal === undefined) return pending;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      reject(signal.reason);
      onAbort(signal.reason);
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    // Settling after an abort changes nothing, and a failure then is the abort's doing.
    pending.finally(() => signal.removeEventListener('abort', abort)).then(resolve, reject);
  });
}
