/**
 * Bun's own HTTP/1.1 servers of `http.bench.ts` (the others on Bun are `http-node.ts`'s):
 * `Bun.listen`, the same parsing and response as every server (`_http-request.ts`), on
 * 127.0.0.1 with an OS port (printed as `PORT n`).
 *
 *   bun-listen        the handlers answer each request as it is parsed
 *   bun-listen-await  the smallest asyncio-shaped loop over them, as `net-await` over `node:net`:
 *                     `head = await nextHead()`, parse, write, `await` a resolved drain; the
 *                     floor of any such API over Bun's own sockets (the library's Bun entry is one)
 *
 *   bun bench/_servers/http-bun.ts bun-listen|bun-listen-await
 */
import { bunNamespace, type BunSocket } from '../_bun.ts';
import { AwaitedChunks } from '../_awaited-chunks.ts';
import { answerEachHead } from './_await-http.ts';
import { HeadSplitter, parseHead, RESPONSE } from './_http-request.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const MAX_SECONDS = 600;

/** What each socket keeps (`socket.data`): its heads, and the bytes a short write left. */
interface Connection {
  heads: HeadSplitter;
  unsent: Uint8Array | null;
  closeWhenSent: boolean;
  /** `bun-listen-await`: the heads parsed and not yet answered, for its loop. */
  awaited?: AwaitedChunks;
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

/** Bun's `drain`: what a short write left goes out, and the connection ends if it was to. */
function drained(socket: BunSocket): void {
  const connection = socket.data as Connection;
  const unsent = connection.unsent;
  if (unsent === null) return;
  connection.unsent = null;
  send(socket, connection, unsent);
  if (connection.closeWhenSent && connection.unsent === null) socket.end();
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
      drain: drained,
    },
  });
  return listener.port;
}

/** One `await` per request head and one per write, with nothing else of a library around them. */
async function awaitHttp(socket: BunSocket, connection: Connection, heads: AwaitedChunks): Promise<void> {
  await answerEachHead(heads, () => send(socket, connection, RESPONSE));
  connection.closeWhenSent = true;
  if (connection.unsent === null) socket.end();
}

function bunListenAwait(): number {
  const listener = bunNamespace().listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        const awaited = new AwaitedChunks();
        const connection: Connection = { heads: new HeadSplitter(), unsent: null, closeWhenSent: false, awaited };
        socket.data = connection;
        void awaitHttp(socket, connection, awaited);
      },
      data(socket, chunk) {
        const connection = socket.data as Connection;
        connection.heads.push(chunk, (bytes, start, end) => connection.awaited!.received(bytes.subarray(start, end)));
      },
      end(socket) {
        (socket.data as Connection).awaited!.ended();
      },
      drain: drained,
    },
  });
  return listener.port;
}

const servers: Record<string, () => number> = { 'bun-listen': bunListen, 'bun-listen-await': bunListenAwait };
const [variant = ''] = process.argv.slice(2);
const start = servers[variant];
if (!start) throw new Error(`usage: http-bun.ts ${Object.keys(servers).join('|')} (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(start());
