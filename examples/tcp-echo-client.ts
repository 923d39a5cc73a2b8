/**
 * "TCP echo client using streams", the asyncio streams documentation's example, ported: sends
 * `'Hello World!'` to an echo server, prints what comes back, closes the connection.
 *
 * Run with `npx tsx examples/tcp-echo-client.ts [host] [port]` (or the `ECHO_HOST` and
 * `ECHO_PORT` environment variables); the default is 127.0.0.1:8888, where
 * `examples/tcp-echo-server.ts` listens.
 */
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { openConnection } from 'asyncio-streams';

/** Where the lines go: `console.log` by default, a labelled log in the demo. */
type Print = (line: string) => void;

/**
 * The Python `tcp_echo_client(message)`, with the address and the output as parameters so the
 * demo can aim it at a server on any port.
 *
 * @example
 * ```ts
 * await tcpEchoClient('Hello World!', '127.0.0.1', 8888);
 * ```
 */
export async function tcpEchoClient(
  message: string,
  host = '127.0.0.1',
  port: number | string = 8888,
  print: Print = console.log,
): Promise<void> {
  const [reader, writer] = await openConnection(host, port);

  // `inspect` is Node's repr: it quotes a string the way Python's `!r` does.
  print(`Send: ${inspect(message)}`);
  writer.write(message);
  await writer.drain();

  const data = await reader.read(100);
  print(`Received: ${inspect(new TextDecoder().decode(data))}`);

  print('Close the connection');
  writer.close();
  await writer.waitClosed();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [host = process.env.ECHO_HOST ?? '127.0.0.1', port = process.env.ECHO_PORT ?? '8888'] = process.argv.slice(2);
  await tcpEchoClient('Hello World!', host, port);
}
