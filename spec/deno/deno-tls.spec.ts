/**
 * Deno only: TLS through Deno's `node:tls` over the `Deno.Conn`, on the client's side and the
 * server's, with the test CA and the localhost certificate of spec/fixtures/tls.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DenoSocket,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  type Server,
  type SocketInfo,
  type StreamReader,
  type StreamWriter,
} from '../../lib/runtime/deno.ts';
import { denoNamespace, isDenoConn } from '../../lib/runtime/deno/namespace.ts';
import { NodeSocket } from '../../lib/runtime/node/socket.ts';
import { rejection, text, thrown, within } from '../_loopback.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
const ca = fixture('ca.pem');
const serverTls = { cert: fixture('server.pem'), key: fixture('server-key.pem') };
const untrustedTls = { cert: fixture('untrusted.pem'), key: fixture('untrusted-key.pem') };

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function echoLine(reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write(await reader.readline());
  writer.close();
}

async function closeServer(server: Server): Promise<void> {
  server.close();
  // A failed assertion leaves its client open: the server must not wait for it.
  server.abortClients();
  await within(server.waitClosed());
}

const tls = suite('Deno adapter over TLS');

tls('openConnection with ssl talks to a startServer with ssl, ALPN negotiated on both ends', async () => {
  let serverAlpn: unknown;
  const server = await startServer(async (reader, writer) => {
    serverAlpn = (await (writer.transport as { opened: Promise<SocketInfo> }).opened).alpn;
    await echoLine(reader, writer);
  }, '127.0.0.1', 0, { ssl: { ...serverTls, alpnProtocols: ['h2', 'http/1.1'] } });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { ca, alpnProtocols: ['http/1.1'] } }));
    writer.write('secret\n');
    assert.is(text(await within(reader.readline())), 'secret\n');
    assert.is((await (writer.transport as { opened: Promise<SocketInfo> }).opened).alpn, 'http/1.1');
    assert.is(serverAlpn, 'http/1.1');
    assert.instance(writer.transport, NodeSocket, "node:tls over the Deno.Conn");
    assert.is((writer.getExtraInfo('peercert') as { subject?: { CN?: string } } | null)?.subject?.CN, 'localhost');
    assert.match(String((writer.getExtraInfo('cipher') as { name?: string } | null)?.name), /AES|CHACHA/);
    assert.ok(isDenoConn(writer.getExtraInfo('socket')), "'socket' is the Deno.Conn under TLS");
    assert.not.ok(writer.canWriteEof(), 'TLS cannot half-close, as in asyncio');
    assert.instance(thrown(() => writer.writeEof()), Error);
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
  }
});

tls('serverHostname other than the host verifies that name', async () => {
  const failed: unknown[] = [];
  const server = await startServer(echoLine, '127.0.0.1', 0, { ssl: serverTls, onError: (error) => void failed.push(error) });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { ca }, serverHostname: 'localhost' }));
    writer.write('by name\n');
    assert.is(text(await within(reader.readline())), 'by name\n');
    writer.close();
    await within(writer.waitClosed());
    const wrongName = await rejection(openConnection('127.0.0.1', portOf(server), { ssl: { ca }, serverHostname: 'example.com' }));
    assert.match(String(wrongName), /certificate|NotValidForName|name/i);
    // As on Node, a client that refuses the handshake is dropped quietly and the server goes on.
    const [again, againWriter] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { ca }, serverHostname: 'localhost' }));
    againWriter.write('still serving\n');
    assert.is(text(await within(again.readline())), 'still serving\n');
    againWriter.close();
    await within(againWriter.waitClosed());
    assert.equal(failed, []);
  } finally {
    await closeServer(server);
  }
});

tls('a certificate no trusted CA signed is refused', async () => {
  const server = await startServer(echoLine, '127.0.0.1', 0, { ssl: untrustedTls, onError: () => {} });
  try {
    const error = await rejection(openConnection('127.0.0.1', portOf(server), { ssl: { ca } }));
    assert.match(String(error), /certificate|UnknownIssuer/i);
  } finally {
    await closeServer(server);
  }
});

tls('a client certificate can be sent', async () => {
  const server = await startServer(echoLine, '127.0.0.1', 0, { ssl: serverTls });
  try {
    const ssl = { ca, cert: fixture('client.pem'), key: fixture('client-key.pem') };
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl }));
    writer.write('mtls\n');
    assert.is(text(await within(reader.readline())), 'mtls\n');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
  }
});

tls('rejectUnauthorized: false connects to an untrusted server, through node:tls, with peercert and cipher', async () => {
  const server = await startServer(echoLine, '127.0.0.1', 0, { ssl: untrustedTls });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { rejectUnauthorized: false }, serverHostname: 'example.com' }));
    assert.instance(writer.transport, NodeSocket);
    writer.write('unverified\n');
    assert.is(text(await within(reader.readline())), 'unverified\n');
    assert.ok(writer.getExtraInfo('peercert') !== null, 'the peer certificate is known');
    assert.match(String((writer.getExtraInfo('cipher') as { name?: string } | null)?.name), /AES|CHACHA/);
    assert.ok(isDenoConn(writer.getExtraInfo('socket')), "'socket' is the Deno.Conn under TLS");
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
  }
});

tls('a server with ssl.ca asks for client certificates (mutual TLS through node:tls) and refuses a client without one', async () => {
  let clientSubject: unknown;
  const server = await startServer(async (reader, writer) => {
    clientSubject = (writer.getExtraInfo('peercert') as { subject?: { CN?: string } } | null)?.subject?.CN;
    await echoLine(reader, writer);
  }, '127.0.0.1', 0, { ssl: { ...serverTls, ca }, onError: () => {} });
  try {
    const ssl = { ca, cert: fixture('client.pem'), key: fixture('client-key.pem') };
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl, serverHostname: 'localhost' }));
    writer.write('mutual\n');
    assert.is(text(await within(reader.readline())), 'mutual\n');
    assert.is(clientSubject, 'asyncio-streams test client');
    writer.close();
    await within(writer.waitClosed());
    // TLS 1.3: the client learns of the refusal at its first read, an error or (Deno's node:tls
    // does not surface the server's alert) the end of the stream.
    const [anonymous, anonymousWriter] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { ca }, serverHostname: 'localhost' }));
    anonymousWriter.write('anonymous\n');
    const outcome = await within(anonymous.readline().then(text, (error: unknown) => error));
    assert.ok(outcome === '' || /certificate|alert|reset|closed/i.test(String(outcome)), `refused: ${String(outcome)}`);
    anonymousWriter.close();
    await within(anonymousWriter.waitClosed().catch(() => {}));
  } finally {
    await closeServer(server);
  }
});

tls('TLS over a Unix socket, both ends (node:tls over Deno.connect and Deno.listen)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'asyncio-streams-'));
  const path = join(dir, 'tls.sock');
  const server = await startUnixServer(echoLine, path, { ssl: serverTls });
  try {
    const [reader, writer] = await within(openUnixConnection(path, { ssl: { ca }, serverHostname: 'localhost' }));
    assert.not.ok(writer.canWriteEof());
    writer.write('over unix\n');
    assert.is(text(await within(reader.readline())), 'over unix\n');
    assert.is(writer.getExtraInfo('peername'), path);
    // The server's close_notify ends our side too: TLS cannot half-close.
    assert.equal(await within(reader.read()), new Uint8Array(0));
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});

tls('ssl with sock: a Deno.Conn given is upgraded; a pair of streams is refused', async () => {
  const server = await startServer(echoLine, '127.0.0.1', 0, { ssl: serverTls });
  try {
    const conn = await denoNamespace().connect({ hostname: '127.0.0.1', port: portOf(server) });
    const [reader, writer] = await within(openConnection(null, null, { sock: conn, ssl: { ca }, serverHostname: 'localhost' }));
    writer.write('given\n');
    assert.is(text(await within(reader.readline())), 'given\n');
    writer.close();
    await within(writer.waitClosed());
    const pair = new TransformStream<Uint8Array, Uint8Array>();
    const refused = await rejection(openConnection(null, null, { sock: pair, ssl: { ca }, serverHostname: 'localhost' }));
    assert.instance(refused, TypeError);
  } finally {
    await closeServer(server);
  }
});

tls('writer.startTls(): node:tls on both ends, each reader following its TLS socket', async () => {
  let serverTransport: unknown;
  const server = await startServer(async (reader, writer) => {
    await reader.readline();
    writer.write('GO\n');
    await writer.startTls(serverTls);
    serverTransport = writer.transport;
    await echoLine(reader, writer);
  }, '127.0.0.1', 0);
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    const plain = writer.transport as DenoSocket;
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), 'GO\n');
    await within(writer.startTls({ ca, alpnProtocols: ['smtp'] }, { serverHostname: 'localhost' }));
    assert.instance(writer.transport, NodeSocket);
    assert.is.not(writer.transport, plain);
    writer.write('upgraded\n');
    assert.is(text(await within(reader.readline())), 'upgraded\n');
    assert.instance(serverTransport, NodeSocket);
    assert.equal(plain.getExtraInfo('peername'), writer.getExtraInfo('peername'), 'the plain socket answers for the TLS one');
    assert.equal(await within(reader.read()), new Uint8Array(0), 'the server closed: EOF through TLS');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
  }
});

tls('writer.startTls() while a read waits is refused with a clear error, and the connection goes on', async () => {
  const server = await startServer(async (reader, writer) => {
    await reader.readline();
    writer.write('late\n');
    await echoLine(reader, writer);
  }, '127.0.0.1', 0);
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    const waiting = reader.readline();
    const refused = (await rejection(writer.startTls({ ca }, { serverHostname: 'localhost' }))) as Error;
    assert.match(refused.message, /while a read or a write is in flight/);
    writer.write('go on\n');
    assert.is(text(await within(waiting)), 'late\n');
    writer.write('plain\n');
    assert.is(text(await within(reader.readline())), 'plain\n');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
  }
});

tls.run();
