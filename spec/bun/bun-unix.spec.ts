/**
 * Bun only: Unix sockets on the Bun entry run over `Bun.connect({ unix })` and
 * `Bun.listen({ unix })` (a `BunSocket` each end), and what those do not do (`ssl`, a `net`
 * socket or server as `sock`) over the Node adapter.
 */
import { connect, createServer, type Server as NetServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BunSocket, NodeSocket, openUnixConnection, startUnixServer } from '../../lib/runtime/bun.ts';
import type { StreamWriter } from '../../lib/index.ts';
import { rejection, tempDir, text, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';
import { CLIENT, SERVER } from '../_tls.ts';

type ErrnoError = Error & { code?: string };

const unix = suite('Unix sockets over Bun.connect and Bun.listen');

unix('both ends are BunSockets, named by the path on the side it belongs to, and half-close', () =>
  leakFree(async () => {
    const dir = tempDir();
    const path = dir.path('echo.sock');
    let serverWriter: StreamWriter | null = null;
    const server = await startUnixServer(async (reader, writer) => {
      serverWriter = writer;
      const request = await reader.read();
      assert.ok(reader.atEof(), 'the client half-closed');
      writer.write(`got ${text(request)} and EOF`);
      writer.close();
    }, path);
    try {
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
    } finally {
      server.close();
      await within(server.waitClosed());
      dir.remove();
    }
  }),
);

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

unix('a net.Server and a net.Socket given as sock run over the Node adapter', () =>
  leakFree(async () => {
    const dir = tempDir();
    const path = dir.path('net.sock');
    const net: NetServer = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve) => net.listen(path, resolve));
    const transports: unknown[] = [];
    const server = await startUnixServer(async (reader, writer) => {
      transports.push(writer.transport);
      writer.write(await reader.readline());
      writer.close();
    }, null, { sock: net });
    try {
      const socket = connect({ path, allowHalfOpen: true });
      await new Promise((resolve) => socket.once('connect', resolve));
      const [reader, writer] = await openUnixConnection(null, { sock: socket });
      assert.instance(writer.transport, NodeSocket);
      writer.write('over node:net\n');
      assert.is(text(await within(reader.readline())), 'over node:net\n');
      assert.instance(transports[0], NodeSocket);
      writer.close();
      await writer.waitClosed();
    } finally {
      server.close();
      await within(server.waitClosed());
      dir.remove();
    }
  }),
);

unix('ssl runs over node:tls, client and server', () =>
  leakFree(async () => {
    const dir = tempDir();
    const path = dir.path('tls.sock');
    const transports: unknown[] = [];
    const server = await startUnixServer(async (reader, writer) => {
      transports.push(writer.transport);
      writer.write(await reader.readline());
      writer.close();
    }, path, { ssl: SERVER });
    try {
      const [reader, writer] = await openUnixConnection(path, { ssl: CLIENT, serverHostname: 'localhost' });
      assert.instance(writer.transport, NodeSocket);
      writer.write('over node:tls\n');
      assert.is(text(await within(reader.readline())), 'over node:tls\n');
      assert.instance(transports[0], NodeSocket);
      assert.ok(writer.getExtraInfo('cipher') !== undefined, 'a TLS connection');
      writer.close();
      await writer.waitClosed();
    } finally {
      server.close();
      await within(server.waitClosed());
      dir.remove();
    }
  }),
);

unix.run();
