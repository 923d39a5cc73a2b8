/**
 * The part of Bun's global namespace the benchmarks use as Bun's own sockets (the anchor on
 * Bun), typed here because the project compiles against Node's types only.
 */
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';

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
  /** The peer's FIN. */
  end?(socket: BunSocket): void;
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

/** The connection functions the Bun-only variants run. */
export interface ConnectionFunctions {
  openConnection(host: string, port: number): Promise<[StreamReader, StreamWriter]>;
  startServer(callback: (reader: StreamReader, writer: StreamWriter) => unknown, host: string, port: number): Promise<Server>;
}

/**
 * The Node adapter (`lib/runtime/node.ts`) over Bun's `node:net`: what the Bun entry was before
 * it ran over `Bun.listen`/`Bun.connect` (the `node-ours` variants), loaded as the library is on
 * Bun (the TypeScript sources); `remove()` for the shape of `loadRuntimeLibrary()`.
 */
export async function loadNodeAdapter(): Promise<{ library: ConnectionFunctions; remove(): void }> {
  return { library: await import('../lib/runtime/node.ts'), remove: () => {} };
}

/**
 * The Bun entry with its writers copying every write, as on the other runtimes: its sockets'
 * `_sendNow()` hidden (the `ours-copy` variant, to measure what sending without a copy saves).
 */
export async function loadCopyingBunEntry(): Promise<{ library: ConnectionFunctions; remove(): void }> {
  const { BunSocket } = await import('../lib/runtime/bun/socket.ts');
  Object.defineProperty(BunSocket.prototype, '_sendNow', { value: undefined });
  return { library: await import('../lib/runtime/bun.ts'), remove: () => {} };
}
