/**
 * "TCP echo server using streams", the asyncio streams documentation's example, ported: each
 * client's first message (up to 100 bytes) is printed, sent back, and the connection closed.
 *
 * Run with `npx tsx examples/tcp-echo-server.ts [host] [port]` (or the `ECHO_HOST` and
 * `ECHO_PORT` environment variables; port 0 lets the system pick one); the default is
 * 127.0.0.1:8888. It serves until Ctrl+C (SIGINT) or SIGTERM, then stops listening and exits
 * 0 once its clients have gone (`waitClosed()`, as CPython 3.12+: a client that stays keeps
 * it; a second signal ends it at once).
 * Importing it runs nothing: `handleEcho`, `startEchoServer` and `main` are exported for the
 * demo and the specs.
 */
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { startServer, type Server, type StreamReader, type StreamWriter } from 'asyncio-streams';

/** Where the lines go: `console.log` by default, a labelled log in the demo. */
type Print = (line: string) => void;

/**
 * The Python `handle_echo(reader, writer)`: the client callback of the server.
 *
 * @example
 * ```ts
 * const server = await startServer(handleEcho, '127.0.0.1', 8888);
 * ```
 */
export async function handleEcho(reader: StreamReader, writer: StreamWriter, print: Print = console.log): Promise<void> {
  const data = await reader.read(100);
  const message = new TextDecoder().decode(data);
  const addr = writer.getExtraInfo('peername');

  // `inspect` is Node's repr: it quotes a string the way Python's `!r` does.
  print(`Received ${inspect(message)} from ${inspect(addr)}`);

  print(`Send: ${inspect(message)}`);
  writer.write(data);
  await writer.drain();

  print('Close the connection');
  writer.close();
  await writer.waitClosed();
}

/**
 * The first half of the Python `main()`: starts the server and prints where it listens.
 *
 * @example
 * ```ts
 * const server = await startEchoServer('127.0.0.1', 0);
 * const [, port] = server.sockets[0]!.getsockname() as [string, number];
 * ```
 */
export async function startEchoServer(host: string, port: number | string, print: Print = console.log): Promise<Server> {
  const server = await startServer((reader, writer) => handleEcho(reader, writer, print), host, port);

  const addrs = server.sockets.map((sock) => inspect(sock.getsockname())).join(', ');
  print(`Serving on ${addrs}`);
  return server;
}

/**
 * The Python `main()`: serves until `signal` aborts (asyncio's Ctrl+C), then closes the server,
 * waits for the clients, and rejects with the signal's reason as `serveForever()` does.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGINT', () => controller.abort());
 * await main('127.0.0.1', 8888, controller.signal).catch(() => {});
 * ```
 */
export async function main(host = '127.0.0.1', port: number | string = 8888, signal?: AbortSignal): Promise<void> {
  await using server = await startEchoServer(host, port);
  await server.serveForever({ signal });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [host = process.env.ECHO_HOST ?? '127.0.0.1', port = process.env.ECHO_PORT ?? '8888'] = process.argv.slice(2);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await main(host, port, stop.signal);
  } catch (error) {
    // Being stopped is how this server ends; anything else is a real failure.
    if (error !== stop.signal.reason) throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
