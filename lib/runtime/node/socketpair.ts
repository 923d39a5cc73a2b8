import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of {@link socketpair}. */
export interface SocketpairOptions {
  /**
   * `'unix'` (the default, except on Windows): a Unix socket in a fresh private temporary
   * directory, removed at once. `'tcp'` (Windows' default): loopback TCP on 127.0.0.1.
   */
  kind?: 'unix' | 'tcp';
}

async function listening(server: NetServer, options: { path: string } | { host: string; port: number }): Promise<void> {
  server.listen(options);
  await once(server, 'listening');
}

async function pairOver(server: NetServer, address: { path: string } | { host: string; port: number }): Promise<[NetSocket, NetSocket]> {
  const accepted = once(server, 'connection') as Promise<[NetSocket]>;
  const client = connect({ ...address, allowHalfOpen: true });
  try {
    await once(client, 'connect');
    const [peer] = await accepted;
    // Only our own client may come in (TCP): anything else on the port is someone else's.
    if (peer.remotePort !== client.localPort) {
      peer.destroy();
      throw new Error('socketpair(): an unexpected connection reached the loopback listener');
    }
    return [client, peer];
  } catch (error) {
    client.destroy();
    throw error;
  }
}

/**
 * Two connected sockets, like Python's `socket.socketpair()` (Node has none): what one writes,
 * the other reads. Both are half-open capable (`allowHalfOpen`), for `openConnection({ sock })`
 * or direct use in tests and in-process plumbing.
 *
 * @param options `kind`: `'unix'` or `'tcp'`
 * @returns `[a, b]`, both connected
 * @example
 * ```ts
 * import { openConnection, socketpair } from 'asyncio-streams';
 *
 * const [rsock, wsock] = await socketpair();
 * const [reader, writer] = await openConnection(null, null, { sock: rsock });
 * wsock.write('abc');
 * console.log(await reader.read(100)); // 'abc'
 * writer.close();
 * wsock.destroy();
 * ```
 */
export async function socketpair(options: SocketpairOptions = {}): Promise<[NetSocket, NetSocket]> {
  const kind = options.kind ?? (process.platform === 'win32' ? 'tcp' : 'unix');
  if (kind !== 'unix' && kind !== 'tcp') throw new RangeError(`kind must be 'unix' or 'tcp', got ${String(kind)}`);
  const server = createServer({ allowHalfOpen: true });
  if (kind === 'tcp') {
    try {
      await listening(server, { host: '127.0.0.1', port: 0 });
      const { port } = server.address() as { port: number };
      return await pairOver(server, { host: '127.0.0.1', port });
    } finally {
      server.close();
    }
  }
  // mkdtemp makes the directory private (0700): no other user can connect in between.
  const directory = await mkdtemp(join(tmpdir(), 'asyncio-streams-'));
  try {
    const path = join(directory, 'socket');
    await listening(server, { path });
    return await pairOver(server, { path });
  } finally {
    server.close();
    await rm(directory, { recursive: true, force: true });
  }
}
