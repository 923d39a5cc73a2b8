/**
 * The end of a TLS connection whose reader fell behind, on every runtime (see `_runtime.ts`):
 * with a small `limit` the reader's flow control pauses the TLS socket while the peer sends
 * 2 MiB and closes; reading later gets every byte and then the end, on a client (`ssl`), a
 * server (`ssl`) and after `writer.startTls()`. And the paused socket holds the peer back:
 * what it sends waits in the kernel, not in this process. (On Deno, `node:tls` went on reading
 * under a paused TLS socket, without bound, and lost that end: a read waiting for EOF waited
 * forever.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, type Server, type StreamReader, type StreamWriter } from '../lib/index.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { CLIENT, SERVER } from './_tls.ts';
import { rejection, sleep, text, until, within } from './_loopback.ts';

const SIZE = 2 * 1024 * 1024;
/** Small enough that the reader pauses the socket after a few records. */
const LIMIT = 16 * 1024;
/** How long the reader stays away while the peer sends and closes. */
const AWAY_MS = 200;
/** A read to the end takes well under this; past it, the end was lost. */
const END_MS = 15_000;

const payload = new Uint8Array(SIZE).map((_, i) => i % 251);

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** Writes the payload and closes (close_notify, then the connection). */
async function sendAllAndClose(writer: StreamWriter): Promise<void> {
  writer.write(payload);
  await writer.drain();
  writer.close();
  await writer.waitClosed().catch(() => {});
}

async function closeAll(writer: StreamWriter, server: Server): Promise<void> {
  writer.close();
  await within(writer.waitClosed()).catch(() => {});
  server.close();
  await within(server.waitClosed());
}

/** The server's callback for a peer that sends `STARTTLS\n`: `GO\n`, the upgrade, then the payload. */
async function upgradeAndSend(reader: StreamReader, writer: StreamWriter): Promise<void> {
  if (text(await reader.readline()) !== 'STARTTLS\n') return writer.close();
  writer.write('GO\n');
  await writer.startTls(SERVER).catch(() => writer.close());
  await sendAllAndClose(writer);
}

const paused = suite(`TLS end after a paused read (${runtime})`);

/**
 * Runs `body` on a TLS client with a small limit, once it has stayed away while a server sent
 * it the payload and closed.
 */
async function afterFallingBehind(body: (reader: StreamReader) => Promise<void>): Promise<void> {
  const server = await startServer((_reader: StreamReader, writer: StreamWriter) => sendAllAndClose(writer), '127.0.0.1', 0, { ssl: SERVER });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT, serverHostname: 'localhost', limit: LIMIT }));
  try {
    await sleep(AWAY_MS);
    await body(reader);
  } finally {
    await closeAll(writer, server);
  }
}

paused('a TLS client that fell behind reads every byte, then the end (read(-1))', () =>
  afterFallingBehind(async (reader) => {
    assert.equal(await within(reader.read(-1), END_MS, 'read(-1)'), payload);
    assert.ok(reader.atEof());
  }),
);

paused('a TLS client that fell behind: readexactly() past the data fails with every byte read (IncompleteReadError)', () =>
  afterFallingBehind(async (reader) => {
    const error = await rejection(reader.readexactly(SIZE + 1), END_MS);
    assert.instance(error, IncompleteReadError);
    assert.equal((error as IncompleteReadError).partial, payload);
  }),
);

paused('a TLS client that fell behind reads chunks with read() until the empty one', () =>
  afterFallingBehind(async (reader) => {
    let received = 0;
    for (let chunk = await within(reader.read(), END_MS); chunk.byteLength > 0; chunk = await within(reader.read(), END_MS, 'read()')) {
      assert.equal(chunk, payload.subarray(received, received + chunk.byteLength));
      received += chunk.byteLength;
    }
    assert.is(received, SIZE);
  }),
);

paused('a TLS server whose reader fell behind reads every byte of its client, then the end', async () => {
  let got: Promise<Uint8Array> | undefined;
  const server = await startServer((reader: StreamReader, writer: StreamWriter) => {
    got = sleep(AWAY_MS).then(() => reader.read(-1));
    // The test awaits `got` itself; a rejection here is its, not an unhandled one.
    got.finally(() => writer.close()).catch(() => {});
  }, '127.0.0.1', 0, { ssl: SERVER, limit: LIMIT });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT, serverHostname: 'localhost' }));
  try {
    writer.write(payload);
    writer.close();
    await until(() => got !== undefined);
    assert.equal(await within(got!, END_MS, "the server's read(-1)"), payload);
    assert.equal(await within(reader.read(-1)), new Uint8Array(0));
  } finally {
    await closeAll(writer, server);
  }
});

paused('after writer.startTls(), a client that fell behind reads every byte, then the end', async () => {
  const server = await startServer(upgradeAndSend, '127.0.0.1', 0, { onError: () => {} });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { limit: LIMIT }));
  try {
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), 'GO\n');
    await within(writer.startTls(CLIENT, { serverHostname: 'localhost' }));
    await sleep(AWAY_MS);
    assert.equal(await within(reader.read(-1), END_MS, 'read(-1)'), payload);
  } finally {
    await closeAll(writer, server);
  }
});

paused('a TLS client that stops reading holds its peer back, then reads every byte and the end', async () => {
  const most = 64 * 1024 * 1024;
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let sent = 0;
  let stop = false;
  const server = await startServer(async (_reader: StreamReader, writer: StreamWriter) => {
    while (!stop && sent < most) {
      writer.write(chunk);
      await writer.drain();
      sent += chunk.byteLength;
    }
    writer.close();
  }, '127.0.0.1', 0, { ssl: SERVER, onError: () => {} });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT, serverHostname: 'localhost', limit: LIMIT }));
  try {
    // Until the server has sent nothing more for half a second: the kernel's buffers are full.
    for (let last = -1, still = 0; still < 5 && sent < most; still = sent === last ? still + 1 : 0) {
      last = sent;
      await sleep(100);
    }
    stop = true;
    // Loopback's socket buffers take a few MiB each way; a reader buffering on takes it all.
    assert.ok(sent < most / 2, `the server sent ${sent} bytes to a reader that read none`);
    let received = 0;
    for (let data = await within(reader.read(1 << 20)); data.byteLength > 0; data = await within(reader.read(1 << 20), END_MS, 'read()')) {
      received += data.byteLength;
    }
    assert.is(received, sent);
  } finally {
    stop = true;
    await closeAll(writer, server);
  }
});

paused.run();
