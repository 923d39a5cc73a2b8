import type { SocketName } from './transport.ts';

/**
 * The fields of a peer's certificate that `getExtraInfo('peercert')` gives on every runtime
 * that knows it (Node's `tls.PeerCertificate`, which Bun and Deno's `node:tls` give too).
 */
export interface PeerCertificate {
  /** The subject's name parts (`CN`, `O`, `C`, ...). */
  readonly subject: Readonly<Record<string, string | string[]>>;
  /** The issuer's name parts. */
  readonly issuer: Readonly<Record<string, string | string[]>>;
  /** Start of validity, as the runtime prints it (`'Nov 25 00:00:00 2026 GMT'`). */
  readonly valid_from: string;
  /** End of validity. */
  readonly valid_to: string;
  /** The serial number, in hexadecimal. */
  readonly serialNumber: string;
  /** Whether it is a certificate authority's. */
  readonly ca: boolean;
  /** The SHA-1 fingerprint, colon-separated hexadecimal. */
  readonly fingerprint: string;
  /** The SHA-256 fingerprint. */
  readonly fingerprint256: string;
  /** The SHA-512 fingerprint. */
  readonly fingerprint512: string;
  /** The certificate, DER-encoded. */
  readonly raw: Uint8Array;
  /** The runtime's other fields (`subjectaltname`, `ca`, `fingerprint`, ...). */
  readonly [field: string]: unknown;
}

/** What `getExtraInfo('cipher')` gives once a TLS handshake is done (Node's `getCipher()`). */
export interface CipherInfo {
  /** OpenSSL's name of the cipher suite. */
  readonly name: string;
  /** The IETF name of the cipher suite. */
  readonly standardName: string;
  /** The TLS version (`'TLSv1.3'`). */
  readonly version: string;
}

/**
 * The names `getExtraInfo()` knows, with the type of each (CPython's `get_extra_info()`
 * names). A name the connection cannot tell gives the default value (`null`) instead: the TLS
 * names on a plain connection, `peercert` and `cipher` over Deno's own TLS, everything on a
 * writer over a bare `WritableStream`.
 *
 * @example
 * ```ts
 * import type { ExtraInfo } from 'asyncio-streams';
 *
 * function describePeer(peer: ExtraInfo['peername']): string {
 *   return typeof peer === 'string' ? peer : `${peer[0]}:${peer[1]}`;
 * }
 * ```
 */
export interface ExtraInfo {
  /** The peer's address: `[host, port]`, or a Unix socket's path (`''` on a server's side). */
  peername: SocketName;
  /** Our address: `[host, port]`, or a Unix socket's path (`''` on a client's side). */
  sockname: SocketName;
  /** The runtime's socket: a `net.Socket` on Node and Bun, a `Deno.Conn` on Deno. */
  socket: unknown;
  /** The runtime's TLS context (Node's `SecureContext`). */
  sslcontext: unknown;
  /** The peer's certificate, `null` when it sent none. */
  peercert: PeerCertificate | null;
  /** The cipher suite in use. */
  cipher: CipherInfo;
  /** Always `null`: TLS compression is off. */
  compression: null;
  /** The runtime's TLS socket (Node's `TLSSocket`). */
  ssl_object: unknown;
}

/** The extra info of a connection that has none of its own: one frozen object, not one per connection. */
export const NO_EXTRA: Readonly<Record<string, unknown>> = Object.freeze({});
