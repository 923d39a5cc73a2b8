/**
 * The Node HTTP/1.1 servers of `http.bench.ts` (also run by Bun, whose `node:net` and
 * `node:http` they then measure), one per process, on 127.0.0.1 with an OS port (printed as
 * `PORT n`), TCP_NODELAY on every connection. Each answers every keep-alive GET with the same
 * fixed response (`_http-request.ts`):
 *
 *   ours       startServer(); loop `readuntil('\r\n\r\n')`, parse, `write()`, `await drain()`
 *   net        raw node:net, the same parsing: split heads from the 'data' chunks, `socket.write()`: the anchor
 *   net-await  raw node:net behind the smallest asyncio-shaped loop: `head = await nextHead()`, parse,
 *              `socket.write()`, `await` of a resolved promise (drain): the floor of any such API here
 *   node-http  `http.createServer()`, `res.writeHead(200, ...)`, `res.end(body)` (reference: a full HTTP stack)
 *
 *   node --import tsx bench/_servers/http-node.ts VARIANT
 *
 * `ours` runs the library compiled by tsc when `ASYNCIO_STREAMS_BUILD` names that build
 * (what users run), else the sources through tsx (see `_library.ts`).
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { AwaitedChunks } from '../_awaited-chunks.ts';
import { answerEachHead } from './_await-http.ts';
import { httpLoop } from './_http-loop.ts';
import { HeadSplitter, parseHead, RESPONSE } from './_http-request.ts';
import { loadLibrary } from './_library.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const MAX_SECONDS = 600;

/** What a raw `node:net` server would write: a `Buffer`, made once. */
const RESPONSE_BUFFER = Buffer.from(RESPONSE);
const BODY = 'Hello, World!';

function listening(server: { listen(port: number, host: string, done: () => void): unknown; address(): unknown }): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function rawHttp(socket: Socket): void {
  const heads = new HeadSplitter();
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    try {
      heads.push(chunk, (bytes, start, end) => {
        const request = parseHead(bytes, start, end);
        socket.write(RESPONSE_BUFFER);
        if (!request.keepAlive) socket.end();
      });
    } catch (error) {
      console.error(`net: ${String(error)}`);
      socket.destroy();
    }
  });
  socket.on('end', () => socket.end());
}

/** One `await` per request head and one per write, with nothing else of a library around them. */
async function awaitHttp(socket: Socket): Promise<void> {
  const splitter = new HeadSplitter();
  const heads = new AwaitedChunks();
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => splitter.push(chunk, (bytes, start, end) => heads.received(bytes.subarray(start, end))));
  socket.on('end', () => heads.ended());
  await answerEachHead(heads, () => socket.write(RESPONSE_BUFFER));
  socket.end();
}

const servers: Record<string, () => Promise<number>> = {
  ours: async () => {
    const { startServer } = await loadLibrary();
    const server = await startServer(httpLoop, '127.0.0.1', 0);
    return (server.sockets[0]!.getsockname() as [string, number])[1];
  },
  net: () => listening(createServer({ noDelay: true }, rawHttp)),
  'net-await': () => listening(createServer({ noDelay: true }, (socket) => void awaitHttp(socket))),
  'node-http': () => {
    const server = createHttpServer({ noDelay: true }, (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
      response.end(BODY);
    });
    return listening(server);
  },
};

const [variant = ''] = process.argv.slice(2);
const start = servers[variant];
if (!start) throw new Error(`usage: http-node.ts ${Object.keys(servers).join('|')} (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(await start());
