/**
 * Bun's own HTTP/1.1 server of `http.bench.ts` (the others on Bun are `http-node.ts`'s, over
 * Bun's `node:net` and `node:http`): `Bun.listen`, the same parsing and response as every
 * server (`_http-request.ts`), on 127.0.0.1 with an OS port (printed as `PORT n`).
 *
 *   bun bench/_servers/http-bun.ts bun-listen
 */
import { bunNamespace, type BunSocket } from '../_bun.ts';
import { HeadSplitter, parseHead, RESPONSE } from './_http-request.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const MAX_SECONDS = 600;

/** What each socket keeps (`socket.data`): its heads, and the bytes a short write left. */
interface Connection {
  heads: HeadSplitter;
  unsent: Uint8Array | null;
  closeWhenSent: boolean;
}

function send(socket: BunSocket, connection: Connection, bytes: Uint8Array): void {
  if (connection.unsent !== null) {
    const joined = new Uint8Array(connection.unsent.length + bytes.length);
    joined.set(connection.unsent);
    joined.set(bytes, connection.unsent.length);
    connection.unsent = joined;
    return;
  }
  const written = socket.write(bytes);
  if (written < bytes.length) connection.unsent = bytes.slice(Math.max(written, 0));
}

function bunListen(): number {
  const listener = bunNamespace().listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = { heads: new HeadSplitter(), unsent: null, closeWhenSent: false } satisfies Connection;
      },
      data(socket, chunk) {
        const connection = socket.data as Connection;
        try {
          connection.heads.push(chunk, (bytes, start, end) => {
            const request = parseHead(bytes, start, end);
            send(socket, connection, RESPONSE);
            if (!request.keepAlive) connection.closeWhenSent = true;
          });
        } catch (error) {
          console.error(`bun-listen: ${String(error)}`);
          connection.closeWhenSent = true;
        }
        if (connection.closeWhenSent && connection.unsent === null) socket.end();
      },
      drain(socket) {
        const connection = socket.data as Connection;
        const unsent = connection.unsent;
        if (unsent === null) return;
        connection.unsent = null;
        send(socket, connection, unsent);
        if (connection.closeWhenSent && connection.unsent === null) socket.end();
      },
    },
  });
  return listener.port;
}

const [variant = ''] = process.argv.slice(2);
if (variant !== 'bun-listen') throw new Error(`usage: http-bun.ts bun-listen (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(bunListen());
