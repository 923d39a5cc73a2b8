/**
 * "Register an open socket to wait for data using streams", the asyncio streams
 * documentation's example, ported: a connected socket pair, one end handed to
 * `openConnection({ sock })`, the other one writes `abc`, the reader receives it.
 *
 * Run with `npx tsx examples/wait-for-data.ts`.
 */
import { openConnection, socketpair } from 'asyncio-streams';

async function waitForData(): Promise<void> {
  // Create a pair of connected sockets.
  const [rsock, wsock] = await socketpair();

  // Register the open socket to wait for data.
  const [reader, writer] = await openConnection(null, null, { sock: rsock });

  // Simulate the reception of data from the network (asyncio's loop.call_soon).
  setImmediate(() => wsock.write(new TextEncoder().encode('abc')));

  // Wait for data
  const data = await reader.read(100);

  // Got data, we are done: close the socket
  console.log('Received:', new TextDecoder().decode(data));
  writer.close();
  await writer.waitClosed();

  // Close the second socket
  wsock.destroy();
}

await waitForData();
