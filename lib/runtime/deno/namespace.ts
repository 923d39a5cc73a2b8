/**
 * The part of Deno's global namespace the Deno adapter uses, typed here so that the package
 * type-checks without Deno's own declarations (the project compiles against Node's types).
 */

/** A TCP address (`Deno.NetAddr`). */
export interface DenoNetAddr {
  /** The protocol. */
  readonly transport: 'tcp' | 'udp';
  /** The address. */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
}

/** A Unix socket address (`Deno.UnixAddr`). */
export interface DenoUnixAddr {
  /** The socket type. */
  readonly transport: 'unix' | 'unixpacket';
  /** The socket's path; `null` for an unnamed socket. */
  readonly path: string | null;
}

/** `Deno.Addr`. */
export type DenoAddr = DenoNetAddr | DenoUnixAddr;

/** A connection (`Deno.Conn`): `Deno.TcpConn`, `Deno.UnixConn` or `Deno.TlsConn`. */
export interface DenoConn {
  /** Reads into `p`; `null` at EOF, and 0 is not EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; may write only part of it. */
  write(p: Uint8Array): Promise<number>;
  /** `shutdown(SHUT_WR)`: the peer sees EOF, reading goes on. */
  closeWrite(): Promise<void>;
  /** Closes both directions. */
  close(): void;
  /** Our address. */
  readonly localAddr: DenoAddr;
  /** The peer's address. */
  readonly remoteAddr: DenoAddr;
  /** The peer's bytes, as a stream. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Where bytes for the peer go, as a stream. */
  readonly writable: WritableStream<Uint8Array>;
  /** Turns Nagle's algorithm off (TCP only). */
  setNoDelay?(noDelay?: boolean): void;
  /** Turns TCP keep-alive probes on or off (SO_KEEPALIVE; TCP only). */
  setKeepAlive?(keepAlive?: boolean): void;
}

/** A listening socket (`Deno.Listener`). */
export interface DenoListener extends AsyncIterable<DenoConn> {
  /** The next connection. */
  accept(): Promise<DenoConn>;
  /** Stops listening. */
  close(): void;
  /** The address it listens on. */
  readonly addr: DenoAddr;
}

/** What `Deno.lstatSync()` and `Deno.statSync()` say of a file, as far as the adapter uses it. */
export interface DenoFileInfo {
  isSocket: boolean | null;
  dev: number;
  ino: number | null;
}

/** The `Deno` namespace, as far as the adapter uses it. */
export interface DenoNamespace {
  connect(options: { hostname?: string; port: number; transport?: 'tcp'; signal?: AbortSignal }): Promise<DenoConn>;
  connect(options: { transport: 'unix'; path: string }): Promise<DenoConn>;
  /** `reusePort` is an unstable API: with it, Deno exits unless run with `--unstable-net`. */
  listen(options: { hostname?: string; port?: number; transport?: 'tcp'; tcpBacklog?: number; reusePort?: boolean }): DenoListener;
  listen(options: { transport: 'unix'; path: string }): DenoListener;
  lstatSync(path: string): DenoFileInfo;
  statSync(path: string): DenoFileInfo;
  linkSync(oldpath: string, newpath: string): void;
  removeSync(path: string): void;
  readonly errors: { readonly NotFound: new (...args: never[]) => Error };
  /** Present only under `--unstable-net` (or `--unstable`), as the other unstable network APIs. */
  readonly listenDatagram?: unknown;
}

/**
 * The `Deno` global.
 * @throws {Error} outside Deno
 */
export function denoNamespace(): DenoNamespace {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) throw new Error('The Deno adapter of asyncio-streams runs only under Deno');
  return deno;
}

/** Whether `value` looks like a `Deno.Conn` (rather than a plain `{ readable, writable }` pair). */
export function isDenoConn(value: unknown): value is DenoConn {
  const conn = value as Partial<DenoConn> | null;
  return typeof conn?.read === 'function' && typeof conn.write === 'function' && typeof conn.closeWrite === 'function';
}

/** Whether `value` looks like a `Deno.Listener`. */
export function isDenoListener(value: unknown): value is DenoListener {
  const listener = value as Partial<DenoListener> | null;
  return typeof listener?.accept === 'function' && typeof listener.close === 'function' && listener.addr !== undefined;
}
