import { startTlsOptionsOf, type CheckedTls } from '../_connection-options.js';
import type { Transport } from '../_transport.js';
import type { DenoConn } from './_deno-namespace.js';
import { denoNamespace } from './_deno-namespace.js';
import { DenoSocket } from './_deno-socket.js';
import { denoClientOptions, denoTlsCan, handshakeWithin } from './_deno-start-tls.js';
import { secureContextOf, type SecureContext } from './_node-tls.js';

/** How a server starts TLS on each client: the checked options and their context, made once. */
export interface DenoServerTls {
  tls: CheckedTls;
  context: SecureContext;
}

/**
 * How a server will start TLS: with `node:tls` over each accepted `Deno.Conn`, not with
 * `Deno.listenTls()`, whose connections Deno closes only once their handshake is over
 * (denoland/deno#14547): a client that stays silent would hold its descriptor for good. Over
 * a plain connection the adapter closes the TCP socket itself. The context is made here, so
 * that PEM text it cannot use fails `startServer()`.
 */
export function serverTlsOf(tls: CheckedTls): DenoServerTls {
  return { tls, context: secureContextOf(tls) };
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
    return new DenoSocket(done.conn, { tls: { alpn: done.alpn }, sslShutdownTimeout: tls.shutdownTimeout });
  }
  const conn: DenoConn = await deno.connect({ hostname, port });
  conn.setNoDelay?.(true);
  return upgraded(new DenoSocket(conn, { serverHostname: hostname }), tls);
}

/** The TLS socket of a connection a server accepted, through `node:tls`; its `opened` settles with the handshake. */
export function acceptTls(conn: DenoConn, serverTls: DenoServerTls, extra?: Readonly<Record<string, unknown>>): Transport {
  const { tls, context } = serverTls;
  const options = extra === undefined ? {} : { extra };
  return new DenoSocket(conn, options).startTls({ ...startTlsOptionsOf(tls), secureContext: context });
}
