/**
 * The Node echo servers of `echo.bench.ts`, one per process, on 127.0.0.1 with an OS port
 * (printed as `PORT n`), TCP_NODELAY on every connection:
 *
 *   ours        startServer(); loop `read(65536)`, `write()`, `await drain()` (asyncio's echo server)
 *   ours-exact  the same with `readexactly(MESSAGE_SIZE)`
 *   net         raw node:net, `socket.on('data', (d) => socket.write(d))`: the limit
 *   net-pipe    raw node:net, `socket.pipe(socket)`
 *   net-await   raw node:net behind the smallest asyncio-shaped loop: `data = await next()`,
 *               `socket.write(data)`, `await` of a resolved promise (drain): what one `await` per
 *               read and per drain costs on this runtime, the ceiling of any such API here
 *   toweb       `Duplex.toWeb(socket)`; loop `await reader.read()`, `await writer.write(value)`
 *
 *   node --import tsx bench/_servers/echo-node.ts VARIANT [MESSAGE_SIZE]
 *
 * `ours` runs the library compiled by tsc when `ASYNCIO_STREAMS_BUILD` names that build
 * (what users run), else the sources through tsx (see `_library.ts`).
 */
import { createServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { echoLoop, MAX_ECHOES } from './_echo-loop.ts';
import { loadLibrary } from './_library.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const MAX_SECONDS = 600;

const { IncompleteReadError, startServer } = await loadLibrary();
const [variant = '', sizeArg = '1024'] = process.argv.slice(2);
const messageSize = Number(sizeArg);

function rawServer(onSocket: (socket: Socket) => void): Promise<number> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    onSocket(socket);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

async function webEcho(socket: Socket): Promise<void> {
  const { readable, writable } = Duplex.toWeb(socket);
  const reader = readable.getReader();
  const writer = writable.getWriter();
  try {
    for (let i = 0; i < MAX_ECHOES; i++) {
      const { value, done } = await reader.read();
      if (done) break;
      await writer.write(value as Uint8Array);
    }
    await writer.close();
  } catch {
    socket.destroy();
  }
}

/** One `await` per chunk received and one per write, with nothing else of a library around them. */
async function awaitEcho(socket: Socket): Promise<void> {
  const chunks: Buffer[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const ready = Promise.resolve();
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    const resolve = wake;
    wake = null;
    resolve?.();
  });
  socket.on('end', () => {
    ended = true;
    const resolve = wake;
    wake = null;
    resolve?.();
  });
  for (let i = 0; i < MAX_ECHOES; i++) {
    if (chunks.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
    const chunk = chunks.shift();
    if (chunk === undefined) break;
    socket.write(chunk);
    await ready;
  }
  socket.end();
}

const servers: Record<string, () => Promise<number>> = {
  ours: async () => {
    const server = await startServer(echoLoop, '127.0.0.1', 0);
    return (server.sockets[0]!.getsockname() as [string, number])[1];
  },
  'ours-exact': async () => {
    const server = await startServer(async (reader, writer) => {
      try {
        for (let i = 0; i < MAX_ECHOES; i++) {
          writer.write(await reader.readexactly(messageSize));
          await writer.drain();
        }
      } catch (error) {
        if (!(error instanceof IncompleteReadError) || error.partial.length !== 0) throw error;
      }
      writer.close();
    }, '127.0.0.1', 0);
    return (server.sockets[0]!.getsockname() as [string, number])[1];
  },
  net: () => rawServer((socket) => socket.on('data', (data) => socket.write(data))),
  'net-pipe': () => rawServer((socket) => socket.pipe(socket)),
  'net-await': () => rawServer((socket) => void awaitEcho(socket)),
  toweb: () => rawServer((socket) => void webEcho(socket)),
};

const start = servers[variant];
if (!start) throw new Error(`usage: echo-node.ts ${Object.keys(servers).join('|')} [MESSAGE_SIZE] (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(await start());
