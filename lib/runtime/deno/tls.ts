import { startTlsOptionsOf, type CheckedTls } from '../../_checks.ts';
import type { Transport } from '../../transport.ts';
import type { DenoConn } from './namespace.ts';
import { DenoSocket } from './socket.ts';
import { secureContextOf, type SecureContext } from '../node/tls.ts';

/** How a server starts TLS on each client: the checked options and their context, made once. */
export interface DenoServerTls {
  tls: CheckedTls;
  context: SecureContext;
}

/**
 * How a server will start TLS: with `node:tls` over each accepted `Deno.Conn` (see
 * `startNodeTls()`), not with `Deno.listenTls()`, whose connections Deno closes only once their
 * handshake is over (denoland/deno#14547): a client that stays silent would hold its
 * descriptor for good. The context is made here, so that PEM text it cannot use fails
 * `startServer()`.
 */
export function serverTlsOf(tls: CheckedTls): DenoServerTls {
  return { tls, context: secureContextOf(tls) };
}

/** The TLS socket of a connection a server accepted, through `node:tls`; its `opened` settles with the handshake. */
export function acceptTls(conn: DenoConn, serverTls: DenoServerTls, extra?: Readonly<Record<string, unknown>>): Transport {
  const { tls, context } = serverTls;
  const options = extra === undefined ? {} : { extra };
  return new DenoSocket(conn, options).startTls({ ...startTlsOptionsOf(tls), secureContext: context });
}
