/**
 * The Deno adapter's TLS: every TLS of it, client and server, runs through Deno's `node:tls`
 * over the `Deno.Conn` (`startNodeTls()`), with the handshake deadline of the Node adapter's
 * `watchHandshake()`.
 */
import type { TLSSocket } from 'node:tls';
import type { CheckedTls } from '../../_checks.ts';
import { connDuplex } from './conn-duplex.ts';
import type { DenoConn } from './namespace.ts';
import type { NodeSocket } from '../node/socket.ts';
import { startTlsOverDuplex, type DuplexTlsOptions } from '../node/tls-over-duplex.ts';
import type { RuntimeStartTlsOptions } from '../_socket.ts';

function ignore(): void {}

/**
 * What TLS through `node:tls` over a `Deno.Conn` needs besides the checked options: the TLS
 * socket's options, bytes read ahead (a server's first record) and a context made already.
 */
export type NodeTlsOptions = DuplexTlsOptions & Pick<RuntimeStartTlsOptions, 'received'>;

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
  const { secure, duplex } = startTlsOverDuplex(conn, () => connDuplex(conn, options.received), tls, options);
  // Node's TLS socket half-closes the connection once its close_notify is out; Deno's writes
  // close_notify but never ends the stream it runs over (the Duplex's final() is not called),
  // so the peer would see no EOF after it. Ending it here sends that FIN, as on Node and Bun.
  // Closing still waits for the peer's close_notify (sslShutdownTimeout), on Deno as elsewhere.
  secure.opened.then(
    () => (secure.getExtraInfo('ssl_object') as TLSSocket).once('finish', () => duplex.end()),
    ignore,
  );
  return secure;
}
