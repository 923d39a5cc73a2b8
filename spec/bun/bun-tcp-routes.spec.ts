/**
 * Bun only: which TCP connections and servers of the Bun entry run over Bun's own sockets (a
 * `BunSocket`) and which over Bun's `node:net` and `node:tls` (a `NodeSocket`, the Node
 * adapter), by `runsOnNodeNet()` and `servesOnNodeNet()`: what `Bun.connect()` cannot do must
 * not be dropped on the way (`localAddr` honoured, `family` honoured, TLS verified).
 */
import { connect, createServer, type Server as NetServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BunSocket, NodeSocket, openConnection, startServer } from '../../lib/runtime/bun.ts';
import type { HostPort, Server, StreamReader, StreamWriter } from '../../lib/index.ts';
import { rejection, text, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';
import { CLIENT, SERVER } from '../_tls.ts';

const routes = suite('TCP on the Bun entry: Bun.connect/Bun.listen, or node:net/node:tls');

/** A client callback that echoes a line and closes, noting each client's transport in `transports`. */
function echoLine(transports: unknown[]): (reader: StreamReader, writer: StreamWriter) => Promise<void> {
  return async (reader, writer) => {
    transports.push(writer.transport);
    writer.write(await reader.readline());
    writer.close();
  };
}

/** A line sent and echoed, then the writer closed. */
async function roundTrip(reader: StreamReader, writer: StreamWriter, line: string): Promise<void> {
  writer.write(line);
  assert.is(text(await within(reader.readline())), line);
  writer.close();
  await writer.waitClosed();
}

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

routes.run();
