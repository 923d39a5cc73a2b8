import { startTlsOptionsOf, tlsOptionsOf, type CheckedTls } from '../_connection-options.js';
import type { Transport } from '../_transport.js';
import type { DenoConn, DenoListener, DenoTlsConn } from './_deno-namespace.js';
import { denoNamespace } from './_deno-namespace.js';
import { DenoSocket, handshakingSocket } from './_deno-socket.js';
import { denoClientOptions, denoTlsCan, handshakeWithin, pem } from './_deno-start-tls.js';
import { secureContextOf, type SecureContext } from './_node-tls.js';

/** How a server starts TLS on each client: the checked options, and the context when `node:tls` runs it. */
export interface DenoServerTls {
  tls: CheckedTls;
  /** Set when `Deno.listenTls()` cannot do what `tls` asks (client certificates, a Unix socket). */
  context: SecureContext | null;
}

/**
 * How a server will start TLS: with `Deno.listenTls()` where it can, else with `node:tls` on
 * each accepted connection, whose context is made here so that PEM text it cannot use fails
 * `startServer()`.
 */
export function serverTlsOf(tls: CheckedTls, unix: boolean): DenoServerTls {
  return { tls, context: !unix && denoTlsCan(tls, false) ? null : secureContextOf(tls) };
}

/** Upgrades `socket` and resolves with the TLS socket once its handshake is done; closes it when that fails. */
export async function upgraded(socket: DenoSocket, tls: CheckedTls): Promise<Transport> {
  let secure: Transport;
  try {
    secure = socket.startTls(startTlsOptionsOf(tls));
  } catch (error) {
    void socket.close();
    throw error;
  }
  try {
    await secure.opened;
  } catch (error) {
    void secure.close();
    throw error;
  }
  return secure;
}

/**
 * Opens a TLS connection to `hostname:port` and finishes the handshake: `Deno.connectTls()`
 * when Deno can and the name to verify is the host connected to (it can send a client
 * certificate), else a TCP connection upgraded (see `DenoSocket.startTls()`).
 */
export async function connectTls(hostname: string, port: number, tls: CheckedTls): Promise<Transport> {
  const deno = denoNamespace();
  if (denoTlsCan(tls, false) && tls.serverHostname === hostname) {
    const done = await handshakeWithin(deno.connectTls({ hostname, port, ...denoClientOptions(tls) }), tls.handshakeTimeout);
    return new DenoSocket(done.conn, { tls: { alpn: done.alpn } });
  }
  const conn: DenoConn = await deno.connect({ hostname, port });
  conn.setNoDelay?.(true);
  return upgraded(new DenoSocket(conn, { serverHostname: hostname }), tls);
}

/** Listens with TLS on `hostname:port` with `Deno.listenTls()` (for a `serverTlsOf()` without context). */
export function listenTls(hostname: string, port: number, tls: CheckedTls): DenoListener {
  const { cert, key, alpnProtocols } = tlsOptionsOf(tls);
  return denoNamespace().listenTls({
    hostname,
    port,
    cert: pem(cert!),
    key: pem(key!),
    ...(alpnProtocols === undefined ? {} : { alpnProtocols: [...alpnProtocols] }),
  });
}

/**
 * The TLS socket of a connection a server accepted; its `opened` settles with the handshake.
 * A `Deno.listenTls()` connection finishes its own; a plain one (`serverTls.context` set) is
 * upgraded with `node:tls`.
 */
export function acceptTls(conn: DenoConn, serverTls: DenoServerTls, extra?: Readonly<Record<string, unknown>>): Transport {
  const { tls, context } = serverTls;
  const options = extra === undefined ? {} : { extra };
  if (context === null) return handshakingSocket(conn, handshakeWithin(Promise.resolve(conn as DenoTlsConn), tls.handshakeTimeout), options);
  return new DenoSocket(conn, options).startTls({ ...startTlsOptionsOf(tls), secureContext: context });
}
