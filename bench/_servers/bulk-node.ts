/**
 * The Node receivers of `bulk.bench.ts`. Each accepts one connection on 127.0.0.1 (OS port,
 * printed as `PORT n`), reads TOTAL bytes and then EOF, and prints
 * `BULK {"bytes","seconds","cpuSeconds","reads","totalCpuSeconds","maxRssMB"}`: from the first
 * byte to EOF, wall time and the process's CPU time (all threads); its CPU time since it started
 * and its peak RSS. Then it exits.
 *
 *   ours        startServer(); loop `await reader.readexactly(65536)`, then `read()` sees EOF
 *   ours-pull   `StreamReader.from(new NodeSocket(socket).readable)`: the socket's byte stream read
 *               with BYOB (how a `{ readable, writable }` pair is read), same loop
 *   ours-read   startServer(); loop `await reader.read(65536)` until EOF
 *   ours-readinto      startServer(); loop `await reader.readinto(frame)` into one reused 64 KiB buffer until 0
 *   ours-exactly-into  startServer(); loop `await reader.readexactlyInto(frame)`, same buffer, then `read()` sees EOF
 *   net         raw node:net, `socket.on('data')` counting bytes: the limit
 *   net-into    node:net, each chunk copied into one reused 64 KiB buffer, 64 KiB and one `await` at a
 *               time: the cheapest shape of a `readinto(frame)` loop (its floor)
 *   net-frames  node:net, the chunks copied into a fresh 64 KiB array per 64 KiB, one `await` each:
 *               the cheapest shape of a `readexactly(65536)` loop (its floor)
 *   toweb       `Duplex.toWeb(socket).readable`, default reader loop
 *
 *   node --import tsx bench/_servers/bulk-node.ts VARIANT TOTAL_BYTES
 *
 * `ours*` run the tsc build named by `ASYNCIO_STREAMS_BUILD`, else the sources (`_library.ts`).
 */
import { createServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { BulkClock, fail } from './_bulk-clock.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';
import { loadLibrary } from './_library.ts';

const READ_SIZE = 65536;
const MAX_SECONDS = 300;

const { NodeSocket, StreamReader, startServer } = await loadLibrary();
const [variant = '', totalArg = ''] = process.argv.slice(2);
const total = Number(totalArg);
if (!Number.isSafeInteger(total) || total <= 0 || total % READ_SIZE) {
  throw new Error(`TOTAL_BYTES must be a positive multiple of ${READ_SIZE} (got '${totalArg}')`);
}

const clock = new BulkClock(total);

/** Starts the clock at the connection's first byte; `once` leaves no listener behind. */
function timeFirstByte(socket: Socket): void {
  socket.once('data', () => clock.start());
}

/** The `readexactly(65536)` loop over a reader, then EOF. */
async function readAll(reader: InstanceType<typeof StreamReader>): Promise<void> {
  let bytes = 0;
  let reads = 0;
  for (let i = 0; i < total / READ_SIZE; i++) {
    bytes += (await reader.readexactly(READ_SIZE)).length;
    reads++;
  }
  const rest = await reader.read(READ_SIZE);
  clock.finish(bytes + rest.length, reads);
}

/** The `read(65536)` loop over a reader, until EOF. */
async function readChunks(reader: InstanceType<typeof StreamReader>): Promise<void> {
  let bytes = 0;
  let reads = 0;
  // Bounded: at least one byte per read until EOF.
  for (let i = 0; i <= total; i++) {
    const chunk = await reader.read(READ_SIZE);
    if (chunk.length === 0) break;
    bytes += chunk.length;
    reads++;
  }
  clock.finish(bytes, reads);
}

/** `readinto()` into one reused buffer until it returns 0 (EOF). */
async function readInto(reader: InstanceType<typeof StreamReader>): Promise<void> {
  const frame = new Uint8Array(READ_SIZE);
  let bytes = 0;
  let reads = 0;
  // Bounded: at least one byte per read until EOF.
  for (let i = 0; i <= total; i++) {
    const count = await reader.readinto(frame);
    if (count === 0) break;
    bytes += count;
    reads++;
  }
  clock.finish(bytes, reads);
}

/** `readexactlyInto()` of 64 KiB frames into one reused buffer, then EOF. */
async function readExactlyInto(reader: InstanceType<typeof StreamReader>): Promise<void> {
  const frame = new Uint8Array(READ_SIZE);
  let reads = 0;
  for (let i = 0; i < total / READ_SIZE; i++) {
    await reader.readexactlyInto(frame);
    reads++;
  }
  const rest = await reader.read(READ_SIZE);
  clock.finish(reads * READ_SIZE + rest.length, reads);
}

/** A `startServer()` receiver of one connection that hands its reader to `read`. */
async function serveOnce(read: (reader: InstanceType<typeof StreamReader>) => Promise<void>): Promise<number> {
  const server = await startServer(
    (reader, writer) => {
      server.close();
      const socket = writer.getExtraInfo('socket') as Socket | object;
      // A `Bun.Socket` (the Bun entry's) tells nothing of its reads: the clock starts as the
      // client is served, a round trip before its first byte at most (1 GiB takes 0.2 s or more).
      if (socket instanceof Duplex) timeFirstByte(socket as Socket);
      else clock.start();
      // The writer is kept until the end: a collected writer closes its connection (CPython's __del__).
      read(reader).then(() => writer.close(), fail);
    },
    '127.0.0.1',
    0,
  );
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/**
 * Node 20's `Duplex.toWeb()` never closes its readable on a half-open socket (it waits for
 * the writable side to finish too), so the plain receivers use Node's default, as a user would.
 */
function listenOnce(onSocket: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    server.close();
    timeFirstByte(socket);
    socket.on('error', fail);
    onSocket(socket);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/**
 * The floors: `socket.on('data')` queues each chunk; a loop takes 64 KiB at a time with one
 * `await` each, as a read loop over any asyncio-shaped API must, into one reused buffer
 * (`fresh` false: each copy stops at the chunk's end, as `readinto()` does) or into a fresh
 * 64 KiB array filled across chunks (`fresh` true, as `readexactly()` returns).
 */
function floor(fresh: boolean): () => Promise<number> {
  return () =>
    listenOnce((socket) => {
      const chunks: Buffer[] = [];
      let wake: (() => void) | null = null;
      let ended = false;
      const woken = (): void => {
        const waiting = wake;
        wake = null;
        waiting?.();
      };
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        woken();
      });
      socket.on('end', () => {
        ended = true;
        woken();
      });
      const loop = async (): Promise<void> => {
        let frame = new Uint8Array(READ_SIZE);
        let filled = 0;
        let bytes = 0;
        let reads = 0;
        for (let chunk = chunks.shift(), at = 0; chunk !== undefined || !ended; ) {
          if (chunk === undefined) {
            await new Promise<void>((resolve) => (wake = resolve));
            chunk = chunks.shift();
            continue;
          }
          const count = Math.min(READ_SIZE - filled, chunk.length - at);
          frame.set(chunk.subarray(at, at + count), filled);
          at += count;
          bytes += count;
          filled = fresh ? filled + count : 0;
          if (at === chunk.length) {
            chunk = chunks.shift();
            at = 0;
          }
          if (filled === READ_SIZE) {
            frame = new Uint8Array(READ_SIZE);
            filled = 0;
          }
          if (filled === 0) {
            reads++;
            await Promise.resolve(frame);
          }
        }
        clock.finish(bytes, reads);
      };
      loop().catch(fail);
    });
}

const receivers: Record<string, () => Promise<number>> = {
  ours: () => serveOnce(readAll),
  'ours-read': () => serveOnce(readChunks),
  'ours-readinto': () => serveOnce(readInto),
  'ours-exactly-into': () => serveOnce(readExactlyInto),
  'ours-pull': () =>
    listenOnce((socket) => {
      readAll(StreamReader.from(new NodeSocket(socket).readable)).catch(fail);
    }),
  net: () =>
    listenOnce((socket) => {
      let bytes = 0;
      let reads = 0;
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        reads++;
      });
      socket.on('end', () => clock.finish(bytes, reads));
    }),
  'net-into': floor(false),
  'net-frames': floor(true),
  toweb: () =>
    listenOnce((socket) => {
      const reader = Duplex.toWeb(socket).readable.getReader();
      const loop = async (): Promise<void> => {
        let bytes = 0;
        let reads = 0;
        // Bounded: at least one byte per read.
        for (let i = 0; i <= total; i++) {
          const { value, done } = await reader.read();
          if (done) break;
          bytes += (value as Uint8Array).length;
          reads++;
        }
        clock.finish(bytes, reads);
      };
      loop().catch(fail);
    }),
};

const start = receivers[variant];
if (!start) throw new Error(`usage: bulk-node.ts ${Object.keys(receivers).join('|')} TOTAL_BYTES (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(await start());
