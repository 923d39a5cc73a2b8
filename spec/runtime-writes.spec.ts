/**
 * What a writer sends, on every runtime (see `_runtime.ts`), over TCP and TLS: the bytes a
 * `write()` was given, even when the caller reuses its buffer at once or earlier writes wait
 * in a backed-up socket; nothing written after `startTls()` in the clear; `pipeTo(writer.writable)`
 * ending a TLS connection; many small writes in linear time; and a connection that lives while
 * only its reader is referenced.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { collectGarbage } from './_gc.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { rejection, sleep, text, within } from './_loopback.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/tls/${name}`, import.meta.url), 'utf8');
const ca = fixture('ca.pem');
const serverTls = { cert: fixture('server.pem'), key: fixture('server-key.pem') };
const untrustedCa = fixture('untrusted.pem');

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function stop(server: Server): Promise<void> {
  server.close();
  server.abortClients();
  await within(server.waitClosed());
}

/** A server that reads each connection to its end and hands over what it received. */
async function collectingServer(tls: boolean): Promise<{ server: Server; received: Promise<Uint8Array> }> {
  let deliver!: (bytes: Uint8Array) => void;
  const received = new Promise<Uint8Array>((resolve) => (deliver = resolve));
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    deliver(await reader.read());
    writer.close();
  }, '127.0.0.1', 0, tls ? { ssl: serverTls } : {});
  return { server, received };
}

function connectTo(server: Server, tls: boolean): Promise<[StreamReader, StreamWriter]> {
  return within(openConnection('127.0.0.1', portOf(server), tls ? { ssl: { ca }, serverHostname: 'localhost' } : {}));
}

/** Ends our side: a half-close where the transport can, else a close once the bytes are out. */
function finish(writer: StreamWriter): void {
  if (writer.canWriteEof()) writer.writeEof();
  else writer.close();
}

const ownership = suite(`Bytes written are the bytes sent (${runtime})`);

for (const tls of [false, true]) {
  const over = tls ? 'TLS' : 'TCP';

  ownership(`over ${over}: one buffer reused for 200 writes, each drained, arrives as written`, async () => {
    const { server, received } = await collectingServer(tls);
    const [, writer] = await connectTo(server, tls);
    try {
      const block = new Uint8Array(1000);
      for (let i = 0; i < 200; i += 1) {
        block.fill(i);
        writer.write(block);
        await within(writer.drain());
      }
      block.fill(255);
      finish(writer);
      const bytes = await within(received);
      assert.is(bytes.byteLength, 200_000);
      const wrong = [];
      for (let i = 0; i < 200; i += 1) if (bytes.subarray(i * 1000, (i + 1) * 1000).some((byte) => byte !== i)) wrong.push(i);
      assert.equal(wrong, [], `blocks with later contents: ${wrong.length}`);
    } finally {
      writer.close();
      await stop(server);
    }
  });

  ownership(`over ${over}: a buffer changed right after write() and writelines(), before any drain, arrives as written`, async () => {
    const { server, received } = await collectingServer(tls);
    const [, writer] = await connectTo(server, tls);
    try {
      const block = new Uint8Array(10);
      let expected = '';
      for (let i = 0; i < 50; i += 1) {
        block.fill(65 + (i % 26));
        writer.write(block);
        writer.writelines([block, block]);
        expected += String.fromCharCode(65 + (i % 26)).repeat(30);
      }
      block.fill(0);
      const large = new Uint8Array(4 * 1024 * 1024).fill(120);
      writer.write(large);
      large.fill(0);
      expected += 'x'.repeat(large.byteLength);
      await within(writer.drain());
      finish(writer);
      const bytes = await within(received, 10_000);
      assert.is(bytes.byteLength, expected.length);
      assert.ok(text(bytes) === expected, 'every byte as it was when written');
    } finally {
      writer.close();
      await stop(server);
    }
  });
}

ownership('writes waiting in a backed-up socket keep their bytes: nothing the socket may still send is written over', async () => {
  let release!: () => void;
  const reading = new Promise<void>((resolve) => (release = resolve));
  let deliver!: (bytes: Uint8Array) => void;
  const received = new Promise<Uint8Array>((resolve) => (deliver = resolve));
  // Reads nothing until the client's socket is backed up, then everything.
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    await reading;
    deliver(await reader.read());
    writer.close();
  }, '127.0.0.1', 0);
  const [, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const size = 4096;
    const block = new Uint8Array(size);
    let blocks = 0;
    let backedUpAt = -1;
    // One write a turn, so that each reaches the socket alone, until 64 writes past the first
    // drain() that had to wait (the kernel's buffers full, the socket holding writes of its
    // own); then the server reads.
    while (blocks < 16384 && (backedUpAt < 0 || blocks < backedUpAt + 64)) {
      block.fill(blocks & 255);
      new DataView(block.buffer).setUint32(0, blocks);
      writer.write(block);
      blocks += 1;
      const drained = writer.drain();
      let waited = true;
      void drained.then(() => (waited = false), () => {});
      await null;
      if (waited && backedUpAt < 0) {
        backedUpAt = blocks;
        release();
      }
      await within(drained, 10_000);
      await sleep(0);
    }
    assert.ok(backedUpAt > 0, 'the socket backed up');
    writer.writeEof();
    const bytes = await within(received, 20_000);
    assert.is(bytes.byteLength, blocks * size);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const wrong: number[] = [];
    for (let i = 0; i < blocks && wrong.length < 10; i += 1) {
      const at = i * size;
      if (view.getUint32(at) !== i || bytes.subarray(at + 4, at + size).some((byte) => byte !== (i & 255))) wrong.push(i);
    }
    assert.equal(wrong, [], `blocks with other bytes than written, of ${blocks} (backed up at ${backedUpAt})`);
  } finally {
    writer.close();
    await stop(server);
  }
});

ownership('many small writes, then one drain(), take linear time: 20,000 commands of 7 writes each', async () => {
  let total = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    for (;;) {
      const chunk = await reader.read(65536);
      if (chunk.byteLength === 0) break;
      total += chunk.byteLength;
    }
    done();
    writer.close();
  }, '127.0.0.1', 0);
  const [, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const started = performance.now();
    let expected = 0;
    for (let i = 0; i < 20_000; i += 1) {
      for (const part of ['*3\r\n', '$3\r\n', 'SET\r\n', '$5\r\n', `k${String(i % 10_000).padStart(4, '0')}\r\n`, '$1\r\n', 'v\r\n']) {
        writer.write(part);
        expected += part.length;
      }
    }
    await within(writer.drain(), 10_000);
    writer.writeEof();
    await within(all, 10_000);
    const seconds = (performance.now() - started) / 1000;
    assert.is(total, expected);
    // Quadratic, this took 16 s on Node; linear, well under a second.
    assert.ok(seconds < 4, `${seconds.toFixed(2)} s for 140,000 writes`);
  } finally {
    writer.close();
    await stop(server);
  }
});

const upgrade = suite(`Nothing written after startTls() goes out in the clear (${runtime})`);

/**
 * A STARTTLS server behind a relay that records what the client sends: the server answers
 * `STARTTLS\n` with `GO\n`, upgrades, then echoes one line over TLS.
 */
async function relayedStartTlsServer(): Promise<{ port: number; sent(): string; received: Promise<string>; stop(): Promise<void> }> {
  let receive!: (line: string) => void;
  const received = new Promise<string>((resolve) => (receive = resolve));
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    if (text(await reader.readline()) !== 'STARTTLS\n') return writer.close();
    writer.write('GO\n');
    try {
      await writer.startTls(serverTls);
      const line = await reader.readline();
      receive(text(line));
      writer.write(line);
      await writer.drain();
    } catch {
      // the client refused the upgrade
    }
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  const chunks: Uint8Array[] = [];
  const pump = async (from: StreamReader, to: StreamWriter, record: boolean): Promise<void> => {
    try {
      for (let chunk = await from.read(65536); chunk.byteLength > 0; chunk = await from.read(65536)) {
        if (record) chunks.push(chunk);
        to.write(chunk);
        await to.drain();
      }
      // Passed on as a half-close: the other direction goes on.
      to.writeEof();
    } catch {
      // either end went away
      to.close();
    }
  };
  const relay = await startServer(async (clientReader: StreamReader, clientWriter: StreamWriter) => {
    const [serverReader, serverWriter] = await openConnection('127.0.0.1', portOf(server));
    await Promise.all([pump(clientReader, serverWriter, true), pump(serverReader, clientWriter, false)]);
    clientWriter.close();
    serverWriter.close();
  }, '127.0.0.1', 0, { onError: () => {} });
  return {
    port: portOf(relay),
    sent: () => chunks.map((chunk) => text(chunk)).join(''),
    received,
    stop: async () => {
      await stop(relay);
      await stop(server);
    },
  };
}

type Relay = Awaited<ReturnType<typeof relayedStartTlsServer>>;

/**
 * A client of the relayed STARTTLS server, asked to upgrade and told GO: `body` gets the relay,
 * the client's reader and writer; everything is closed after.
 */
async function afterGo(body: (relay: Relay, reader: StreamReader, writer: StreamWriter) => Promise<void>): Promise<void> {
  const relay = await relayedStartTlsServer();
  const [reader, writer] = await within(openConnection('127.0.0.1', relay.port));
  try {
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), 'GO\n');
    await body(relay, reader, writer);
  } finally {
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
    await relay.stop();
  }
}

upgrade('bytes written right after calling startTls() reach the server over TLS, never in the clear', () =>
  afterGo(async (relay, reader, writer) => {
    const upgrading = writer.startTls({ ca }, { serverHostname: 'localhost' });
    writer.write('PASSWORD=hunter2\n');
    await within(upgrading);
    assert.is(text(await within(reader.readline())), 'PASSWORD=hunter2\n', 'the server got it over TLS');
    assert.ok(relay.sent().startsWith('STARTTLS\n'), 'the request to upgrade went in the clear');
    assert.not.ok(relay.sent().includes('PASSWORD'), 'the password did not');
  }));

upgrade('when the handshake fails, what was written after startTls() is dropped and drain() raises its error', () =>
  afterGo(async (relay, _reader, writer) => {
    const upgrading = writer.startTls({ ca: untrustedCa }, { serverHostname: 'localhost' });
    writer.write('PASSWORD=hunter2\n');
    const error = await rejection(upgrading);
    assert.instance(error, Error);
    assert.is(await rejection(writer.drain()), error, 'drain() raises the handshake error');
    await sleep(50);
    assert.not.ok(relay.sent().includes('PASSWORD'), 'the password never went out in the clear');
  }));

upgrade('close() during startTls() waits for the handshake: what was written goes out encrypted, then the connection closes', () =>
  afterGo(async (relay, _reader, writer) => {
    const upgrading = writer.startTls({ ca }, { serverHostname: 'localhost' });
    writer.write('PASSWORD=hunter2\n');
    writer.close();
    assert.ok(writer.isClosing());
    assert.throws(() => writer.write('more'), /after close/);
    await within(upgrading);
    assert.is(await within(relay.received), 'PASSWORD=hunter2\n', 'the server got it over TLS');
    await within(writer.waitClosed());
    assert.not.ok(relay.sent().includes('PASSWORD'), 'the password did not go out in the clear');
  }));

upgrade('writeEof() during startTls() throws, and the upgrade goes on', () =>
  afterGo(async (_relay, reader, writer) => {
    const upgrading = writer.startTls({ ca }, { serverHostname: 'localhost' });
    assert.throws(() => writer.writeEof(), /while startTls\(\) is in progress/);
    await within(upgrading);
    writer.write('after\n');
    assert.is(text(await within(reader.readline())), 'after\n');
  }));

const piping = suite(`pipeTo(writer.writable) ends the connection as the transport can (${runtime})`);

for (const tls of [false, true]) {
  piping(`over ${tls ? 'TLS: a full close once every byte is out' : 'TCP: a half-close'}; the peer reads every byte, then the end`, async () => {
    const { server, received } = await collectingServer(tls);
    const [, writer] = await connectTo(server, tls);
    try {
      const body = 'piped '.repeat(50_000);
      await within(new Response(body).body!.pipeTo(writer.writable), 10_000);
      assert.is(text(await within(received)), body);
      assert.is(writer.isClosing(), tls, tls ? 'closed: TLS cannot half-close' : 'half-closed only');
    } finally {
      writer.close();
      await stop(server);
    }
  });
}

const lifetime = suite(`A connection lives while its reader is referenced (${runtime})`);

const SLOW_TOTAL = 4 * 1024 * 1024;
const SLOW_CHUNK = 64 * 1024;

/** Sends `SLOW_TOTAL` bytes in chunks a few milliseconds apart, then closes. */
async function sendSlowly(writer: StreamWriter): Promise<void> {
  const chunk = new Uint8Array(SLOW_CHUNK).fill(7);
  for (let sent = 0; sent < SLOW_TOTAL; sent += SLOW_CHUNK) {
    writer.write(chunk);
    await writer.drain();
    await sleep(3);
  }
  writer.close();
}

/** Counts the bytes until EOF; garbage is collected every few milliseconds meanwhile. */
async function countWhileCollecting(reader: StreamReader): Promise<number> {
  let stop = false;
  const collecting = (async () => {
    while (!stop) {
      collectGarbage();
      await sleep(5);
    }
  })();
  let total = 0;
  try {
    for (let chunk = await reader.read(65536); chunk.byteLength > 0; chunk = await reader.read(65536)) total += chunk.byteLength;
  } finally {
    stop = true;
    await collecting;
  }
  return total;
}

/** Records the `unclosed <StreamWriter` warnings of abandoned connections until `restore()`. */
function captureUnclosed(): { count(): number; restore(): void } {
  const original = console.warn;
  let unclosed = 0;
  console.warn = (...args: unknown[]) => {
    if (String(args[0]).startsWith('unclosed <StreamWriter')) unclosed += 1;
    else original(...args);
  };
  return { count: () => unclosed, restore: () => void (console.warn = original) };
}

/** Collects garbage until `done()` holds (finalizers run in later turns); gives up after `ms`. */
async function collectUntil(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    collectGarbage();
    await sleep(10);
  }
}

lifetime('a client that keeps only its reader reads a whole slow stream through forced GCs; dropped, it is closed', async () => {
  const unclosed = captureUnclosed();
  const server = await startServer((_reader: StreamReader, writer: StreamWriter) => sendSlowly(writer), '127.0.0.1', 0);
  try {
    const total = await (async () => {
      const [reader] = await within(openConnection('127.0.0.1', portOf(server)));
      return within(countWhileCollecting(reader), 20_000);
    })();
    assert.is(total, SLOW_TOTAL);
    assert.is(unclosed.count(), 0, 'not closed while its reader was referenced');
    // Now nothing can reach the connection: a collection closes it, with the warning.
    await collectUntil(() => unclosed.count() === 1);
    assert.is(unclosed.count(), 1);
  } finally {
    unclosed.restore();
    await stop(server);
  }
});

lifetime('a handler that only reads, and drops its writer, reads a whole slow stream through forced GCs; then it is closed', async () => {
  const unclosed = captureUnclosed();
  let counted!: (total: number) => void;
  const total = new Promise<number>((resolve) => (counted = resolve));
  // Not async: nothing of the server's keeps the writer while the reading goes on.
  const server = await startServer((reader: StreamReader) => {
    void countWhileCollecting(reader).then(counted, () => counted(-1));
  }, '127.0.0.1', 0);
  const [, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    await within(sendSlowly(writer), 20_000);
    assert.is(await within(total, 20_000), SLOW_TOTAL);
    assert.is(unclosed.count(), 0, 'not closed while its reader was referenced');
    await collectUntil(() => unclosed.count() === 1);
    assert.is(unclosed.count(), 1, "the server's end, once its reader is dropped, is closed at a collection");
  } finally {
    unclosed.restore();
    writer.close();
    await stop(server);
  }
});

ownership.run();
upgrade.run();
piping.run();
lifetime.run();
