import { tlsOptionsOf, type CheckedTls, type Pem } from '../_connection-options.js';
import { connDuplex } from './_deno-conn-duplex.js';
import { denoNamespace, type DenoConn, type DenoTlsConn } from './_deno-namespace.js';
import { secureSocketOver, type NodeSocket, type SecureSocketOptions } from './_node-socket.js';
import { withTlsCode } from './_tls-error-code.js';
import { handshakeTimeoutError, MAX_TIMER_MS, secureContextOf, type SecureContext } from './_node-tls.js';

/** A `Deno.TlsConn` whose handshake is done, with the ALPN protocol it negotiated. */
export interface DenoHandshake {
  conn: DenoTlsConn;
  alpn: string | null;
}

/** What TLS through `node:tls` over a `Deno.Conn` needs besides the checked options. */
export interface NodeTlsOptions extends SecureSocketOptions {
  /** Bytes already read from the connection that belong to TLS (a server's first record). */
  received?: Uint8Array;
  /** Made from the options already: a server makes it once for all its clients. */
  secureContext?: SecureContext;
}

const decoder = new TextDecoder();

/** PEM text as a string. */
export function pem(value: Pem): string {
  return typeof value === 'string' ? value : decoder.decode(value);
}

/** What `Deno.connectTls()`/`Deno.startTls()` take of the options: PEM text and protocols. */
export function denoClientOptions(tls: CheckedTls): { caCerts?: string[]; alpnProtocols?: string[]; cert?: string; key?: string } {
  const { ca, cert, key, alpnProtocols } = tlsOptionsOf(tls);
  return {
    ...(ca === undefined ? {} : { caCerts: (Array.isArray(ca) ? ca : [ca as Pem]).map(pem) }),
    ...(alpnProtocols === undefined ? {} : { alpnProtocols: [...alpnProtocols] }),
    ...(cert === undefined || key === undefined ? {} : { cert: pem(cert), key: pem(key) }),
  };
}

/**
 * Whether the adapter uses Deno's own TLS (rustls) for `tls`: a client over TCP that verifies
 * the server (Deno cannot turn that off). For the rest, a server's side included (see
 * `serverTlsOf()`), the adapter runs `node:tls` over the connection.
 *
 * @param upgrade whether TLS starts over an open connection (`Deno.startTls()` sends no client
 *   certificate) rather than with it (`Deno.connectTls()`)
 */
export function denoTlsCan(tls: CheckedTls, upgrade: boolean): boolean {
  const options = tlsOptionsOf(tls);
  if (tls.serverSide) return false;
  return options.rejectUnauthorized !== false && tls.serverHostname !== null && !(upgrade && options.cert !== undefined);
}

/**
 * Finishes the handshake of the TLS connection `connecting` gives within `seconds`; closes it
 * when the handshake fails or takes too long. A failure carries Node's code (`withTlsCode()`).
 */
export async function handshakeWithin(connecting: Promise<DenoTlsConn>, seconds: number): Promise<DenoHandshake> {
  const ms = seconds * 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (ms <= MAX_TIMER_MS) timer = setTimeout(() => reject(handshakeTimeoutError(seconds)), ms);
  });
  let conn: DenoTlsConn | undefined;
  try {
    conn = await Promise.race([connecting, timedOut]);
    const { alpnProtocol } = await Promise.race([conn.handshake(), timedOut]);
    return { conn, alpn: alpnProtocol };
  } catch (error) {
    // A connection that arrives after the timeout is closed too.
    if (conn === undefined) connecting.then((late) => closeQuietly(late), () => {});
    else closeQuietly(conn);
    throw withTlsCode(error);
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch {
    // Closed by the failed handshake.
  }
}

/**
 * Upgrades a TCP connection with `Deno.startTls()` (client side, `denoTlsCan(tls, true)`).
 * Deno takes `conn` over: nothing may read or write it from now on.
 */
export function startDenoTls(conn: DenoConn, tls: CheckedTls): Promise<DenoHandshake> {
  const { caCerts, alpnProtocols } = denoClientOptions(tls);
  const connecting = denoNamespace().startTls(conn, {
    hostname: tls.serverHostname!,
    ...(caCerts === undefined ? {} : { caCerts }),
    ...(alpnProtocols === undefined ? {} : { alpnProtocols }),
  });
  return handshakeWithin(connecting, tls.handshakeTimeout);
}

/**
 * Starts TLS over `conn` with Deno's `node:tls`, for what Deno's own API cannot do (see
 * `denoTlsCan()`), and returns the TLS socket; its `opened` settles with the handshake.
 */
export function startNodeTls(conn: DenoConn, tls: CheckedTls, options: NodeTlsOptions = {}): NodeSocket {
  const context = options.secureContext ?? secureContextOf(tls);
  return secureSocketOver(connDuplex(conn, options.received), tls, context, {
    ...options,
    extra: { socket: conn, ...options.extra },
  });
}
