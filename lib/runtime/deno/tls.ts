/**
 * The Deno adapter's TLS: every TLS of it, client and server, runs through Deno's `node:tls`
 * over the `Deno.Conn` (`startNodeTls()`), with the handshake deadline of the Node adapter's
 * `watchHandshake()`.
 */
import { startTlsOptionsOf, type CheckedTls } from '../../_checks.ts';
import type { Transport } from '../../transport.ts';
import { connDuplex } from './conn-duplex.ts';
import type { DenoConn } from './namespace.ts';
import type { DenoSocket } from './socket.ts';
import { secureSocketOver, type NodeSocket, type SecureSocketOptions } from '../node/socket.ts';
import { secureContextOf } from '../node/tls.ts';
import type { RuntimeStartTlsOptions } from '../_socket.ts';

/**
 * What TLS through `node:tls` over a `Deno.Conn` needs besides the checked options: the TLS
 * socket's options, bytes read ahead (a server's first record) and a context made already.
 */
export type NodeTlsOptions = SecureSocketOptions & Pick<RuntimeStartTlsOptions, 'received' | 'secureContext'>;

/**
 * Starts TLS over `conn` with Deno's `node:tls` and returns the TLS socket; its `opened`
 * settles with the handshake. Every TLS of the Deno adapter, client and server, runs here,
 * not through `Deno.connectTls()`/`Deno.startTls()`/`Deno.listenTls()`: Deno closes one of
 * its own TLS connections only once its handshake is over (denoland/deno#14547), so a peer
 * that never answers would hold the descriptor after the handshake timeout. Here the adapter
 * owns the `Deno.Conn` under TLS, and a failed or timed-out handshake closes it at once. The
 * failures carry OpenSSL's codes, as on Node.
 *
 * @param conn the connection, which nothing else may read or write from now on
 * @param tls checked TLS options (see `checkStartTls()`)
 * @param options bytes read ahead, a context made already, high-water marks and addresses
 */
export function startNodeTls(conn: DenoConn, tls: CheckedTls, options: NodeTlsOptions = {}): NodeSocket {
  const context = options.secureContext ?? secureContextOf(tls);
  return secureSocketOver(connDuplex(conn, options.received), tls, context, {
    ...options,
    extra: { socket: conn, ...options.extra },
  });
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
