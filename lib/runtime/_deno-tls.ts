import type { CheckedTls, Pem, TlsOptions } from '../_connection-options.js';
import type { DenoConn, DenoListener, DenoTlsConn } from './_deno-namespace.js';
import { denoNamespace } from './_deno-namespace.js';
import { DenoSocket, type DenoSocketOptions } from './_deno-socket.js';

/** setTimeout's ceiling (about 24.8 days); a longer timeout is no timeout at all. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const decoder = new TextDecoder();

function pem(value: Pem): string {
  return typeof value === 'string' ? value : decoder.decode(value);
}

function options(tls: CheckedTls): TlsOptions {
  return tls.ssl === true ? {} : tls.ssl;
}

/** What Deno's TLS (rustls) cannot do, refused before anything is opened. */
function checkDenoTls(tls: CheckedTls): void {
  if (options(tls).rejectUnauthorized === false) {
    throw new RangeError('rejectUnauthorized: false is not supported on Deno, which always verifies the peer');
  }
  if (tls.serverSide && options(tls).ca !== undefined) {
    throw new RangeError('ssl.ca on a server (client certificates) is not supported on Deno');
  }
}

/** CPython's `ConnectionAbortedError` for a handshake that took too long, as the Node adapter's. */
function handshakeTimeoutError(seconds: number): Error {
  const shown = Number.isInteger(seconds) ? seconds.toFixed(1) : String(seconds);
  return Object.assign(new Error(`SSL handshake is taking longer than ${shown} seconds: aborting the connection`), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });
}

/**
 * Finishes the handshake of `conn` within the timeout and wraps it; closes it when the
 * handshake fails or takes too long.
 */
async function handshake(conn: DenoTlsConn, tls: CheckedTls, socketOptions: DenoSocketOptions): Promise<DenoSocket> {
  const ms = tls.handshakeTimeout * 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (ms <= MAX_TIMER_MS) timer = setTimeout(() => reject(handshakeTimeoutError(tls.handshakeTimeout)), ms);
  });
  try {
    const { alpnProtocol } = await Promise.race([conn.handshake(), timedOut]);
    return new DenoSocket(conn, { ...socketOptions, tls: { alpn: alpnProtocol } });
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Closed by the failed handshake.
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a TLS connection to `hostname:port` and finishes the handshake: `Deno.connectTls()`
 * when the name to verify is the host connected to (it can send a client certificate), else a
 * TCP connection upgraded with `Deno.startTls()` against `serverHostname`.
 *
 * @throws {RangeError} for what Deno cannot do: `rejectUnauthorized: false`, a client
 *   certificate with a `serverHostname` other than the host
 */
export async function connectTls(hostname: string, port: number, tls: CheckedTls): Promise<DenoSocket> {
  checkDenoTls(tls);
  const deno = denoNamespace();
  const { ca, cert, key, alpnProtocols } = options(tls);
  const caCerts = ca === undefined ? undefined : (Array.isArray(ca) ? ca : [ca as Pem]).map(pem);
  const name = tls.serverHostname ?? hostname;
  const common = {
    ...(caCerts === undefined ? {} : { caCerts }),
    ...(alpnProtocols === undefined ? {} : { alpnProtocols: [...alpnProtocols] }),
  };
  let conn: DenoTlsConn;
  if (name === hostname) {
    const client = cert === undefined || key === undefined ? {} : { cert: pem(cert), key: pem(key) };
    conn = await deno.connectTls({ hostname, port, ...common, ...client });
  } else {
    if (cert !== undefined) {
      throw new RangeError('On Deno a client certificate needs serverHostname to be the host connected to');
    }
    const tcp: DenoConn = await deno.connect({ hostname, port });
    tcp.setNoDelay?.(true);
    conn = await deno.startTls(tcp, { hostname: name, ...common });
  }
  return handshake(conn, tls, {});
}

/**
 * Listens with TLS on `hostname:port` (`Deno.listenTls()`).
 * @throws {RangeError} for `ssl.ca` (client certificates) and `rejectUnauthorized: false`
 */
export function listenTls(hostname: string, port: number, tls: CheckedTls): DenoListener {
  checkDenoTls(tls);
  const { cert, key, alpnProtocols } = options(tls);
  return denoNamespace().listenTls({
    hostname,
    port,
    cert: pem(cert!),
    key: pem(key!),
    ...(alpnProtocols === undefined ? {} : { alpnProtocols: [...alpnProtocols] }),
  });
}

/** Wraps a connection a TLS listener accepted once its handshake is done. */
export function acceptTls(conn: DenoConn, tls: CheckedTls): Promise<DenoSocket> {
  return handshake(conn as DenoTlsConn, tls, {});
}
