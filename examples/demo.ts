/**
 * The echo server and the echo client of the asyncio streams documentation, in one process:
 * the server listens on 127.0.0.1 on a port the system picks, the client sends it
 * `'Hello World!'`, both sides print their lines, then everything closes and the process ends.
 *
 * Run with `npm run demo` (or `npx tsx examples/demo.ts`).
 */
import { tcpEchoClient } from './tcp-echo-client.js';
import { startEchoServer } from './tcp-echo-server.js';

const server = await startEchoServer('127.0.0.1', 0, (line) => console.log(`server | ${line}`));
try {
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  await tcpEchoClient('Hello World!', host, port, (line) => console.log(`client | ${line}`));
} finally {
  server.close();
  await server.waitClosed();
}
console.log('Both sides closed.');
