/**
 * Bun only (the Bun suite of spec/_run.ts runs this folder): the PROTOTYPE adapter over
 * `Bun.listen`/`Bun.connect` (`lib/runtime/bun/`), client and server both on it, and against
 * Bun's own sockets as the peer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openConnection } from '../../lib/runtime/bun/connect.ts';
import { startServer } from '../../lib/runtime/bun/listen.ts';
import { BunSocket } from '../../lib/runtime/bun/socket.ts';
import { bunNamespace, type BunNativeSocket } from '../../lib/runtime/bun/namespace.ts';
import type { Server, StreamReader, StreamWriter } from '../../lib/index.ts';
import { bytes, rejection, sleep, text, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';

type Handler = (reader: StreamReader, writer: StreamWriter) => Promise<void>;

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A server on the prototype running `handler` for each client, closed (with its clients) after `body`. */
async function withServer(handler: Handler, body: (port: number) => Promise<void>, options = {}): Promise<void> {
  await leakFree(async () => {
    const server = await startServer((reader, writer) => handler(reader, writer), '127.0.0.1', 0, options);
    try {
      await body(portOf(server));
    } finally {
      server.close();
      server.closeClients();
      await within(server.waitClosed(), 5000, 'the server closing');
    }
  });
}

/** Bytes whose every position is checkable: byte i is (i * 7) mod 256. */
function pattern(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7) & 255;
  return data;
}

const flows = suite('Bun.listen prototype: client and server both on it');

flows('an echo and a line round trip', async () => {
  await withServer(
    async (reader, writer) => {
      for (let line = await reader.readline(); line.length > 0; line = await reader.readline()) {
        writer.write(line);
        await writer.drain();
      }
      writer.close();
    },
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      for (const line of ['ping\n', 'a longer line, twice\n', 'ping\n']) {
        writer.write(line);
        assert.is(text(await within(reader.readline())), line);
      }
      assert.instance(writer.transport, BunSocket);
      assert.equal(writer.getExtraInfo('peername'), ['127.0.0.1', port]);
      writer.close();
      await writer.waitClosed();
    },
  );
});

flows('EOF both ways, with a half-close: the server answers after the client wrote EOF', async () => {
  await withServer(
    async (reader, writer) => {
      const request = await reader.read();
      assert.ok(reader.atEof(), 'the client half-closed');
      writer.write(bytes(`got ${text(request)} and EOF`));
      writer.close();
    },
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      writer.write('hello');
      writer.writeEof();
      assert.is(text(await within(reader.read())), 'got hello and EOF');
      assert.is((await within(reader.read())).length, 0, 'then the server closed: EOF');
      writer.close();
      await writer.waitClosed();
    },
  );
});

flows('a write larger than the socket takes at once arrives intact, though the caller reuses its buffer at once, and drain() waits for it', async () => {
  const size = 16 * 1024 * 1024;
  const sent = pattern(size);
  let received: Uint8Array | null = null;
  await withServer(
    async (reader, writer) => {
      // A slow reader: its buffer fills and it pauses the socket, then resumes as it reads.
      await sleep(100);
      received = await reader.readexactly(size);
      writer.write('done');
      writer.close();
    },
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      const buffer = sent.slice();
      writer.write(buffer);
      // The kernel took part of it; the writer must have copied the rest before returning.
      buffer.fill(0);
      const drained = writer.drain();
      assert.ok(await Promise.race([drained.then(() => false), sleep(50).then(() => true)]), 'drain() waits while the kernel holds it back');
      await within(drained, 10000);
      assert.is(text(await within(reader.read())), 'done');
      assert.ok(received !== null && received.length === size);
      assert.ok(Buffer.compare(received!, sent) === 0, 'every byte intact, in order');
      writer.close();
      await writer.waitClosed();
    },
  );
});

flows('bytes that arrive before the server serves wait for the callback', async () => {
  let server: Server | null = null;
  await leakFree(async () => {
    const lines: string[] = [];
    server = await startServer(async (reader, writer) => {
      lines.push(text(await reader.readline()));
      writer.close();
    }, '127.0.0.1', 0, { startServing: false });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('early\n');
      writer.writeEof();
      await sleep(50);
      await server.startServing();
      assert.is((await within(reader.read())).length, 0, 'the server closed after reading');
      assert.equal(lines, ['early\n']);
      writer.close();
      await writer.waitClosed();
    } finally {
      server.close();
      await server.waitClosed();
    }
  });
});

flows.run();

const peers = suite("Bun.listen prototype against Bun's own sockets");

/** A `Bun.listen` server whose sockets go to `open`; `stop()` closes it and them. */
function rawBunServer(open: (socket: BunNativeSocket) => void): { port: number; stop(): void } {
  const listener = bunNamespace().listen({ hostname: '127.0.0.1', port: 0, allowHalfOpen: true, socket: { open, data() {} } });
  return { port: listener.port, stop: () => listener.stop(true) };
}

peers('a peer that vanishes (reset): reads fail with ECONNRESET, drain() too', async () => {
  await leakFree(async () => {
    let peer: BunNativeSocket | null = null;
    const raw = rawBunServer((socket) => void (peer = socket));
    try {
      const [reader, writer] = await openConnection('127.0.0.1', raw.port);
      const reading = reader.read();
      await sleep(20);
      peer!.terminate();
      const error = (await rejection(reading)) as { code?: string };
      assert.is(error.code, 'ECONNRESET');
      assert.is(((await rejection(writer.drain())) as { code?: string }).code, 'ECONNRESET');
      writer.close();
      assert.is(((await rejection(writer.waitClosed())) as { code?: string }).code, 'ECONNRESET');
    } finally {
      raw.stop();
    }
  });
});

peers('a peer that ends cleanly: EOF, and our side stays open until the writer closes (half-close)', async () => {
  await leakFree(async () => {
    const heard: string[] = [];
    const raw = bunNamespace().listen<unknown>({
      hostname: '127.0.0.1',
      port: 0,
      allowHalfOpen: true,
      socket: {
        binaryType: 'uint8array',
        open(socket) {
          socket.write(bytes('bye\n'));
          socket.shutdown();
        },
        data: (_, data) => void heard.push(text(data)),
        close: () => void heard.push('closed'),
      },
    });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', raw.port);
      assert.is(text(await within(reader.readline())), 'bye\n');
      assert.is((await within(reader.read())).length, 0);
      writer.write('still heard after your EOF');
      writer.close();
      await within(writer.waitClosed());
      await sleep(20);
      assert.equal(heard, ['still heard after your EOF', 'closed']);
    } finally {
      raw.stop(true);
    }
  });
});

peers('a refused connection rejects with ECONNREFUSED', async () => {
  const raw = rawBunServer(() => {});
  const port = raw.port;
  raw.stop();
  assert.is(((await rejection(openConnection('127.0.0.1', port))) as { code?: string }).code, 'ECONNREFUSED');
});

peers.run();
