/**
 * Bun only: Unix sockets on the Bun entry run over `Bun.connect({ unix })` and
 * `Bun.listen({ unix })` (a `BunSocket` each end), and what those do not do (`ssl`, a `net`
 * socket or server as `sock`) over the Node adapter.
 */
import { connect, createServer, type Server as NetServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BunSocket, NodeSocket, openUnixConnection, startUnixServer } from '../../lib/runtime/bun.ts';
import type { Server, StreamReader, StreamWriter } from '../../lib/index.ts';
import { rejection, tempDir, text, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';
import { echoLine, roundTrip } from './_bun-peers.ts';
import { CLIENT, SERVER } from '../_tls.ts';
import { bunNamespace } from '../../lib/runtime/bun/namespace.ts';

type ErrnoError = Error & { code?: string };

const unix = suite('Unix sockets over Bun.connect and Bun.listen');

/** Runs `body` against the server `start` makes at a path in a temporary directory, then closes both. */
function withUnixServer(start: (path: string) => Promise<Server>, body: (path: string) => Promise<void>): Promise<void> {
  return leakFree(async () => {
    const dir = tempDir();
    const path = dir.path('server.sock');
    const server = await start(path);
    try {
      await body(path);
    } finally {
      server.close();
      await within(server.waitClosed());
      dir.remove();
    }
  });
}

unix('both ends are BunSockets, named by the path on the side it belongs to, and half-close', () => {
  let serverWriter: StreamWriter | null = null;
  const halfClosing = async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    serverWriter = writer;
    const request = await reader.read();
    assert.ok(reader.atEof(), 'the client half-closed');
    writer.write(`got ${text(request)} and EOF`);
    writer.close();
  };
  return withUnixServer(
    (path) => startUnixServer(halfClosing, path),
    async (path) => {
      const [reader, writer] = await openUnixConnection(path);
      assert.instance(writer.transport, BunSocket);
      assert.is(String(writer.transport), `<BunSocket ? -> ${path}>`);
      writer.write('hello');
      writer.writeEof();
      assert.is(text(await within(reader.read())), 'got hello and EOF');
      assert.is((await within(reader.read())).length, 0, 'then the server closed: EOF');
      assert.equal([writer.getExtraInfo('peername'), writer.getExtraInfo('sockname')], [path, ''], 'noted, as Bun has no address for a Unix socket');
      const info = await (writer.transport as BunSocket).opened;
      assert.equal([info.remoteAddress, info.localAddress], [path, null]);
      assert.instance(serverWriter!.transport, BunSocket);
      assert.equal([serverWriter!.getExtraInfo('sockname'), serverWriter!.getExtraInfo('peername')], [path, '']);
      writer.close();
      await writer.waitClosed();
    },
  );
});

unix('a missing path rejects with ENOENT, a socket file nobody listens on with ECONNREFUSED, each naming the path as Node does', () =>
  leakFree(async () => {
    const dir = tempDir();
    try {
      const missing = dir.path('missing.sock');
      const error = (await rejection(openUnixConnection(missing))) as ErrnoError;
      assert.is(error.code, 'ENOENT');
      assert.is(error.message, `connect ENOENT ${missing}`);
      // A server that leaves its socket file behind when it closes.
      const stale = dir.path('stale.sock');
      const server = await startUnixServer(() => {}, stale, { cleanupSocket: false });
      server.close();
      await within(server.waitClosed());
      const refused = (await rejection(openUnixConnection(stale))) as ErrnoError;
      assert.is(refused.code, 'ECONNREFUSED');
      assert.is(refused.message, `connect ECONNREFUSED ${stale}`);
    } finally {
      dir.remove();
    }
  }),
);

unix('a net.Server and a net.Socket given as sock run over the Node adapter', () => {
  const transports: unknown[] = [];
  const overNet = async (path: string): Promise<Server> => {
    const net: NetServer = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve) => net.listen(path, resolve));
    return startUnixServer(echoLine(transports), null, { sock: net });
  };
  return withUnixServer(overNet, async (path) => {
    const socket = connect({ path, allowHalfOpen: true });
    await new Promise((resolve) => socket.once('connect', resolve));
    const [reader, writer] = await openUnixConnection(null, { sock: socket });
    assert.instance(writer.transport, NodeSocket);
    await roundTrip(reader, writer, 'over node:net\n');
    assert.instance(transports[0], NodeSocket);
  });
});

unix('ssl runs over node:tls, client and server', () => {
  const transports: unknown[] = [];
  return withUnixServer(
    (path) => startUnixServer(echoLine(transports), path, { ssl: SERVER }),
    async (path) => {
      const [reader, writer] = await openUnixConnection(path, { ssl: CLIENT, serverHostname: 'localhost' });
      assert.instance(writer.transport, NodeSocket);
      assert.ok(writer.getExtraInfo('cipher') !== undefined, 'a TLS connection');
      await roundTrip(reader, writer, 'over node:tls\n');
      assert.instance(transports[0], NodeSocket);
    },
  );
});

unix('a Bun.Socket and a Bun listener given as sock are taken over: BunSockets at both ends', () => {
  const transports: unknown[] = [];
  const overBun = async (path: string): Promise<Server> => {
    const listener = bunNamespace().listen({ unix: path, allowHalfOpen: true, socket: { data: () => assert.unreachable('the old handlers hear nothing') } });
    return startUnixServer(echoLine(transports), null, { sock: listener });
  };
  return withUnixServer(overBun, async (path) => {
    const native = await bunNamespace().connect({ unix: path, allowHalfOpen: true, socket: { data: () => assert.unreachable('the old handlers hear nothing') } });
    const [reader, writer] = await openUnixConnection(null, { sock: native });
    assert.instance(writer.transport, BunSocket);
    await roundTrip(reader, writer, 'over adopted Bun sockets\n');
    assert.instance(transports[0], BunSocket);
  });
});

unix.run();
