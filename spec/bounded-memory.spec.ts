/**
 * Bounded memory. A peer that never stops sending against a reader that stops reading: the
 * bytes held in this process (taken from the kernel but not yet read by the application) stay
 * under `2 * limit` plus the high-water marks of the queues between the socket and the reader,
 * plus one socket read in flight per queue; the rest waits in the kernel and the peer is held
 * back. A writer whose peer stops reading: `drain()` waits, and what is queued in this process
 * stays at the writable's high-water mark. Then reading (or the peer) resumes, and every byte
 * arrives, in order.
 *
 * "Held in this process" is measured, not estimated: for a reader, the socket's `bytesRead`
 * minus what the application has read; for a writer, what the application wrote minus what
 * the socket has handed to the kernel (`bytesWritten - writableLength`).
 */
import { connect, type Socket as NetSocket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NodeSocket,
  openConnection,
  startServer,
  StreamReader,
  type StreamWriter,
} from '../lib/runtime/node.ts';
import { leakFree } from './_leaks.ts';
import { isPending, rawServer, sleep, until, within } from './_loopback.ts';

/**
 * What one read of a TCP socket can bring at most: libuv reads into 64 KiB buffers, Bun's
 * `node:net` (uSockets) into one of 512 KiB.
 */
const SOCKET_READ = 'Bun' in globalThis ? 512 * 1024 : 64 * 1024;
/** `NodeSocket`'s readable and writable high-water marks (the defaults). */
const NODE_SOCKET_HWM = 64 * 1024;
/** The size of a pull-mode reader's BYOB reads. */
const PULL_SIZE = 32 * 1024;
/** How long the reader stays away, sampling what is held, before it reads again. */
const STALL_MS = 300;

const LINE = 100;

/** Line `n` of the endless producer: 100 bytes, numbered, so a lost or repeated line shows. */
function lineOf(n: number): string {
  const head = `${n}:`;
  return head + 'x'.repeat(LINE - head.length - 1) + '\n';
}

/**
 * Writes numbered lines to `socket` as fast as the socket takes them (waiting for 'drain'
 * whenever it says so), until `stop()`; bounded by `maxBytes` all the same.
 */
function producer(socket: NetSocket, maxBytes = 256 * 1024 * 1024) {
  let lines = 0;
  let stopped = false;
  let blocked = 0;
  const done = (async () => {
    const batch = 640;
    while (!stopped && lines * LINE < maxBytes) {
      let text = '';
      for (let i = 0; i < batch; i++) text += lineOf(lines + i);
      lines += batch;
      if (!socket.write(text)) {
        blocked += 1;
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            socket.off('drain', wake);
            socket.off('close', wake);
            resolve();
          };
          socket.on('drain', wake);
          socket.on('close', wake);
        });
      }
    }
    socket.end();
  })();
  return {
    get sent() {
      return lines * LINE;
    },
    get lines() {
      return lines;
    },
    /** How many times the socket told the producer to wait. */
    get blocked() {
      return blocked;
    },
    stop() {
      stopped = true;
    },
    done,
  };
}

/** Reads `count` lines and checks each is the next one expected; returns the new line number. */
async function readLines(reader: StreamReader, from: number, count: number): Promise<number> {
  for (let n = from; n < from + count; n++) {
    const line = new TextDecoder().decode(await reader.readline());
    if (line !== lineOf(n)) assert.unreachable(`line ${n} came as ${JSON.stringify(line.slice(0, 20))}`);
  }
  return from + count;
}

/** Reads lines until EOF, checking each; returns how many. */
async function readToEnd(reader: StreamReader, from: number): Promise<number> {
  let n = from;
  for await (const line of reader) {
    const text = new TextDecoder().decode(line);
    if (text !== lineOf(n)) assert.unreachable(`line ${n} came as ${JSON.stringify(text.slice(0, 20))}`);
    n += 1;
  }
  return n;
}

/** Samples `held()` every 10 ms for `ms`; returns the largest value seen. */
async function peakOver(ms: number, held: () => number): Promise<number> {
  let peak = held();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await sleep(10);
    peak = Math.max(peak, held());
  }
  return peak;
}

function bufferedIn(reader: StreamReader): number {
  return Number(/ (\d+) bytes/.exec(String(reader))?.[1] ?? 0);
}

/**
 * After a stall: the reader has paused its transport and the producer is held back; then, the
 * producer stopped, reading on from line `next` brings every line it wrote, in order.
 */
async function heldBackThenEveryLine(reader: StreamReader, flood: ReturnType<typeof producer>, next: number): Promise<void> {
  assert.ok(String(reader).includes('paused'), 'the reader paused its transport');
  const sentBefore = flood.sent;
  await sleep(50);
  assert.is(flood.sent, sentBefore, 'the producer is held back');
  assert.ok(flood.blocked > 0);
  flood.stop();
  const read = await within(readToEnd(reader, next), 20_000, 'reading the rest');
  await flood.done;
  assert.is(read, flood.lines, 'every line the producer wrote was read, in order');
}

const KiB = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/**
 * What a `net.Socket` holds in its own readable buffer before it stops reading from the kernel:
 * its high-water mark (16 KiB on Node 20, 64 KiB from Node 22 on, read off the socket) plus one
 * read that lands after the mark is passed.
 */
const socketBuffer = (net: NetSocket): number => net.readableHighWaterMark + SOCKET_READ;

const reading = suite('Bounded memory: a reader that stops reading');

for (const limit of [1024, 65536, 1024 * 1024]) {
  // Push mode: the socket feeds the reader, which pauses it above 2 * limit. After the pause,
  // one more read may land in the reader and net.Socket may fill its own buffer plus one read
  // before it stops reading from the kernel.
  reading(`openConnection, limit ${limit}: at most 2 * limit + one read + the socket's buffer held, then every line arrives`, () =>
    leakFree(async () => {
      const peer = await rawServer();
      try {
        const [reader, writer] = await openConnection('127.0.0.1', peer.port, { limit });
        const net = writer.getExtraInfo('socket') as NetSocket;
        const bound = 2 * limit + SOCKET_READ + socketBuffer(net);
        const flood = producer(await within(peer.accepted()));
        let consumed = 0;
        const next = await readLines(reader, 0, 1000);
        consumed += 1000 * LINE;
        const held = (): number => net.bytesRead - consumed;
        const peak = await peakOver(STALL_MS, held);
        assert.ok(peak <= bound, `held ${KiB(peak)}, bound ${KiB(bound)} (reader buffer ${KiB(bufferedIn(reader))})`);
        assert.ok(bufferedIn(reader) <= 2 * limit + SOCKET_READ, `the reader holds ${KiB(bufferedIn(reader))}`);
        await heldBackThenEveryLine(reader, flood, next);
        writer.close();
        await writer.waitClosed();
      } finally {
        await peer.close();
      }
    }),
  );
}

if ('Bun' in globalThis) {
  // The Bun entry's TCP connections run over Bun's own sockets (`BunSocket`), which keep no
  // read buffer: a paused socket stops Bun reading, so what this process holds is the
  // reader's buffer (at most 2 * limit plus the one read that lands after the pause).
  for (const limit of [1024, 65536, 1024 * 1024]) {
    reading(`the Bun entry (BunSocket), limit ${limit}: at most 2 * limit + one read held, then every line arrives`, () =>
      leakFree(async () => {
        const bun = await import('../lib/runtime/bun.ts');
        const peer = await rawServer();
        try {
          const [reader, writer] = await bun.openConnection('127.0.0.1', peer.port, { limit });
          assert.instance(writer.transport, bun.BunSocket);
          const flood = producer(await within(peer.accepted()));
          const next = await readLines(reader, 0, 1000);
          const peak = await peakOver(STALL_MS, () => bufferedIn(reader));
          assert.ok(peak <= 2 * limit + SOCKET_READ, `the reader held ${KiB(peak)}`);
          await heldBackThenEveryLine(reader, flood, next);
          writer.close();
          await writer.waitClosed();
        } finally {
          await peer.close();
        }
      }),
    );
  }
}

reading('a server handler that stops reading holds at most 2 * limit + the socket buffers, too', () =>
  leakFree(async () => {
    const limit = 4096;
    let handler: { reader: StreamReader; writer: StreamWriter } | null = null;
    const server = await startServer((reader, writer) => {
      handler = { reader, writer };
    }, '127.0.0.1', 0, { limit });
    const client = connect((server.sockets[0]!.getsockname() as [string, number])[1], '127.0.0.1');
    client.on('error', () => {});
    try {
      await new Promise((resolve) => client.once('connect', resolve));
      const flood = producer(client);
      await until(() => handler !== null);
      const { reader, writer } = handler!;
      const net = writer.getExtraInfo('socket') as NetSocket;
      const bound = 2 * limit + SOCKET_READ + socketBuffer(net);
      const next = await readLines(reader, 0, 100);
      const consumed = 100 * LINE;
      const peak = await peakOver(STALL_MS, () => net.bytesRead - consumed);
      assert.ok(peak <= bound, `held ${KiB(peak)}, bound ${KiB(bound)}`);
      flood.stop();
      assert.is(await within(readToEnd(reader, next), 20_000), flood.lines);
      await flood.done;
      writer.close();
      await writer.waitClosed();
    } finally {
      client.destroy();
      server.close();
      server.abortClients();
      await within(server.waitClosed());
    }
  }),
);

reading('pull mode over a socket\'s byte stream: at most one BYOB read + the stream\'s and the socket\'s queues', () =>
  leakFree(async () => {
    const limit = 65536;
    // The reader pulls 32 KiB at a time and only when a read needs more; the byte stream
    // queues up to its high-water mark plus one socket read before it pauses the socket,
    // which then fills its own buffer plus one read.
    const peer = await rawServer();
    const socket = new NodeSocket(connect({ port: peer.port, host: '127.0.0.1' }));
    try {
      await socket.opened;
      const net = socket.getExtraInfo('socket') as NetSocket;
      const bound = PULL_SIZE + limit + NODE_SOCKET_HWM + SOCKET_READ + socketBuffer(net);
      const reader = StreamReader.from(socket.readable, { limit });
      const flood = producer(await within(peer.accepted()));
      const next = await readLines(reader, 0, 1000);
      const consumed = 1000 * LINE;
      const peak = await peakOver(STALL_MS, () => net.bytesRead - consumed);
      assert.ok(peak <= bound, `held ${KiB(peak)}, bound ${KiB(bound)}`);
      assert.ok(bufferedIn(reader) <= PULL_SIZE + limit, `the reader holds ${KiB(bufferedIn(reader))}`);
      flood.stop();
      assert.is(await within(readToEnd(reader, next), 20_000), flood.lines);
      await flood.done;
    } finally {
      await socket.close().catch(() => {});
      await peer.close();
    }
  }),
);

reading('pull mode over an endless stream: it pulls only what the reads need', async () => {
  const limit = 1024;
  const chunk = new TextEncoder().encode(lineOf(0).repeat(10));
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulled += chunk.length;
        controller.enqueue(chunk.slice());
      },
    },
    { highWaterMark: 4 },
  );
  const reader = StreamReader.from(endless, { limit });
  let consumed = 0;
  for (let i = 0; i < 10_000; i++) consumed += (await reader.readline()).length;
  await sleep(50);
  // The stream's queue (4 chunks) plus the chunk the reader is working through.
  assert.ok(pulled - consumed <= 5 * chunk.length, `${pulled - consumed} bytes pulled ahead of the reads`);
  assert.is(bufferedIn(reader), pulled - consumed - 4 * chunk.length, 'the rest waits in the stream\'s queue');
  await reader.readable.cancel();
});

reading.run();

const writing = suite('Bounded memory: a writer whose peer stops reading');

writing('drain() waits, and what is queued in this process stays at the high-water mark', () =>
  leakFree(async () => {
    const peer = await rawServer((socket) => socket.pause());
    try {
      const [, writer] = await openConnection('127.0.0.1', peer.port);
      const net = writer.getExtraInfo('socket') as NetSocket;
      const chunk = new Uint8Array(16 * 1024).map((_, i) => i & 0xff);
      let written = 0;
      let stop = false;
      let draining: Promise<void> = Promise.resolve();
      const loop = (async () => {
        while (!stop && written < 256 * 1024 * 1024) {
          writer.write(chunk);
          written += chunk.length;
          draining = writer.drain();
          await draining;
        }
      })();
      // Wait until the kernel's buffers are full and the loop is stuck in drain().
      let last = -1;
      while (written !== last) {
        last = written;
        await sleep(50);
      }
      assert.ok(await isPending(draining), 'drain() waits');
      const queued = written - (net.bytesWritten - net.writableLength);
      // The writable's queue (64 KiB, the chunk in the socket counted in it too) and the
      // socket's own buffer (its high-water mark: 16 KiB on Node 20, 64 KiB from Node 22 on),
      // plus the chunk that took it over the mark.
      const bound = NODE_SOCKET_HWM + net.writableHighWaterMark + chunk.length;
      assert.ok(queued <= bound, `queued ${KiB(queued)} in this process, bound ${KiB(bound)}`);
      assert.ok(queued >= NODE_SOCKET_HWM - chunk.length, `queued ${KiB(queued)}: the queue does fill up to its mark`);
      stop = true;
      const socket = await within(peer.accepted());
      let received = 0;
      let intact = true;
      socket.on('data', (data: Uint8Array) => {
        for (let i = 0; i < data.length; i++) if (data[i] !== ((received + i) % chunk.length & 0xff)) intact = false;
        received += data.length;
      });
      socket.resume();
      await within(loop, 10_000, 'the writes to finish');
      writer.close();
      await within(writer.waitClosed());
      await until(() => received === written, 10_000);
      assert.ok(intact, 'every byte arrived in order');
    } finally {
      await peer.close();
    }
  }),
);

writing.run();
