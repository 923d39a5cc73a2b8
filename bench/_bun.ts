/**
 * The part of Bun's global namespace the benchmarks use as Bun's own sockets (the anchor on
 * Bun), typed here because the project compiles against Node's types only.
 */

/** A `Bun.Socket`. */
export interface BunSocket {
  /** Writes what it can at once; returns how many bytes that was. */
  write(data: Uint8Array): number;
  /** Closes the connection after what is written goes out. */
  end(): void;
  /** Whatever the program keeps with the socket (Bun's per-socket slot). */
  data: unknown;
}

interface BunSocketHandlers {
  open?(socket: BunSocket): void;
  data?(socket: BunSocket, data: Uint8Array): void;
  /** The socket can take more after a `write()` that took less than it was given. */
  drain?(socket: BunSocket): void;
  close?(socket: BunSocket): void;
}

/** The `Bun` namespace, as far as the benchmarks use it. */
export interface BunNamespace {
  listen(options: { hostname: string; port: number; socket: BunSocketHandlers }): { port: number; stop(closeActive?: boolean): void };
  connect(options: { hostname: string; port: number; socket: BunSocketHandlers }): Promise<BunSocket>;
  /** Collects garbage; `true`: synchronously. */
  gc(force: boolean): void;
}

/**
 * The `Bun` global.
 * @throws {Error} outside Bun
 */
export function bunNamespace(): BunNamespace {
  const bun = (globalThis as { Bun?: BunNamespace }).Bun;
  if (!bun) throw new Error('not running on Bun');
  return bun;
}
