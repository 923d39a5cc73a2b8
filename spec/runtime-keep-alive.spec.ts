/**
 * `keepAlive` (CPython 3.13's `keep_alive` of `start_server`, and here of `openConnection` too),
 * under Node, Deno and Bun: SO_KEEPALIVE on each connection. The kernel shows it: an idle
 * established TCP socket with SO_KEEPALIVE has its keepalive timer armed, which Linux's
 * /proc/net/tcp reports as timer 2 in the `tr` column (0: no timer), for the row of that
 * socket's local and remote address. Each body runs twice, counted the second time: Deno takes
 * sockets for good on a first use.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { leakFreeTwice } from './_first-use.ts';
import { rejection, text, within } from './_loopback.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { CLIENT, SERVER } from './_tls.ts';

const HOST = '127.0.0.1';

/** /proc/net/tcp's `tr` value of a keepalive timer. */
const KEEPALIVE_TIMER = 2;
/** /proc/net/tcp's `tr` value of a retransmit timer: sent bytes not acknowledged yet. */
const RETRANSMIT_TIMER = 1;
/** How long a connection that has sent its last bytes may take to see them acknowledged. */
const IDLE_WITHIN_MS = 3000;

/** `127.0.0.1:port` as /proc/net/tcp writes it (the address in host byte order, little-endian here). */
function procAddress(port: number): string {
  return `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The timer /proc/net/tcp shows for the socket from 127.0.0.1:`local` to 127.0.0.1:`remote`. */
function timerOf(local: number, remote: number): number {
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === procAddress(local) && fields[2] === procAddress(remote)) return parseInt(fields[5]!.split(':')[0]!, 16);
  }
  assert.unreachable(`no socket from port ${local} to port ${remote} in /proc/net/tcp`);
  return -1;
}

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** Greets each client, then waits for it to hang up. */
async function greet(reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write('hello\n');
  await reader.read();
  writer.close();
}

/**
 * Connects to `server` (with `options`), waits for its greeting, and returns the timers of the
 * server's end and of the client's end.
 */
async function timers(server: Server, options: Record<string, unknown> = {}): Promise<{ server: number; client: number }> {
  const serverPort = portOf(server);
  const [reader, writer] = await within(openConnection(HOST, serverPort, options));
  try {
    assert.is(text(await within(reader.readline())), 'hello\n');
    const clientPort = (writer.getExtraInfo('sockname') as [string, number])[1];
    // Bytes not yet acknowledged (TLS 1.3 session tickets, a delayed ACK) show the retransmit
    // timer (1) instead: wait for the connection to go idle.
    const read = (): { server: number; client: number } => ({ server: timerOf(serverPort, clientPort), client: timerOf(clientPort, serverPort) });
    const deadline = Date.now() + IDLE_WITHIN_MS;
    let seen = read();
    while ((seen.server === RETRANSMIT_TIMER || seen.client === RETRANSMIT_TIMER) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = read();
    }
    return seen;
  } finally {
    writer.close();
    await within(writer.waitClosed());
  }
}

async function closed(server: Server): Promise<void> {
  server.close();
  await within(server.waitClosed());
}

const keepAlive = suite(`keepAlive (${runtime})`);

keepAlive('startServer({ keepAlive: true }) sets SO_KEEPALIVE on every client, and only then', async () => {
  await leakFreeTwice(async () => {
    const on = await startServer(greet, HOST, 0, { keepAlive: true });
    const off = await startServer(greet, HOST, 0);
    try {
      assert.equal(await timers(on), { server: KEEPALIVE_TIMER, client: 0 });
      assert.equal(await timers(on), { server: KEEPALIVE_TIMER, client: 0 }, 'the second client too');
      assert.equal(await timers(off), { server: 0, client: 0 }, 'not by default');
    } finally {
      await Promise.all([closed(on), closed(off)]);
    }
  });
});

keepAlive('a TLS server sets it too', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(greet, HOST, 0, { keepAlive: true, ssl: SERVER });
    try {
      assert.equal(await timers(server, { ssl: CLIENT, serverHostname: 'localhost' }), { server: KEEPALIVE_TIMER, client: 0 });
    } finally {
      await closed(server);
    }
  });
});

keepAlive('openConnection({ keepAlive: true }) sets it on the client', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(greet, HOST, 0);
    try {
      assert.equal(await timers(server, { keepAlive: true }), { server: 0, client: KEEPALIVE_TIMER });
      assert.equal(await timers(server, { keepAlive: false }), { server: 0, client: 0 });
    } finally {
      await closed(server);
    }
  });
});

keepAlive('a TLS client sets it too', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(greet, HOST, 0, { ssl: SERVER });
    try {
      const options = { keepAlive: true, ssl: CLIENT, serverHostname: 'localhost' };
      assert.equal(await timers(server, options), { server: 0, client: KEEPALIVE_TIMER });
    } finally {
      await closed(server);
    }
  });
});

keepAlive('keepAlive must be a boolean', async () => {
  for (const call of [
    () => startServer(greet, HOST, 0, { keepAlive: 1 as unknown as boolean }),
    () => openConnection(HOST, 1, { keepAlive: 'yes' as unknown as boolean }),
  ]) {
    const error = await rejection(call());
    assert.instance(error, TypeError);
    assert.match((error as Error).message, /^keepAlive must be a boolean/);
  }
});

keepAlive.run();
