/**
 * Deno only: TLS through `Deno.connectTls`, `Deno.startTls` and `Deno.listenTls`, with the
 * test CA and the localhost certificate of spec/fixtures/tls.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import {
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  type DenoSocketInfo,
  type Server,
  type StreamReader,
  type StreamWriter,
} from '../../lib/runtime/deno.js';
import { rejection, text, thrown, within } from '../_loopback.js';

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
  await within(server.waitClosed());
}

const tls = suite('Deno adapter over TLS');

tls('openConnection with ssl talks to a startServer with ssl, ALPN negotiated on both ends', async () => {
  let serverAlpn: unknown;
  const server = await startServer(async (reader, writer) => {
    serverAlpn = (await (writer.transport as { opened: Promise<DenoSocketInfo> }).opened).alpn;
    await echoLine(reader, writer);
  }, '127.0.0.1', 0, { ssl: { ...serverTls, alpnProtocols: ['h2', 'http/1.1'] } });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: { ca, alpnProtocols: ['http/1.1'] } }));
    writer.write('secret\n');
    assert.is(text(await within(reader.readline())), 'secret\n');
    assert.is((await (writer.transport as { opened: Promise<DenoSocketInfo> }).opened).alpn, 'http/1.1');
    assert.is(serverAlpn, 'http/1.1');
    assert.not.ok(writer.canWriteEof(), 'TLS cannot half-close, as in asyncio');
    assert.instance(thrown(() => writer.writeEof()), Error);
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await closeServer(server);
  }
});

tls('serverHostname other than the host verifies that name (Deno.startTls over a TCP connection)', async () => {
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
    await within((async () => {
      while (failed.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    })());
    assert.match(String(failed[0]), /BadCertificate|alert/i, "the server reports the client's refusal");
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

tls('a client certificate can be sent (Deno.connectTls with cert and key)', async () => {
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

tls('refuses what Deno cannot do, with clear errors', async () => {
  assert.match(((await rejection(openConnection('127.0.0.1', 1, { ssl: { ca, rejectUnauthorized: false } }))) as Error).message, /rejectUnauthorized: false is not supported on Deno/);
  assert.match(((await rejection(startServer(() => {}, '127.0.0.1', 0, { ssl: { ...serverTls, ca } }))) as Error).message, /client certificates/);
  assert.match(((await rejection(openUnixConnection('/tmp/x.sock', { ssl: { ca }, serverHostname: 'localhost' }))) as Error).message, /Unix socket is not supported on Deno/);
  assert.match(((await rejection(startUnixServer(() => {}, '/tmp/x.sock', { ssl: serverTls }))) as Error).message, /Unix socket is not supported on Deno/);
});

tls.run();
