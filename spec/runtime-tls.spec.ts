/**
 * TLS through the public API on every runtime (see `_runtime.ts`): a TLS server and client,
 * and STARTTLS with `writer.startTls()` on both ends (on Deno both through Deno's `node:tls`
 * over the `Deno.Conn`).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { rejection, text, within } from './_loopback.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/tls/${name}`, import.meta.url), 'utf8');
const ca = fixture('ca.pem');
const serverTls = { cert: fixture('server.pem'), key: fixture('server-key.pem') };

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function closeAll(writer: StreamWriter, server: Server): Promise<void> {
  writer.close();
  await within(writer.waitClosed()).catch(() => {});
  server.close();
  await within(server.waitClosed());
}

const tls = suite(`TLS (${runtime})`);

tls('a TLS client and server exchange lines; no half-close over TLS', async () => {
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    for await (const line of reader) writer.write(line);
    writer.close();
  }, '127.0.0.1', 0, { ssl: serverTls });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { ca }, serverHostname: 'localhost' }));
  try {
    writer.write('over tls\n');
    assert.is(text(await within(reader.readline())), 'over tls\n');
    assert.not.ok(writer.canWriteEof());
    assert.match(String(writer.transport), /^<\w+Socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ tls>$/);
  } finally {
    await closeAll(writer, server);
  }
});

/** A server that answers `STARTTLS\n` with `GO\n`, upgrades, then echoes one line over TLS. */
function startTlsServer(onUpgrade: (writer: StreamWriter) => void = () => {}): Promise<Server> {
  return startServer(async (reader: StreamReader, writer: StreamWriter) => {
    if (text(await reader.readline()) !== 'STARTTLS\n') return writer.close();
    writer.write('GO\n');
    await writer.startTls(serverTls).catch(() => writer.close());
    onUpgrade(writer);
    writer.write(await reader.readline());
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
}

tls('writer.startTls() upgrades a plain connection on both ends', async () => {
  let serverCanWriteEof: boolean | undefined;
  const server = await startTlsServer((writer) => {
    serverCanWriteEof = writer.canWriteEof();
  });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const plain = writer.transport;
    assert.ok(writer.canWriteEof());
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), 'GO\n');
    await within(writer.startTls({ ca }, { serverHostname: 'localhost' }));
    assert.is.not(writer.transport, plain, 'the writer writes to the TLS socket');
    // Both name the connection as TLS now: the plain socket stands for the one it became.
    for (const socket of [writer.transport, plain]) assert.match(String(socket), /^<\w+Socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ tls>$/);
    assert.not.ok(writer.canWriteEof());
    writer.write('secret\n');
    assert.is(text(await within(reader.readline())), 'secret\n');
    assert.is(serverCanWriteEof, false);
    assert.equal(await within(reader.read()), new Uint8Array(0), 'the server closed: EOF through TLS');
    assert.ok(reader.atEof());
  } finally {
    await closeAll(writer, server);
  }
});

tls('STARTTLS and the client hello may arrive together: the server hands the hello to TLS (gh-142352)', async () => {
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    if (text(await reader.readline()) !== 'STARTTLS\n') return writer.close();
    await writer.startTls(serverTls);
    writer.write(await reader.readline());
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    // No wait for an answer: the hello follows the command at once.
    writer.write('STARTTLS\n');
    await within(writer.startTls({ ca }, { serverHostname: 'localhost' }));
    writer.write('pipelined\n');
    assert.is(text(await within(reader.readline())), 'pipelined\n');
  } finally {
    await closeAll(writer, server);
  }
});

tls("one client's startTls() leaves the server's other clients alone: one connected before, one after", async () => {
  // Bun gives a listener's connections one set of handlers: an upgrade must not take them over.
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    if (text(await reader.readline()) === 'STARTTLS\n') {
      writer.write('GO\n');
      await writer.startTls(serverTls);
    }
    writer.write(await reader.readline());
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  const clients: StreamWriter[] = [];
  const connect = async (): Promise<StreamReader> => {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    clients.push(writer);
    return reader;
  };
  try {
    const before = await connect();
    clients[0]!.write('plain\n');
    const upgraded = await connect();
    clients[1]!.write('STARTTLS\n');
    assert.is(text(await within(upgraded.readline())), 'GO\n');
    await within(clients[1]!.startTls({ ca }, { serverHostname: 'localhost' }));
    clients[1]!.write('secret\n');
    assert.is(text(await within(upgraded.readline())), 'secret\n');
    const after = await connect();
    clients[2]!.write('later\nstill plain\n');
    assert.is(text(await within(after.readline())), 'still plain\n', 'a client connected after the upgrade is served');
    clients[0]!.write('still here\n');
    assert.is(text(await within(before.readline())), 'still here\n', 'a client connected before the upgrade is served');
  } finally {
    for (const writer of clients) {
      writer.close();
      await within(writer.waitClosed()).catch(() => {});
    }
    server.close();
    await within(server.waitClosed());
  }
});

tls('writer.startTls() against the wrong name rejects, and the connection dies of that error', async () => {
  const server = await startTlsServer();
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), 'GO\n');
    const error = await rejection(writer.startTls({ ca }, { serverHostname: 'example.com' }));
    assert.match(String(error), /certificate|name|altnames/i);
    assert.is(await within(rejection(writer.waitClosed())), error);
    assert.is(await within(rejection(reader.read())), error);
  } finally {
    await closeAll(writer, server);
  }
});

tls('a handshake the peer never answers times out (sslHandshakeTimeout) and closes the connection', async () => {
  let peerSawEof = false;
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    await reader.read(-1);
    peerSawEof = true;
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const error = (await rejection(writer.startTls({ ca }, { serverHostname: 'localhost', sslHandshakeTimeout: 0.1 }))) as Error & { code?: string };
    assert.is(error.code, 'ETIMEDOUT');
    assert.match(error.message, /^SSL handshake is taking longer than 0\.1 seconds/);
    assert.is(await within(rejection(reader.read())), error);
    await within((async () => {
      while (!peerSawEof) await new Promise((resolve) => setTimeout(resolve, 5));
    })());
  } finally {
    server.abortClients();
    await closeAll(writer, server);
  }
});

tls('a cert or key that does not parse is refused at once: openConnection and startServer reject', async () => {
  const server = await startServer(async (_reader: StreamReader, writer: StreamWriter) => writer.close(), '127.0.0.1', 0, { ssl: serverTls, onError: () => {} });
  try {
    const bad = { cert: 'not a certificate', key: 'not a key' };
    // Not a connection without the client's certificate, as Deno's own node:tls would make.
    const error = await within(rejection(openConnection('127.0.0.1', portOf(server), { ssl: { ca, ...bad }, serverHostname: 'localhost' })));
    assert.instance(error, Error);
    // Not a server that listens and fails every handshake.
    assert.instance(await within(rejection(startServer(() => {}, '127.0.0.1', 0, { ssl: bad }))), Error);
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

tls.run();
