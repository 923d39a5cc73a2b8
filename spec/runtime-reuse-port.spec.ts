/**
 * `reusePort` (SO_REUSEPORT) through the public API, under Node, Deno and Bun: where the runtime
 * has it (Node 22.12 and 23.1 on, Bun, Deno run with `--unstable-net`), two servers listen on one
 * port and the kernel spreads the connections between them; where it has not, `startServer()`
 * rejects with a `RangeError` that says what is needed, and listens on nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { rejection, text, within } from './_loopback.ts';

/** Enough connections that both servers get some: all going to one would take odds of 2^-63. */
const CONNECTIONS = 64;

/**
 * Whether this runtime can bind two listeners to one port, by the spec's own reading (the
 * library's is what is tested): Node from 22.12 and 23.1, Bun, and Deno with `--unstable-net`
 * (which the Deno suite runs with; it shows as Deno's unstable `listenDatagram`).
 */
function runtimeHasReusePort(): boolean {
  if (runtime === 'bun') return true;
  if (runtime === 'deno') return typeof (globalThis as { Deno?: { listenDatagram?: unknown } }).Deno?.listenDatagram === 'function';
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** A server that answers every client with its own name, then closes. */
function namedServer(name: string, port: number, reusePort: boolean): Promise<Server> {
  return startServer(
    async (_reader: StreamReader, writer: StreamWriter) => {
      writer.write(`${name}\n`);
      writer.close();
      await writer.waitClosed();
    },
    '127.0.0.1',
    port,
    { reusePort },
  );
}

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function shutdown(...servers: Server[]): Promise<void> {
  for (const server of servers) server.close();
  await within(Promise.all(servers.map((server) => server.waitClosed())));
}

const reuse = suite(`reusePort (${runtime})`);

if (runtimeHasReusePort()) {
  reuse(`two servers on one port both get some of ${CONNECTIONS} connections`, async () => {
    const first = await namedServer('first', 0, true);
    const port = portOf(first);
    let second: Server | undefined;
    try {
      second = await namedServer('second', port, true);
      assert.is(portOf(second), port);
      const answers = { 'first\n': 0, 'second\n': 0 } as Record<string, number>;
      for (let i = 0; i < CONNECTIONS; i++) {
        const [reader, writer] = await within(openConnection('127.0.0.1', port), 5000, `connection ${i}`);
        const answer = text(await within(reader.readline(), 5000, `the answer on connection ${i}`));
        answers[answer] = (answers[answer] ?? 0) + 1;
        writer.close();
        await within(writer.waitClosed());
      }
      assert.is(answers['first\n']! + answers['second\n']!, CONNECTIONS, JSON.stringify(answers));
      assert.ok(answers['first\n']! > 0 && answers['second\n']! > 0, `both servers got connections: ${JSON.stringify(answers)}`);
    } finally {
      await shutdown(first, ...(second ? [second] : []));
    }
  });

  reuse('a server without reusePort cannot take a port held with it', async () => {
    const first = await namedServer('first', 0, true);
    try {
      const error = await rejection(namedServer('second', portOf(first), false));
      assert.instance(error, Error);
      const { code, name, message } = error as Error & { code?: string };
      assert.ok(code === 'EADDRINUSE' || name === 'AddrInUse', `${name} ${code}: ${message}`);
    } finally {
      await shutdown(first);
    }
  });
} else {
  reuse('startServer() refuses reusePort with a RangeError saying what is needed', async () => {
    const error = await rejection(namedServer('first', 0, true));
    assert.instance(error, RangeError);
    const needed = runtime === 'deno' ? /--unstable-net/ : /needs Node 22\.12 or 23\.1 and later/;
    assert.match((error as Error).message, needed);
  });
}

reuse.run();
