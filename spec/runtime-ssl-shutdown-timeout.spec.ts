/**
 * `sslShutdownTimeout` (CPython 3.11+, default 30 s), under Node, Deno and Bun: closing a TLS
 * connection sends our close_notify and waits at most that long for the peer's before it drops
 * the connection and frees its descriptor. Our own peer answers a close_notify at once (as
 * CPython's does), so the peer that never answers is a TCP proxy in front of it that, once one
 * side has ended, passes nothing more to that side: the answer never arrives. Each body runs
 * twice, counted the second time: Deno takes sockets for good on a first use.
 */
import { connect, createServer, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { leakFreeTwice } from './_first-use.ts';
import { openSockets, socketsBackTo } from './_leaks.ts';
import { isPending, within } from './_loopback.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { CLIENT, SERVER } from './_tls.ts';

const HOST = '127.0.0.1';
const TIMEOUT = 0.3;
/** Early enough for a loaded machine, far below the 30 s default. */
const BOUND_MS = 5000;

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A proxy to `port` that passes nothing more to a side once it has ended (sent its FIN). */
interface MuteProxy {
  port: number;
  close(): Promise<void>;
}

async function muteProxy(port: number): Promise<MuteProxy> {
  const sockets = new Set<NetSocket>();
  const track = (socket: NetSocket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const proxy: NetServer = createServer({ allowHalfOpen: true }, (down) => {
    const up = connect({ host: HOST, port, allowHalfOpen: true });
    track(down);
    track(up);
    const ended = new Set<NetSocket>();
    for (const [from, to] of [[down, up], [up, down]] as const) {
      from.on('data', (data: Uint8Array) => {
        if (!ended.has(to)) to.write(data);
      });
      from.on('end', () => {
        ended.add(from);
        // Nothing, not even a FIN, goes to a side that ended first.
        if (!ended.has(to)) to.end();
      });
      // A side that ended first is left waiting: its peer is gone without a word.
      from.on('close', () => {
        if (!ended.has(to)) to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, HOST, resolve));
  return {
    port: (proxy.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/** How long `writer.close()` takes to close the connection, in milliseconds. */
async function closingTime(writer: StreamWriter): Promise<number> {
  const started = Date.now();
  writer.close();
  await within(writer.waitClosed(), BOUND_MS, 'closing');
  return Date.now() - started;
}

/** Reads to EOF, then closes (answering a close_notify, as CPython's streams do). */
async function drainThenClose(reader: StreamReader, writer: StreamWriter): Promise<void> {
  await reader.read();
  writer.close();
}

const shutdown = suite(`sslShutdownTimeout (${runtime})`);

shutdown('a client waits at most sslShutdownTimeout for a peer that never answers close_notify, then frees the socket', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(drainThenClose, HOST, 0, { ssl: SERVER });
    const proxy = await muteProxy(portOf(server));
    try {
      const before = openSockets();
      const [, writer] = await openConnection(HOST, proxy.port, { ssl: CLIENT, serverHostname: 'localhost', sslShutdownTimeout: TIMEOUT });
      const ms = await closingTime(writer);
      assert.ok(ms >= TIMEOUT * 1000 - 50, `it waited for the peer first (${ms} ms)`);
      // Of the client's, the proxy's two and the server's, only the proxy's end toward the
      // client is left, waiting as it was told to: the client's descriptor is freed.
      assert.is(await socketsBackTo(before + 1, BOUND_MS), before + 1);
    } finally {
      await proxy.close();
      server.close();
      await within(server.waitClosed());
    }
  });
});

shutdown('by default the wait is longer (30 s)', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(drainThenClose, HOST, 0, { ssl: SERVER });
    const proxy = await muteProxy(portOf(server));
    try {
      const [, writer] = await openConnection(HOST, proxy.port, { ssl: CLIENT, serverHostname: 'localhost' });
      writer.close();
      assert.ok(await isPending(writer.waitClosed(), 1000), 'still waiting for the peer after a second');
      // The proxy drops the connection: closing ends at once.
      await proxy.close();
      await within(writer.waitClosed().catch(() => {}), BOUND_MS, 'closing once the connection is gone');
    } finally {
      await proxy.close();
      server.close();
      await within(server.waitClosed());
    }
  });
});

shutdown('a server waits at most sslShutdownTimeout for a client that never answers', async () => {
  await leakFreeTwice(async () => {
    let closed!: (ms: number) => void;
    const closing = new Promise<number>((resolve) => (closed = resolve));
    const server = await startServer(async (_reader: StreamReader, writer: StreamWriter) => {
      closed(await closingTime(writer));
    }, HOST, 0, { ssl: SERVER, sslShutdownTimeout: TIMEOUT });
    const proxy = await muteProxy(portOf(server));
    try {
      const [reader, writer] = await openConnection(HOST, proxy.port, { ssl: CLIENT, serverHostname: 'localhost' });
      const ms = await within(closing, BOUND_MS, "the server's close");
      assert.ok(ms >= TIMEOUT * 1000 - 50, `it waited for the client first (${ms} ms)`);
      assert.is((await within(reader.read())).byteLength, 0, "the client saw the server's close_notify");
      writer.close();
      await within(writer.waitClosed().catch(() => {}));
    } finally {
      await proxy.close();
      server.close();
      await within(server.waitClosed());
    }
  });
});

shutdown('startTls() takes sslShutdownTimeout for the connection it upgrades', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
      await reader.readline(); // STARTTLS
      await writer.startTls(SERVER);
      await drainThenClose(reader, writer);
    }, HOST, 0);
    const proxy = await muteProxy(portOf(server));
    try {
      const [, writer] = await openConnection(HOST, proxy.port);
      writer.write('STARTTLS\n');
      await writer.startTls(CLIENT, { serverHostname: 'localhost', sslShutdownTimeout: TIMEOUT });
      const ms = await closingTime(writer);
      assert.ok(ms >= TIMEOUT * 1000 - 50, `it waited for the peer first (${ms} ms)`);
    } finally {
      await proxy.close();
      server.close();
      await within(server.waitClosed());
    }
  });
});

shutdown.run();
