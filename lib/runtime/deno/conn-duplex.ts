import { Duplex } from 'node:stream';
import type { DenoConn } from './namespace.ts';

const READ_SIZE = 65536;

/**
 * A `Deno.Conn` as a Node `Duplex`, for Deno's `node:tls` to run TLS over: Deno's own API
 * has no server-side STARTTLS, no TLS over Unix sockets, no client certificates on a server
 * and no `rejectUnauthorized: false`, and `node:tls` in Deno does all of these over any
 * `Duplex`. Ending it half-closes the connection (`conn.closeWrite()`); destroying it closes it.
 *
 * @param conn a connected `Deno.Conn` that nothing else reads or writes from now on
 * @param received bytes already read from `conn` that come before what it still holds
 * @example
 * ```ts
 * const secure = new TLSSocket(connDuplex(conn), { isServer: true, key, cert });
 * ```
 */
export function connDuplex(conn: DenoConn, received?: Uint8Array): Duplex {
  const buffer = new Uint8Array(READ_SIZE);
  const duplex = new Duplex({
    read() {
      void readOnce(conn, buffer).then(
        (chunk) => this.push(chunk),
        (error: Error) => this.destroy(error),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(conn, chunk).then(() => callback(), callback);
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), callback);
    },
    destroy(error, callback) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
      callback(error);
    },
  });
  if (received !== undefined && received.byteLength > 0) duplex.unshift(received);
  return duplex;
}

/** The next bytes as a chunk of their own, or null at EOF; a read of 0 bytes is not EOF on Deno. */
async function readOnce(conn: DenoConn, buffer: Uint8Array): Promise<Uint8Array | null> {
  let n: number | null = 0;
  while (n === 0) n = await conn.read(buffer);
  return n === null ? null : buffer.slice(0, n);
}

/**
 * Writes all of `chunk`: `conn.write()` may take part of it. A reaction per write rather than
 * an async loop: one write usually takes it all, and each promise fewer counts per message.
 */
export function writeAll(conn: DenoConn, chunk: Uint8Array): Promise<void> {
  return conn.write(chunk).then((written) => (written < chunk.byteLength ? writeAll(conn, chunk.subarray(written)) : undefined));
}
