/** Hears how a connection closed: `null` after a clean close, else the error it died of. */
export type ClosedWatcher = (error: unknown) => void;

function ignore(): void {}

/**
 * When a socket is fully closed, told only to who asks: the watchers given to `watch()` (the
 * library's writer and server, see `Transport._whenClosed()`), and the `closed` promise, made
 * on first access. An idle connection holds neither a promise nor its resolve functions (a
 * promise with its two closures and a `catch()` costs about 250 bytes a socket). Both socket
 * classes keep theirs in one of these, made when first needed.
 *
 * @example
 * ```ts
 * const signal = new ClosedSignal();
 * signal.watch((error) => console.log('closed', error));
 * signal.settle(null); // the watcher runs now
 * await signal.promise; // made now, already resolved
 * ```
 */
export class ClosedSignal {
  /** Who waits, until the close: one watcher alone, or several. */
  #watchers: ClosedWatcher | ClosedWatcher[] | null = null;
  /** How the socket closed, once it has. */
  #outcome: { error: unknown } | null = null;
  #promise: Promise<void> | null = null;

  /**
   * Settles when the socket is fully closed: resolves after a clean close, rejects with the
   * error it died of. The same promise on every access; marked handled, as a socket's `closed`
   * that nobody reads must not report an unhandled rejection.
   */
  get promise(): Promise<void> {
    if (this.#promise !== null) return this.#promise;
    const outcome = this.#outcome;
    let promise: Promise<void>;
    if (outcome === null) {
      promise = new Promise<void>((resolve, reject) => this.watch((error) => (error === null ? resolve() : reject(error))));
    } else {
      promise = outcome.error === null ? Promise.resolve() : Promise.reject(outcome.error);
    }
    promise.catch(ignore);
    this.#promise = promise;
    return promise;
  }

  /**
   * Calls `watcher` as the socket closes (the socket settles last, after its own work), or in a
   * microtask when it is closed already: never during this call.
   */
  watch(watcher: ClosedWatcher): void {
    const outcome = this.#outcome;
    if (outcome !== null) {
      queueMicrotask(() => watcher(outcome.error));
      return;
    }
    const watchers = this.#watchers;
    if (watchers === null) this.#watchers = watcher;
    else if (typeof watchers === 'function') this.#watchers = [watchers, watcher];
    else watchers.push(watcher);
  }

  /** The error the socket died of; null while it is open and after a clean close. */
  get error(): unknown {
    return this.#outcome?.error ?? null;
  }

  /** The socket closed, cleanly (`null`) or of `error`: tells the watchers; later calls change nothing. */
  settle(error: unknown): void {
    if (this.#outcome !== null) return;
    this.#outcome = { error };
    const watchers = this.#watchers;
    this.#watchers = null;
    if (typeof watchers === 'function') watchers(error);
    else if (watchers !== null) for (const watcher of watchers) watcher(error);
  }
}
