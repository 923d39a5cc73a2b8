/**
 * What both socket classes share, `NodeSocket` and `DenoSocket`: the value of `opened` and the
 * options of `startTls()`, and the bits of state they both keep.
 */
import type { SecureContext } from 'node:tls';
import { startTlsOptionsOf, type CheckedTls } from '../_checks.ts';
import type { SocketStartTlsOptions } from '../transport.ts';

/*
 * What both socket classes keep of their state in one small integer (`#flags`), where a
 * boolean field each would cost 8 bytes a socket: the bits they share, and the first bit
 * left for each class's own.
 */
/** The connection is fully closed. */
export const CLOSED = 1;
/** `readable` is finished (ended, errored or cancelled): no more bytes go to it. */
export const READ_DONE = 2;
/** `writable` is finished: ended, errored, or handed to TLS. */
export const WRITE_DONE = 4;
/** The first bit a socket class may use for its own state. */
export const FIRST_OWN_FLAG = 8;

/** Bytes a socket's streams queue before they push back (`writer.ready` waits, reading pauses), by default. */
export const DEFAULT_HIGH_WATER_MARK = 65536;

/**
 * What a socket's `opened` resolves with (WinterTC `SocketInfo`).
 *
 * @example
 * ```ts
 * const { remoteAddress, localAddress, alpn }: SocketInfo = await socket.opened;
 * ```
 */
export interface SocketInfo {
  /** `host:port` of the peer, or the path of a Unix socket; `null` when unknown. */
  remoteAddress: string | null;
  /** `host:port` of our end, or the path of a Unix socket; `null` when unknown. */
  localAddress: string | null;
  /**
   * The negotiated ALPN protocol of a TLS socket; `null` when none was, or without TLS (a
   * plain socket's `startTls()` returns the TLS socket, whose `opened` tells it).
   */
  alpn: string | null;
}

/**
 * Options of `NodeSocket.startTls()` and `DenoSocket.startTls()`: a socket's start-TLS options,
 * and a context made already (both runtimes run TLS through `node:tls`).
 *
 * @example
 * ```ts
 * import { createSecureContext } from 'node:tls';
 * import type { RuntimeStartTlsOptions } from 'asyncio-streams';
 *
 * // A server makes the context once, for every client it upgrades.
 * const secureContext = createSecureContext({ cert, key });
 * const options: RuntimeStartTlsOptions = { ssl: { cert, key }, serverSide: true, secureContext };
 * const secure = socket.startTls(options);
 * ```
 */
export interface RuntimeStartTlsOptions extends SocketStartTlsOptions {
  /**
   * A `SecureContext` made from `ssl` already (`tls.createSecureContext()`), used instead of
   * making one: a server makes it once for all its clients. `ssl` still says what to check.
   */
  secureContext?: SecureContext;
}

/**
 * TLS on an open socket of an adapter as `ssl` asks for it: the connectors' `startTls` (see
 * `Connector`), the same on every runtime. The TLS socket's `opened` settles with the handshake.
 *
 * @param socket a `NodeSocket`, `DenoSocket` or `BunSocket`, open
 * @param tls the checked `ssl` and its options
 * @returns the TLS socket
 * @example
 * ```ts
 * declare const socket: { startTls(options: RuntimeStartTlsOptions): Transport };
 * declare const tls: Parameters<typeof startTlsAsAsked>[1];
 * const secure = startTlsAsAsked(socket, tls);
 * ```
 */
export function startTlsAsAsked<T>(socket: { startTls(options: RuntimeStartTlsOptions): T }, tls: CheckedTls): T {
  return socket.startTls(startTlsOptionsOf(tls));
}
