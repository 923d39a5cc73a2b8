import type { Duplex } from 'node:stream';
import type { CheckedTls } from '../../_checks.ts';
import type { RuntimeStartTlsOptions } from '../_socket.ts';
import { secureSocketOver, type NodeSocket, type SecureSocketOptions } from './socket.ts';
import { secureContextOf } from './tls.ts';

/**
 * What TLS through `node:tls` over a runtime's own connection needs besides the checked
 * options: the TLS socket's options and a context made already.
 */
export type DuplexTlsOptions = SecureSocketOptions & Pick<RuntimeStartTlsOptions, 'secureContext'>;

/**
 * Starts TLS with the runtime's `node:tls` over a connection of the runtime's own API (a
 * `Deno.Conn`, a `Bun.Socket`) made a `Duplex` by `duplexOf`, and returns the TLS socket, a
 * `NodeSocket` whose `opened` settles with the handshake and whose `socket` extra info is that
 * connection. The context is made first: bad PEM text throws before `duplexOf` takes the
 * connection, which is then left as it was.
 *
 * @param connection the runtime's connection, for `getExtraInfo('socket')`
 * @param duplexOf makes the `Duplex` over `connection`, which then belongs to it
 * @param tls checked TLS options (see `checkStartTls()`)
 * @param options a context made already, high-water marks, extra info, addresses, the protocol
 * @returns the TLS socket, and the `Duplex` it runs over
 * @throws the runtime's error for PEM text it cannot use
 * @example
 * ```ts
 * declare const tls: Parameters<typeof startTlsOverDuplex>[2];
 * declare const connDuplex: (connection: typeof conn) => import('node:stream').Duplex;
 * const { secure } = startTlsOverDuplex(conn, () => connDuplex(conn), tls);
 * await secure.opened;
 * ```
 */
export function startTlsOverDuplex(
  connection: unknown,
  duplexOf: () => Duplex,
  tls: CheckedTls,
  options: DuplexTlsOptions = {},
): { secure: NodeSocket; duplex: Duplex } {
  const context = options.secureContext ?? secureContextOf(tls);
  const duplex = duplexOf();
  const secure = secureSocketOver(duplex, tls, context, {
    ...options,
    extra: { socket: connection, ...options.extra },
  });
  return { secure, duplex };
}
