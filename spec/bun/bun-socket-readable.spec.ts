/**
 * Bun only: `BunSocket.readable`, the byte stream a reader pulls when no protocol reads the
 * socket (a `Bun.Socket` wrapped alone): fed by Bun's `data`, the socket paused while its queue
 * is full and resumed as it is read.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BunSocket, type BunSocketSlot } from '../../lib/runtime/bun/socket.ts';
import { startServer } from '../../lib/runtime/bun/listen.ts';
import { bunNamespace, type BunNativeSocket } from '../../lib/runtime/bun/namespace.ts';
import { StreamReader } from '../../lib/stream-reader.ts';
import { StreamReaderProtocol } from '../../lib/stream-reader-protocol.ts';
import type { StreamWriter } from '../../lib/index.ts';
import { bytes, rejection, sleep, text, thrown, until, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';
import { pattern, rawBunServer } from './_bun-peers.ts';

/**
 * A `BunSocket` over `Bun.connect()` to `port`, as `connectSocket()` of the specs makes it (its
 * open handler wraps the native socket); `native` is spied on when given.
 */
async function bunSocket(port: number, spy?: (native: BunNativeSocket) => void): Promise<BunSocket> {
  const native = await bunNamespace().connect<BunSocketSlot>({ hostname: '127.0.0.1', port, allowHalfOpen: true, socket: BunSocket.handlers });
  spy?.(native);
  return native.data as BunSocket;
}

/** Every chunk of `readable`, `afterEach` awaited after each (a reader that takes its time). */
async function readAll(readable: ReadableStream<Uint8Array>, afterEach: () => Promise<void> = async () => {}): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) {
    chunks.push(chunk);
    await afterEach();
  }
  return chunks;
}

const readable = suite('BunSocket.readable, for a reader that pulls');

readable('gives the bytes, those that came before it was asked for first, then ends at the peer\'s EOF', () =>
  leakFree(async () => {
    const raw = rawBunServer((socket) => {
      socket.write(bytes('early '));
      setTimeout(() => {
        socket.write(bytes('late'));
        socket.shutdown();
      }, 30);
    });
    try {
      const socket = await bunSocket(raw.port);
      await sleep(10);
      const chunks = await within(readAll(socket.readable));
      assert.is(chunks.map(text).join(''), 'early late');
      // Our side is still open after the peer's EOF: closing it closes the connection.
      await within(socket.writable.close());
      await within(socket.closed);
    } finally {
      raw.stop();
    }
  }),
);

for (const takenLate of [false, true]) {
  const when = takenLate ? 'asked for after the bytes came' : 'asked for at once';
  readable(`a slow reader pauses the socket and resumes it as it reads: 8 MiB, every byte in order (${when})`, () =>
    leakFree(async () => {
      const size = 8 * 1024 * 1024;
      const data = pattern(size);
      let served: StreamWriter | null = null;
      const server = await startServer((_, writer) => {
        served = writer;
        writer.write(data);
        writer.close();
      }, '127.0.0.1', 0);
      try {
        const calls = { pause: 0, resume: 0 };
        const port = (server.sockets[0]!.getsockname() as [string, number])[1];
        const socket = await bunSocket(port, (native) => {
          const { pause, resume } = native;
          native.pause = () => void (calls.pause++, pause.call(native));
          native.resume = () => void (calls.resume++, resume.call(native));
        });
        const stream = takenLate ? null : socket.readable;
        // Meanwhile the peer sends what the kernel takes: kept for the reader, or in the stream's queue.
        await sleep(50);
        // Slower than the peer: each chunk waits in the stream's queue while the reader sleeps.
        const chunks = await within(readAll(stream ?? socket.readable, () => sleep(2)), 20000);
        assert.ok(calls.pause > 1 && calls.resume > 1, `paused while full, resumed on pull (${calls.pause} pauses, ${calls.resume} resumes)`);
        const received = Buffer.concat(chunks);
        assert.is(received.byteLength, size);
        assert.ok(Buffer.compare(received, data) === 0, 'every byte, in order');
        await within(served!.waitClosed(), 10000);
        await socket.close();
      } finally {
        server.close();
        server.closeClients();
        await within(server.waitClosed());
      }
    }),
  );
}

readable('a BYOB read gets the bytes in its own buffer', () =>
  leakFree(async () => {
    const raw = rawBunServer((socket) => void socket.write(bytes('view')));
    try {
      const socket = await bunSocket(raw.port);
      const reader = socket.readable.getReader({ mode: 'byob' });
      const { value } = await within(reader.read(new Uint8Array(64)));
      assert.is(text(value!), 'view');
      assert.is(value!.buffer.byteLength, 64);
      reader.releaseLock();
      await socket.close();
    } finally {
      raw.stop();
    }
  }),
);

readable('a reset errors it with ECONNRESET', () =>
  leakFree(async () => {
    let peer: BunNativeSocket | null = null;
    const raw = rawBunServer((socket) => void (peer = socket));
    try {
      const socket = await bunSocket(raw.port);
      const reading = socket.readable.getReader().read();
      await until(() => peer !== null);
      peer!.terminate();
      assert.is(((await rejection(reading)) as { code?: string }).code, 'ECONNRESET');
      assert.is(((await rejection(socket.closed)) as { code?: string }).code, 'ECONNRESET');
    } finally {
      raw.stop();
    }
  }),
);

readable('cancelled, then our side ended: the connection closes, though the peer never ended its side', () =>
  leakFree(async () => {
    const raw = rawBunServer(() => {});
    try {
      const socket = await bunSocket(raw.port);
      await socket.readable.cancel();
      await within(socket.writable.close());
      await within(socket.closed);
    } finally {
      raw.stop();
    }
  }),
);

readable('taken, it leaves no room for a protocol; after a protocol, it is locked', () =>
  leakFree(async () => {
    const raw = rawBunServer(() => {});
    try {
      const read = await bunSocket(raw.port);
      assert.not.ok(read.readable.locked);
      assert.match(String(thrown(() => read.connectProtocol(new StreamReaderProtocol(new StreamReader())))), /already being read/);
      await read.close();
      const served = await bunSocket(raw.port);
      served.connectProtocol(new StreamReaderProtocol(new StreamReader()));
      assert.ok(served.readable.locked);
      await served.close();
    } finally {
      raw.stop();
    }
  }),
);

readable('startTls() ends it: the bytes before it stay readable, then the end (the TLS socket reads on)', () =>
  leakFree(async () => {
    const raw = rawBunServer((socket) => void socket.write(bytes('before TLS')));
    try {
      const socket = await bunSocket(raw.port);
      const reader = socket.readable.getReader();
      assert.is(text((await within(reader.read())).value!), 'before TLS');
      const pending = reader.read();
      // The raw server never answers the handshake: it times out, which is not this test's concern.
      const secure = socket.startTls({ ssl: { rejectUnauthorized: false }, serverHostname: 'localhost', sslHandshakeTimeout: 0.2 });
      assert.equal(await within(pending), { done: true, value: undefined });
      const timedOut = (await within(rejection(secure.opened))) as { code?: string };
      assert.is(timedOut.code, 'ETIMEDOUT');
      // The connection died of that timeout: closing it tells so.
      assert.is(await within(rejection(secure.close())), timedOut);
    } finally {
      raw.stop();
    }
  }),
);

readable.run();
