/**
 * Type tests of the Node entry, through the explicit subpath that every `moduleResolution`
 * resolves to the Node adapter's declarations.
 */
import type { Socket } from 'node:net';
import { NodeSocket, openConnection, socketpair, startServer, type HostPort, type Server } from 'asyncio-streams/node';
import { expectType, type Equal } from './_equal.js';

export async function nodeEntry(): Promise<void> {
  const [a, b] = await socketpair();
  expectType<Equal<typeof a, Socket>>();
  // A net.Socket is a sock of the Node entry.
  const [reader, writer] = await openConnection(null, null, { sock: a });
  const socket = new NodeSocket(b);
  socket.close();
  expectType<Equal<Awaited<ReturnType<typeof startServer>>, Server<HostPort>>>();
  writer.close();
  await reader.read();
}
