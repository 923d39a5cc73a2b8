/**
 * Bun only: hostile clients of a plain server on the Bun entry (`Bun.listen`, a `BunSocket`)
 * whose handler upgrades with `writer.startTls()` after a STARTTLS line, which runs Bun's
 * `node:tls` over the `Bun.Socket` (`BunSocketDuplex`). Whatever the client does after the
 * server agreed, the server's `startTls()` rejects, the connection is let go at the client's
 * FIN or RST or at `sslHandshakeTimeout`, every descriptor comes back and nothing is left
 * unhandled.
 */
import { connect, type Socket as NetSocket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BunSocket, startServer } from '../../lib/runtime/bun.ts';
import type { HostPort, StreamReader, StreamWriter } from '../../lib/index.ts';
import { openSockets, socketsBackTo } from '../_leaks.ts';
import { sleep, text, watchUnhandled, within } from '../_loopback.ts';
import { SERVER } from '../_tls.ts';

/** The first bytes of a TLS ClientHello record announcing 512 bytes, of which it sends 64. */
const HALF_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Array<number>(53).fill(7)]);

/** What the server's handler saw: its transport, and how its `startTls()` ended. */
interface Outcome {
  transport: unknown;
  error: { code?: string; message: string } | null;
}

/**
 * A client of `port` that sends STARTTLS, reads the server's go-ahead, then does `after` with
 * the raw socket; resolves once the server has closed the connection.
 */
async function starttlsThen(port: number, after: (socket: NetSocket) => Promise<void> | void): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const goAhead = new Promise<string>((resolve) => socket.once('data', (chunk: Uint8Array) => resolve(text(chunk))));
  socket.write('STARTTLS\n');
  assert.is(await within(goAhead), '220 go ahead\n');
  await after(socket);
  await within(closed, 5000, 'the server letting go of the connection');
}

/**
 * Runs `client` against a server that upgrades after STARTTLS with `sslHandshakeTimeout`
 * seconds; checks the descriptors came back and nothing was unhandled, and returns what the
 * server's handler saw.
 */
async function upgradingServerAgainst(client: (port: number) => Promise<void>, sslHandshakeTimeout = 60): Promise<Outcome> {
  const watch = watchUnhandled();
  let outcome: Outcome | null = null;
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    assert.is(text(await reader.readline()), 'STARTTLS\n');
    writer.write('220 go ahead\n');
    const transport = writer.transport;
    try {
      await writer.startTls(SERVER, { sslHandshakeTimeout });
      outcome = { transport, error: null };
    } catch (error) {
      outcome = { transport, error: error as Outcome['error'] };
    }
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  try {
    const baseline = openSockets();
    await client((server.sockets[0]!.getsockname() as HostPort)[1]);
    assert.is(await socketsBackTo(baseline, 5000), baseline, 'every descriptor given back within 5 s');
    await within((async () => {
      while (outcome === null) await sleep(5);
    })());
    return outcome!;
  } finally {
    server.close();
    await within(server.waitClosed(), 5000, 'waitClosed()');
    await watch.stop();
  }
}

const hostile = suite("Hostile clients of a Bun server's writer.startTls()");

hostile('garbage instead of a ClientHello, then FIN: startTls() rejects, the connection is let go', async () => {
  const outcome = await upgradingServerAgainst((port) =>
    starttlsThen(port, (socket) => {
      socket.write(new Uint8Array(300).fill(0xab));
      socket.end();
    }),
  );
  assert.instance(outcome.transport, BunSocket);
  assert.ok(outcome.error !== null, 'startTls() rejected');
});

hostile('half a ClientHello, then RST: startTls() rejects at the RST', async () => {
  const outcome = await upgradingServerAgainst((port) =>
    starttlsThen(port, async (socket) => {
      await new Promise((resolve) => socket.write(HALF_HELLO, resolve));
      await sleep(50);
      socket.resetAndDestroy();
    }),
  );
  assert.instance(outcome.transport, BunSocket);
  assert.ok(outcome.error !== null, 'startTls() rejected');
});

hostile('a client that never sends its ClientHello is let go at sslHandshakeTimeout', async () => {
  const started = Date.now();
  const outcome = await upgradingServerAgainst((port) => starttlsThen(port, () => {}), 0.2);
  assert.is(outcome.error?.code, 'ETIMEDOUT');
  assert.ok(Date.now() - started < 4000, 'let go at the timeout, not later');
});

hostile.run();
