/**
 * Bun only: which TCP connections and servers of the Bun entry run over Bun's own sockets (a
 * `BunSocket`) and which over Bun's `node:net` and `node:tls` (a `NodeSocket`, the Node
 * adapter), by `runsOnNodeNet()` and `servesOnNodeNet()`: what `Bun.connect()` cannot do must
 * not be dropped on the way (`localAddr` honoured, `family` honoured, TLS verified), and a
 * `Bun.Socket` or Bun listener given as `sock` is taken over, with `ssl` too.
 */
import { connect, createServer, type Server as NetServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BunSocket, NodeSocket, openConnection, startServer, type BunListener, type BunNativeSocket } from '../../lib/runtime/bun.ts';
import { bunNamespace, isBunNativeSocket } from '../../lib/runtime/bun/namespace.ts';
import type { HostPort, Server } from '../../lib/index.ts';
import { rejection, until, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';
import { echoLine, roundTrip } from './_bun-peers.ts';
import { CLIENT, SERVER } from '../_tls.ts';

const routes = suite('TCP on the Bun entry: Bun.connect/Bun.listen, or node:net/node:tls');

/** Runs `body` with the port of `server`, then closes it. */
function withServer(start: () => Promise<Server>, body: (port: number) => Promise<void>): Promise<void> {
  return leakFree(async () => {
    const server = await start();
    try {
      await body((server.sockets[0]!.getsockname() as HostPort)[1]);
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
}

/** A port nothing listens on now, from the OS. */
async function freePort(): Promise<number> {
  const probe: NetServer = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

routes('a plain connection and server: BunSockets at both ends', () => {
  const transports: unknown[] = [];
  return withServer(
    () => startServer(echoLine(transports), '127.0.0.1', 0),
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      assert.instance(writer.transport, BunSocket);
      await roundTrip(reader, writer, 'over Bun.connect\n');
      assert.instance(transports[0], BunSocket);
    },
  );
});

routes('localAddr: over node:net, bound where it says (Bun.connect cannot bind first)', () => {
  const transports: unknown[] = [];
  return withServer(
    () => startServer(echoLine(transports), '127.0.0.1', 0),
    async (port) => {
      const local = await freePort();
      const [reader, writer] = await openConnection('127.0.0.1', port, { localAddr: ['127.0.0.1', local] });
      assert.instance(writer.transport, NodeSocket);
      assert.equal(writer.getExtraInfo('sockname'), ['127.0.0.1', local]);
      await roundTrip(reader, writer, 'from a chosen port\n');
      // The server side is the server's: a BunSocket, which saw the client's port.
      assert.instance(transports[0], BunSocket);
      assert.equal((transports[0] as BunSocket).getExtraInfo('peername'), ['127.0.0.1', local]);
    },
  );
});

routes('family: over node:net, which resolves the name in that family only', () => {
  const transports: unknown[] = [];
  return withServer(
    () => startServer(echoLine(transports), '127.0.0.1', 0),
    async (port) => {
      const [reader, writer] = await openConnection('localhost', port, { family: 4 });
      assert.instance(writer.transport, NodeSocket);
      assert.equal((writer.getExtraInfo('peername') as HostPort)[0], '127.0.0.1');
      await roundTrip(reader, writer, 'IPv4 only\n');
    },
  );
});

routes('ssl: over node:tls at both ends, and a certificate that does not verify is refused', () => {
  const transports: unknown[] = [];
  return withServer(
    () => startServer(echoLine(transports), '127.0.0.1', 0, { ssl: SERVER, onError: () => {} }),
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port, { ssl: CLIENT, serverHostname: 'localhost' });
      assert.instance(writer.transport, NodeSocket);
      assert.ok(writer.getExtraInfo('cipher'), 'a TLS connection');
      await roundTrip(reader, writer, 'over node:tls\n');
      assert.instance(transports[0], NodeSocket);
      // The runtime's default trust store does not know the test CA: fail closed.
      const refused = (await within(rejection(openConnection('127.0.0.1', port, { ssl: true, serverHostname: 'localhost' })))) as { code?: string };
      assert.ok(refused.code !== undefined, `refused with a code (${String(refused.code)})`);
    },
  );
});

routes('a net.Server and a net.Socket given as sock: over the Node adapter', () => {
  const transports: unknown[] = [];
  return withServer(
    async () => {
      const net: NetServer = createServer({ allowHalfOpen: true });
      await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
      return startServer(echoLine(transports), null, null, { sock: net });
    },
    async (port) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      await new Promise((resolve) => socket.once('connect', resolve));
      const [reader, writer] = await openConnection(null, null, { sock: socket });
      assert.instance(writer.transport, NodeSocket);
      await roundTrip(reader, writer, 'over node:net\n');
      assert.instance(transports[0], NodeSocket);
    },
  );
});

routes('a Bun.Socket given as sock is taken over: a BunSocket, which the old handlers hear nothing of', () => {
  const transports: unknown[] = [];
  return withServer(
    () => startServer(echoLine(transports), '127.0.0.1', 0),
    async (port) => {
      const native = await bunNamespace().connect({ hostname: '127.0.0.1', port, allowHalfOpen: true, socket: { data: () => assert.unreachable('the old handlers hear nothing') } });
      const [reader, writer] = await openConnection(null, null, { sock: native });
      assert.instance(writer.transport, BunSocket);
      assert.is(writer.getExtraInfo('socket'), native);
      assert.equal(writer.getExtraInfo('peername'), ['127.0.0.1', port]);
      await roundTrip(reader, writer, 'over an adopted Bun.Socket\n');
    },
  );
});

routes('a Bun.Socket given as sock with ssl: TLS runs over it and verifies', () => {
  const transports: unknown[] = [];
  return withServer(
    () => startServer(echoLine(transports), '127.0.0.1', 0, { ssl: SERVER, onError: () => {} }),
    async (port) => {
      const dial = (): Promise<BunNativeSocket> =>
        bunNamespace().connect({ hostname: '127.0.0.1', port, allowHalfOpen: true, socket: { data: () => assert.unreachable('the old handlers hear nothing') } });
      const native = await dial();
      const [reader, writer] = await openConnection(null, null, { sock: native, ssl: CLIENT, serverHostname: 'localhost' });
      assert.instance(writer.transport, NodeSocket, 'the TLS socket');
      assert.is(writer.getExtraInfo('socket'), native);
      assert.ok(writer.getExtraInfo('cipher'), 'a TLS connection');
      await roundTrip(reader, writer, 'TLS over a Bun.Socket\n');
      const refused = await dial();
      const error = (await within(rejection(openConnection(null, null, { sock: refused, ssl: CLIENT, serverHostname: 'example.com' })))) as { code?: string };
      assert.is(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    },
  );
});

routes('a Bun listener given as sock serves over BunSockets; with ssl, each client upgrades', async () => {
  for (const ssl of [undefined, SERVER]) {
    const transports: unknown[] = [];
    let listener: BunListener & { port: number } = null!;
    await withServer(
      () => {
        listener = bunNamespace().listen({ hostname: '127.0.0.1', port: 0, allowHalfOpen: true, socket: { data: () => assert.unreachable('the old handlers hear nothing') } });
        return startServer(echoLine(transports), null, null, { sock: listener, ...(ssl ? { ssl } : {}) });
      },
      async (port) => {
        assert.is(port, listener.port);
        const open = () => openConnection('127.0.0.1', port, ssl ? { ssl: CLIENT, serverHostname: 'localhost' } : {});
        // Two clients at once, and a third after: one client's upgrade must not take the
        // listener's handlers, which all its connections share.
        const [firstReader, first] = await within(open());
        const [secondReader, second] = await within(open());
        await roundTrip(secondReader, second, 'to a Bun listener\n');
        await roundTrip(firstReader, first, 'the first, still served\n');
        const [thirdReader, third] = await within(open());
        await roundTrip(thirdReader, third, 'and one after\n');
        assert.is(transports.length, 3);
        for (const transport of transports) {
          assert.instance(transport, ssl ? NodeSocket : BunSocket);
          if (ssl) assert.ok(isBunNativeSocket((transport as NodeSocket).getExtraInfo('socket')), 'the TLS socket runs over the Bun.Socket');
        }
      },
    );
  }
});

routes("a socket a Bun listener accepted is refused as sock, and the listener keeps its handlers", () =>
  leakFree(async () => {
    // Its handlers are the listener's, shared by every connection it accepts: taking them
    // (reload()) would take the listener's other connections too.
    const refusals: unknown[] = [];
    const heard: string[] = [];
    const listener = bunNamespace().listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(socket: BunNativeSocket) {
          refusals.push(null);
          openConnection(null, null, { sock: socket }).then(
            () => assert.unreachable('taken over'),
            (error: unknown) => (refusals[refusals.length - 1] = error),
          );
        },
        data(_socket: BunNativeSocket, data: Uint8Array) {
          heard.push(new TextDecoder().decode(data));
        },
      },
    });
    try {
      for (const line of ['first\n', 'second\n']) {
        const client = await bunNamespace().connect({ hostname: '127.0.0.1', port: listener.port, socket: { data() {} } });
        client.write(new TextEncoder().encode(line));
        await until(() => heard.includes(line));
        client.end();
      }
      assert.is(refusals.length, 2, "the listener's open ran for both connections");
      for (const error of refusals) {
        assert.instance(error, TypeError);
        assert.match(String(error), /accepted cannot be taken over/);
      }
    } finally {
      listener.stop(true);
    }
  }),
);

routes('a sock that is neither a socket nor a listener of Bun or node:net is refused by name', async () => {
  const error = await within(rejection(startServer(() => {}, null, null, { sock: {} as BunListener })));
  assert.match(String(error), /sock must be a listening net\.Server or a listener of Bun\.listen\(\)/);
});

routes.run();
