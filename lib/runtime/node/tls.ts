import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP, Socket, type Socket as NetSocket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  checkServerIdentity,
  connect as tlsConnect,
  createSecureContext,
  TLSSocket,
  type PeerCertificate,
  type SecureContext,
  type SecureContextOptions,
} from 'node:tls';
import { tlsOptionsOf, type CheckedTls } from '../../_checks.ts';
import { stopReadsUnderWhenPaused } from './deno-tls-pause.ts';

export type { SecureContext };

/**
 * A TLS session over a connected `net.Socket` (or, on Deno, a stream over a `Deno.Conn`): what
 * a TLS `NodeSocket` is made of.
 */
export interface TlsLayer {
  /** The TLS socket; it reads and writes through `raw`. */
  readonly socket: TLSSocket;
  /** The TCP or Unix socket under it (CPython's `'socket'` extra info). */
  readonly raw: NetSocket | Duplex;
  /**
   * `raw` when it is a stream rather than a `net.Socket` (Deno's and Bun's connections): Bun's
   * TLS socket does not wait for it to take its writes, so its backlog must be watched too.
   */
  readonly stream: Duplex | null;
  /** What `getExtraInfo('sslcontext')` gives. */
  readonly context: SecureContext;
  readonly serverSide: boolean;
  /**
   * What a server with a `ca` asks of the client's certificate: one that verifies
   * (`'required'`), or none or one that verifies (`'optional'`, with `rejectUnauthorized:
   * false`, as CPython's `CERT_OPTIONAL`); `'none'` without a `ca`, and for a client.
   */
  readonly clientCertificate: 'required' | 'optional' | 'none';
  /** Seconds the handshake may take. */
  readonly handshakeTimeout: number;
}

/** setTimeout's ceiling (about 24.8 days); a longer timeout is no timeout at all. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The `SecureContext` for `tls`: the default trust store for `ssl: true` (and without `ca`),
 * else the certificates given.
 * @throws the runtime's error for PEM text it cannot use
 */
export function secureContextOf(tls: CheckedTls): SecureContext {
  if (tls.ssl === true) return createSecureContext();
  const { ca, cert, key } = tls.ssl;
  const options: SecureContextOptions = {};
  // Without `ca` Node uses its default store (with NODE_EXTRA_CA_CERTS), as ssl: true does.
  if (ca !== undefined) options.ca = (Array.isArray(ca) ? [...ca] : ca) as SecureContextOptions['ca'];
  if (cert !== undefined) options.cert = cert as SecureContextOptions['cert'];
  if (key !== undefined) options.key = key as SecureContextOptions['key'];
  const context = createSecureContext(options);
  checkCertificateAndKey(cert, key);
  return context;
}

/**
 * Throws for a `cert` or `key` that does not parse. Node and Bun have thrown already, from
 * `createSecureContext()`, with their own error; Deno's keeps the text unread, and its TLS
 * then goes on without a certificate it cannot read: a client would connect without its
 * certificate, a server would listen and fail every handshake. Here Deno throws too, with
 * its `node:crypto` error, before a server listens or a connection changes.
 */
function checkCertificateAndKey(cert: string | Uint8Array | undefined, key: string | Uint8Array | undefined): void {
  if (cert !== undefined) new X509Certificate(cert);
  // PEM is text, as a string or as its bytes.
  if (key !== undefined) createPrivateKey(typeof key === 'string' ? key : new TextDecoder().decode(key));
}

/**
 * Starts TLS over `raw`, which must not be read by anyone else from now on: bytes it has read
 * and not delivered are fed to TLS first (Node's `initRead`). A client checks the server's
 * certificate against `serverHostname`, sent as SNI unless it is an IP address (RFC 6066);
 * a server asks for a client certificate when it has a `ca` to check it against.
 */
export function startTlsOver(raw: NetSocket | Duplex, tls: CheckedTls, context: SecureContext): TlsLayer {
  const options = tlsOptionsOf(tls);
  const alpn = options.alpnProtocols === undefined ? undefined : [...options.alpnProtocols];
  let socket: TLSSocket;
  let clientCertificate: TlsLayer['clientCertificate'] = 'none';
  if (tls.serverSide) {
    const requestCert = options.ca !== undefined;
    if (requestCert) clientCertificate = options.rejectUnauthorized === false ? 'optional' : 'required';
    socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: context,
      requestCert,
      rejectUnauthorized: clientCertificate === 'required',
      ALPNProtocols: alpn,
    });
  } else {
    const name = tls.serverHostname;
    socket = tlsConnect({
      socket: raw,
      secureContext: context,
      servername: name === null || isIP(name) !== 0 ? undefined : name,
      // The name to verify is ours, not Node's fallback ('localhost' for a socket given).
      checkServerIdentity: (_host: string, cert: PeerCertificate) =>
        name === null ? undefined : checkServerIdentity(name, cert),
      rejectUnauthorized: options.rejectUnauthorized !== false,
      ALPNProtocols: alpn,
    });
  }
  // A server's TLS socket over a stream (Deno's and Bun's connections) hears of the stream's
  // close but not of its error: a reset would end the connection cleanly, and writes to it
  // would complete without end. (A client's, of tls.connect(), and one over a net.Socket do.)
  const stream = raw instanceof Socket ? null : raw;
  if (tls.serverSide && stream !== null) stream.once('error', (error: Error) => socket.destroy(error));
  stopReadsUnderWhenPaused(socket, raw);
  return { socket, raw, stream, context, serverSide: tls.serverSide, clientCertificate, handshakeTimeout: tls.handshakeTimeout };
}

/**
 * CPython's `ConnectionAbortedError` for a handshake that took too long, with Node's timeout
 * code (the Deno adapter's too).
 */
export function handshakeTimeoutError(seconds: number): Error {
  // Python prints the default (a float) as 60.0.
  const shown = Number.isInteger(seconds) ? seconds.toFixed(1) : String(seconds);
  return Object.assign(new Error(`SSL handshake is taking longer than ${shown} seconds: aborting the connection`), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });
}

/**
 * Why the client certificate a server asked for does not verify, or null when it does. A bare
 * server `TLSSocket` (unlike one of a `tls.Server`) finishes its handshake whatever the check
 * found, and Node's own `tls.Server` reads the result the same way, from the handle: an `Error`
 * with OpenSSL's code on Node, the code alone on Deno (`''` when it verified). Bun's
 * `TLSSocket` refuses by itself a certificate it requires, and names what is wrong with an
 * optional one in `authorizationError`. Anything else is no verdict: refused unless `authorized`.
 */
function clientCertificateError(socket: TLSSocket): Error | null {
  const handle = (socket as unknown as { _handle?: { verifyError?(): unknown } | null })._handle;
  const verdict = handle?.verifyError?.();
  if (verdict === null || verdict === '' || socket.authorized === true) return null;
  if (verdict instanceof Error) return verdict;
  const code = typeof verdict === 'string' ? verdict : authorizationCode(socket) ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
  return Object.assign(new Error(`The client certificate was refused: ${code}`), { code });
}

/** OpenSSL's code of what `socket.authorizationError` says (Bun's: the code, of a certificate it did not refuse). */
function authorizationCode(socket: TLSSocket): string | null {
  const error: unknown = socket.authorizationError;
  if (typeof error === 'string') return error;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : null;
}

/**
 * Whether the server checks the client's certificate now the handshake is done: always when
 * one is required; when optional, if the client presented one (an optional certificate that
 * does not verify is refused, as CPython's `CERT_OPTIONAL` does, not served as if it did).
 */
function checksClientCertificate(layer: TlsLayer): boolean {
  if (layer.clientCertificate === 'none') return false;
  return layer.clientCertificate === 'required' || Object.keys(layer.socket.getPeerCertificate()).length > 0;
}

/**
 * Calls `onSecure` once the handshake is done and the peer accepted: a client's check of the
 * server's certificate and name, and a server's check of the client's certificate when it has
 * a `ca` (the one place every server-side TLS route makes it; see `checksClientCertificate()`).
 * Destroys the socket with the check's error (its `code` is OpenSSL's, e.g.
 * `CERT_HAS_EXPIRED`), with a timeout error when the handshake takes longer than the layer's
 * timeout, with `ECONNRESET` when the peer ends the connection first, and with its error when
 * it fails.
 * @returns a function that stops watching, for a socket closed meanwhile
 */
export function watchHandshake(layer: TlsLayer, onSecure: () => void): () => void {
  const socket = layer.socket;
  const ms = layer.handshakeTimeout * 1000;
  const timer = ms <= MAX_TIMER_MS
    ? setTimeout(() => socket.destroy(handshakeTimeoutError(layer.handshakeTimeout)), ms)
    : undefined;
  // The connection is half-open (allowHalfOpen), and nothing else listens for the peer's FIN
  // before the handshake is done: a peer gone mid-handshake would hold it until the timeout.
  const onEnd = (): void => void socket.destroy(peerGoneError());
  socket.once('end', onEnd);
  const stop = (): void => {
    clearTimeout(timer);
    socket.off('end', onEnd);
  };
  // A client's 'secure' comes before Node checks the certificate; 'secureConnect' after.
  socket.once(layer.serverSide ? 'secure' : 'secureConnect', () => {
    stop();
    const refused = checksClientCertificate(layer) ? clientCertificateError(socket) : null;
    if (refused !== null) {
      socket.destroy(refused);
      return;
    }
    onSecure();
  });
  return stop;
}

/** Node's error for a peer that goes away before the handshake is done (as `tls.connect()`'s). */
function peerGoneError(): Error {
  return Object.assign(new Error('The peer closed the connection before the TLS handshake was done'), { code: 'ECONNRESET' });
}

/** The negotiated ALPN protocol, or null. */
export function alpnOf(layer: TlsLayer): string | null {
  const protocol = layer.socket.alpnProtocol;
  return typeof protocol === 'string' ? protocol : null;
}

/**
 * CPython's TLS extra info: `sslcontext` from the start; once the handshake is done `peercert`
 * (Node's certificate object, `null` when the peer sent none), `cipher` (Node's
 * `{ name, standardName, version }`), `compression` (`null`: TLS compression is off) and
 * `ssl_object` (the `TLSSocket`). `socket` is the socket under TLS.
 * @returns `undefined` for any other name, or for a name not known yet
 */
export function tlsExtraInfo(layer: TlsLayer, name: string, secure: boolean): unknown {
  switch (name) {
    case 'sslcontext':
      return layer.context;
    case 'socket':
      return layer.raw;
    default:
  }
  if (!secure) return undefined;
  switch (name) {
    case 'peercert': {
      const cert = layer.socket.getPeerCertificate();
      return Object.keys(cert).length === 0 ? null : cert;
    }
    case 'cipher':
      return layer.socket.getCipher();
    case 'compression':
      return null;
    case 'ssl_object':
      return layer.socket;
    default:
      return undefined;
  }
}
