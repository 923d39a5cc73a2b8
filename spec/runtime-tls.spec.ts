/**
 * TLS through the public API on every runtime (see `_runtime.ts`): a TLS server and client,
 * and STARTTLS with `writer.startTls()` where the adapter has it (Node, and Bun through it);
 * Deno refuses STARTTLS with a clear error.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { Server, StreamReader, StreamWriter } from '../lib/index.js';
import { openConnection, runtime, startServer } from './_runtime.js';
import { rejection, text, within } from './_loopback.js';

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
  } finally {
    await closeAll(writer, server);
  }
});

tls(runtime === 'deno' ? 'writer.startTls() is refused with a clear error on Deno' : 'writer.startTls() upgrades a plain connection on both ends', async () => {
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    if (text(await reader.readline()) !== 'STARTTLS\n') return writer.close();
    writer.write('GO\n');
    await writer.startTls(serverTls).catch(() => writer.close());
    writer.write(await reader.readline());
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), 'GO\n');
    if (runtime === 'deno') {
      const error = (await rejection(writer.startTls({ ca }, { serverHostname: 'localhost' }))) as Error;
      assert.match(error.message, /startTls\(\) is not supported yet on Deno/);
      return;
    }
    await within(writer.startTls({ ca }, { serverHostname: 'localhost' }));
    writer.write('secret\n');
    assert.is(text(await within(reader.readline())), 'secret\n');
    assert.ok(writer.getExtraInfo('peercert') !== undefined || writer.getExtraInfo('cipher') !== undefined);
  } finally {
    await closeAll(writer, server);
  }
});

tls.run();
