/**
 * What a connection costs when client and server both run on the library, in one process
 * (issue 14, point 3), against the runtime's own sockets doing the same: raw `node:net` on
 * Node, `Deno.listen`/`Deno.connect` on Deno, `Bun.listen`/`Bun.connect` on Bun (`raw`). On
 * Deno and Bun the runtime's own `node:net` is a second anchor (`net`): "raw net" is what the
 * issue names, and Bun's adapter runs over it. The round trips also run on a `floor`: that
 * `node:net` behind the cheapest asyncio-shaped loop that keeps the contract (see `nodeNet()`).
 *
 * - `connect`: 10,000 short connections over 127.0.0.1, 50 at a time: open, accept, the
 *   client closes, the server reads EOF and closes. µs per connection (lower is better).
 * - `rt10`, `rt100`, `rt1000`: 1 KiB echo round trips over 10, 100 and 1,000 open connections
 *   (one request in flight per connection, 50,000 round trips a pass, spread evenly).
 *   µs per round trip; the connections are opened before the timed passes.
 *
 * Each reports wall time and the process's CPU time per item (client and server together):
 * on a shared machine the CPU figure is the steadier one.
 *
 * `npm run bench -- connections` runs every runtime through `run.ts`. One variant alone:
 * `node --import tsx bench/connections.bench.ts connect|rt10|rt100|rt1000 ours|raw|net|floor [REPS] [WARMUP]`
 * (or `deno run --allow-all ...`, `bun ...`).
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Benchmark, Metric, Ratio, Workload } from './_benchmark.ts';
import { bunNamespace, loadNodeAdapter, loadCopyingBunEntry, type BunSocket, type ConnectionFunctions } from './_bun.ts';
import { AwaitedChunks } from './_awaited-chunks.ts';
import { echoLoop } from './_servers/_echo-loop.ts';
import { measure } from './_measure.ts';
import { IN_FLIGHT, openEach } from './_open-each.ts';
import { loadRuntimeLibrary, runtimeKind, runtimeVariant, RUNTIMES } from './_runtimes.ts';
import { denoNamespace, type DenoConn } from '../lib/runtime/deno/namespace.ts';

const HOST = '127.0.0.1';
const CONNECTIONS = 10_000;
const MESSAGE_SIZE = 1024;
const ROUND_TRIPS = 50_000;
const FANOUTS = [10, 100, 1000] as const;

/** The process's CPU time per item (client and server together), reported by `measure()`. */
const CPU_METRIC = (unit: string): Metric => ({ label: `CPU ${unit}`, per: 'value', value: 'cpuMicrosPerItem', scale: 1 });

/** One side's way of doing the workloads: ours, or the runtime's own sockets. */
interface Contender {
  /** Opens and closes `count` connections, `IN_FLIGHT` at a time; resolves once the server closed them all. */
  churn(count: number): Promise<void>;
  /** Opens `connections` echo connections and returns a pass of `trips` round trips on each. */
  echo(connections: number): Promise<{ pass(trips: number): Promise<void>; close(): Promise<void> }>;
  close(): Promise<void>;
}

/** Resolves after `count` calls of `tick()`. */
function countdown(count: number): { tick(): void; done: Promise<void> } {
  let left = count;
  let resolve!: () => void;
  const done = new Promise<void>((settle) => (resolve = settle));
  if (left === 0) resolve();
  return {
    tick() {
      if (--left === 0) resolve();
    },
    done,
  };
}

/** Runs `count` jobs, `IN_FLIGHT` at a time. */
async function inFlight(count: number, job: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
}

const message = new Uint8Array(MESSAGE_SIZE).fill(120);

/** `load`: the library's entry for this runtime, or on Bun another way of running it (`node-ours`, `ours-copy`). */
async function ours(load: () => Promise<{ library: ConnectionFunctions; remove(): void }> = loadRuntimeLibrary): Promise<Contender> {
  const { library, remove } = await load();
  const { openConnection, startServer } = library;
  let served: { tick(): void } = { tick() {} };
  const server = await startServer(
    async (reader, writer) => {
      await echoLoop(reader, writer);
      await writer.waitClosed();
      served.tick();
    },
    HOST,
    0,
  );
  const port = server.sockets[0]!.getsockname()[1] as number;
  return {
    async churn(count) {
      const all = countdown(count);
      served = all;
      await inFlight(count, async () => {
        const [, writer] = await openConnection(HOST, port);
        writer.close();
        await writer.waitClosed();
      });
      await all.done;
    },
    async echo(connections) {
      const pairs = await openEach(connections, () => openConnection(HOST, port));
      return {
        async pass(trips) {
          await Promise.all(
            pairs.map(async ([reader, writer]) => {
              for (let i = 0; i < trips; i++) {
                writer.write(message);
                await reader.readexactly(MESSAGE_SIZE);
              }
            }),
          );
        },
        async close() {
          const all = countdown(connections);
          served = all;
          for (const [, writer] of pairs) writer.close();
          await Promise.all(pairs.map(([, writer]) => writer.waitClosed()));
          await all.done;
        },
      };
    },
    async close() {
      server.close();
      await server.waitClosed();
      remove();
    },
  };
}

/**
 * Sends `message` and waits for its `MESSAGE_SIZE` bytes back, `trips` times, over a socket
 * that hands received chunks to `onData` (Node's and Bun's sockets both do).
 */
function callbackTrips(send: () => void, listen: (onData: ((size: number) => void) | null) => void, trips: number): Promise<void> {
  return new Promise((resolve) => {
    let left = trips;
    let received = 0;
    listen((size) => {
      received += size;
      while (received >= MESSAGE_SIZE) {
        received -= MESSAGE_SIZE;
        if (--left === 0) {
          listen(null);
          resolve();
          return;
        }
        send();
      }
    });
    send();
  });
}

/** A `node:net` socket read as `AwaitedChunks`. */
function awaitedSocket(socket: Socket): AwaitedChunks {
  const chunks = new AwaitedChunks();
  socket.on('data', (chunk: Uint8Array) => chunks.received(chunk));
  socket.on('end', () => chunks.ended());
  return chunks;
}

/** A copy into a shared pool, as small writes must be copied (the caller may reuse its buffer). */
let copyPool = new Uint8Array(65536);
let copyPoolUsed = 0;
function pooledCopy(data: Uint8Array): Uint8Array {
  if (copyPoolUsed + data.length > copyPool.length) {
    copyPool = new Uint8Array(65536);
    copyPoolUsed = 0;
  }
  const copy = copyPool.subarray(copyPoolUsed, copyPoolUsed + data.length);
  copy.set(data);
  copyPoolUsed += data.length;
  return copy;
}

const RESOLVED = Promise.resolve();

/** The floor's server loop: `data = await read()`, `write(copy of data)`, `await drain()` (resolved). */
async function awaitedEcho(socket: Socket): Promise<void> {
  const reader = awaitedSocket(socket);
  for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) {
    socket.write(pooledCopy(chunk));
    await RESOLVED;
  }
  socket.end();
}

/**
 * Raw `node:net` (the runtime's own on Deno and Bun); with `awaited`, the floor of an
 * asyncio-shaped API over it: both ends await each chunk and copy each write (`AwaitedChunks`,
 * `pooledCopy()`), the server also awaits a resolved drain, and nothing else is done.
 */
async function nodeNet(awaited = false): Promise<Contender> {
  let served: { tick(): void } = { tick() {} };
  const server = createServer({ noDelay: true }, (socket) => {
    if (awaited) void awaitedEcho(socket);
    else socket.on('data', (data) => socket.write(data));
    socket.on('close', () => served.tick());
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const open = async (): Promise<Socket> => {
    const socket = connect({ host: HOST, port, noDelay: true });
    await once(socket, 'connect');
    return socket;
  };
  const closeAll = async (sockets: Socket[]): Promise<void> => {
    await Promise.all(
      sockets.map((socket) => {
        const closed = once(socket, 'close');
        socket.end();
        return closed;
      }),
    );
  };
  return {
    async churn(count) {
      const all = countdown(count);
      served = all;
      await inFlight(count, async () => {
        const socket = await open();
        socket.resume();
        await closeAll([socket]);
      });
      await all.done;
    },
    async echo(connections) {
      const sockets = await openEach(connections, open);
      let handlers = new Map<Socket, (data: Uint8Array) => void>();
      const readers = awaited ? sockets.map(awaitedSocket) : [];
      return {
        async pass(trips) {
          if (awaited) {
            await Promise.all(
              sockets.map(async (socket, i) => {
                const reader = readers[i]!;
                for (let trip = 0; trip < trips; trip++) {
                  socket.write(pooledCopy(message));
                  for (let got = 0; got < MESSAGE_SIZE; ) got += (await reader.next())?.length ?? Infinity;
                }
              }),
            );
            return;
          }
          await Promise.all(
            sockets.map((socket) =>
              callbackTrips(
                () => socket.write(message),
                (onData) => {
                  const previous = handlers.get(socket);
                  if (previous) socket.off('data', previous);
                  if (onData) {
                    const handler = (data: Uint8Array) => onData(data.length);
                    handlers.set(socket, handler);
                    socket.on('data', handler);
                  }
                },
                trips,
              ),
            ),
          );
          handlers = new Map();
        },
        async close() {
          const all = countdown(connections);
          served = all;
          await closeAll(sockets);
          await all.done;
        },
      };
    },
    async close() {
      server.close();
      await once(server, 'close');
    },
  };
}

async function writeAll(conn: DenoConn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; ) at += await conn.write(data.subarray(at));
}

async function denoRaw(): Promise<Contender> {
  const deno = denoNamespace();
  const listener = deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as { port: number }).port;
  let served: { tick(): void } = { tick() {} };
  const serve = async (conn: DenoConn): Promise<void> => {
    const buffer = new Uint8Array(65536);
    try {
      for (let size: number | null; (size = await conn.read(buffer)) !== null; ) await writeAll(conn, buffer.subarray(0, size));
    } finally {
      conn.close();
      served.tick();
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conn.setNoDelay?.(true);
        void serve(conn);
      }
    } catch {
      // The listener was closed.
    }
  })();
  const open = async (): Promise<DenoConn> => {
    const conn = await deno.connect({ hostname: HOST, port });
    conn.setNoDelay?.(true);
    return conn;
  };
  return {
    async churn(count) {
      const all = countdown(count);
      served = all;
      await inFlight(count, async () => (await open()).close());
      await all.done;
    },
    async echo(connections) {
      const conns = await openEach(connections, open);
      const buffers = conns.map(() => new Uint8Array(MESSAGE_SIZE));
      return {
        async pass(trips) {
          await Promise.all(
            conns.map(async (conn, i) => {
              const buffer = buffers[i]!;
              for (let trip = 0; trip < trips; trip++) {
                await writeAll(conn, message);
                for (let got = 0; got < MESSAGE_SIZE; ) {
                  const size = await conn.read(buffer.subarray(got));
                  if (size === null) throw new Error('the server closed the connection');
                  got += size;
                }
              }
            }),
          );
        },
        async close() {
          const all = countdown(connections);
          served = all;
          for (const conn of conns) conn.close();
          await all.done;
        },
      };
    },
    async close() {
      listener.close();
      await accepting;
    },
  };
}

async function bunRaw(): Promise<Contender> {
  const bun = bunNamespace();
  let served: { tick(): void } = { tick() {} };
  const listener = bun.listen({
    hostname: HOST,
    port: 0,
    socket: {
      data(socket, data) {
        if (socket.write(data) !== data.length) throw new Error('a partial write: this echo does not buffer');
      },
      close() {
        served.tick();
      },
    },
  });
  const handlers = new Map<BunSocket, ((size: number) => void) | null>();
  const closed = new Map<BunSocket, () => void>();
  const open = (): Promise<BunSocket> =>
    bun.connect({
      hostname: HOST,
      port: listener.port,
      socket: {
        data(socket, data) {
          handlers.get(socket)?.(data.length);
        },
        close(socket) {
          closed.get(socket)?.();
        },
      },
    });
  const closeAll = (sockets: BunSocket[]): Promise<void[]> =>
    Promise.all(
      sockets.map((socket) => {
        const done = new Promise<void>((resolve) => closed.set(socket, resolve));
        socket.end();
        return done;
      }),
    );
  return {
    async churn(count) {
      const all = countdown(count);
      served = all;
      await inFlight(count, async () => {
        await closeAll([await open()]);
      });
      closed.clear();
      await all.done;
    },
    async echo(connections) {
      const sockets = await openEach(connections, open);
      return {
        async pass(trips) {
          await Promise.all(
            sockets.map((socket) =>
              callbackTrips(
                () => {
                  if (socket.write(message) !== MESSAGE_SIZE) throw new Error('a partial write: this client does not buffer');
                },
                (onData) => handlers.set(socket, onData),
                trips,
              ),
            ),
          );
        },
        async close() {
          const all = countdown(connections);
          served = all;
          await closeAll(sockets);
          closed.clear();
          await all.done;
        },
      };
    },
    async close() {
      listener.stop(true);
    },
  };
}

/**
 * The floor over Bun's own sockets (`listen-floor`, round trips only): `Bun.listen` /
 * `Bun.connect` behind the same smallest asyncio-shaped loop as `floor` (one `await` per chunk
 * read on both ends, a pooled copy per write, an `await` of a resolved drain on the server),
 * writing as Bun's sockets allow (a write the kernel does not take whole fails the run: on
 * loopback with 1 KiB messages it does not happen).
 */
async function bunAwaited(): Promise<Contender> {
  const bun = bunNamespace();
  const send = (socket: BunSocket, data: Uint8Array): void => {
    if (socket.write(pooledCopy(data)) !== data.length) throw new Error('a partial write: this floor does not buffer');
  };
  const serve = async (socket: BunSocket, reader: AwaitedChunks): Promise<void> => {
    for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) {
      send(socket, chunk);
      await RESOLVED;
    }
    socket.end();
  };
  const handlers = {
    data: (socket: BunSocket, data: Uint8Array) => (socket.data as AwaitedChunks).received(data),
    end: (socket: BunSocket) => (socket.data as AwaitedChunks).ended(),
  };
  const listener = bun.listen({
    hostname: HOST,
    port: 0,
    socket: {
      ...handlers,
      open(socket) {
        const reader = new AwaitedChunks();
        socket.data = reader;
        void serve(socket, reader);
      },
    },
  });
  const closed = new Map<BunSocket, () => void>();
  return {
    churn: () => Promise.reject(new Error('listen-floor runs the round trips only')),
    async echo(connections) {
      const sockets = await openEach(connections, async () => {
        const socket = await bun.connect({ hostname: HOST, port: listener.port, socket: { ...handlers, close: (closing) => closed.get(closing)?.() } });
        socket.data = new AwaitedChunks();
        return socket;
      });
      return {
        async pass(trips) {
          await Promise.all(
            sockets.map(async (socket) => {
              const reader = socket.data as AwaitedChunks;
              for (let trip = 0; trip < trips; trip++) {
                send(socket, message);
                for (let got = 0; got < MESSAGE_SIZE; ) got += (await reader.next())?.length ?? Infinity;
              }
            }),
          );
        },
        async close() {
          await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
            closed.set(socket, resolve);
            socket.end();
          })));
        },
      };
    },
    async close() {
      listener.stop(true);
    },
  };
}

const RAW: Record<ReturnType<typeof runtimeKind>, { make: () => Promise<Contender>; label: string }> = {
  node: { make: nodeNet, label: 'raw `node:net`' },
  deno: { make: denoRaw, label: '`Deno.listen` / `Deno.connect`' },
  bun: { make: bunRaw, label: '`Bun.listen` / `Bun.connect`' },
};

/** Reps and warm-up passes of a workload, and the pass on a contender. */
interface Plan {
  reps: number;
  warmup: number;
  items: number;
  run(contender: Contender): Promise<{ pass(): Promise<void>; close(): Promise<void> }>;
}

function plan(workload: string): Plan | undefined {
  if (workload === 'connect') {
    return {
      reps: 3,
      warmup: 1,
      items: CONNECTIONS,
      run: async (contender) => ({ pass: () => contender.churn(CONNECTIONS), close: async () => {} }),
    };
  }
  const fanout = FANOUTS.find((n) => workload === `rt${n}`);
  if (!fanout) return undefined;
  const trips = ROUND_TRIPS / fanout;
  return {
    reps: 5,
    warmup: 1,
    items: ROUND_TRIPS,
    run: async (contender) => {
      const echo = await contender.echo(fanout);
      return { pass: () => echo.pass(trips), close: () => echo.close() };
    },
  };
}

/** What the `node-ours` variant is (Bun only). */
const NODE_OURS = 'ours over Bun\'s `node:net` (the Node adapter, the Bun entry before session 9) on both ends';

/** What the `listen-floor` variant is (see `bunAwaited()`). */
const LISTEN_FLOOR = 'the floor over `Bun.listen` / `Bun.connect`: as `floor`, over Bun\'s own sockets';

/** What the `floor` variant is (see `nodeNet()`). */
const FLOOR =
  'the floor: `node:net` with one `await` per chunk read on both ends, a pooled copy per write ' +
  '(write ownership) and an `await` of a resolved drain on the server';

function workloads(): Workload[] {
  const ours = 'ours: `openConnection()` and `startServer()` on both ends';
  const connect: Workload = {
    id: 'connect',
    name: 'open, accept, close',
    description:
      `${CONNECTIONS.toLocaleString('en')} connections over ${HOST}, ${IN_FLIGHT} at a time, client and server in one ` +
      'process: connect, accept, the client closes, the server reads EOF and closes; a pass ends when the server has ' +
      'closed them all. Median of 3 timed passes after 1 warm-up pass. Lower is better.',
    metrics: [{ label: 'µs/connection', per: 'time', scale: 1e6 }, CPU_METRIC('µs/connection')],
    variants: [],
    ratios: [],
  };
  const echoes = FANOUTS.map(
    (fanout): Workload => ({
      id: `rt${fanout}`,
      name: `round trips over ${fanout.toLocaleString('en')} connections`,
      description:
        `1 KiB echo round trips over ${fanout.toLocaleString('en')} connections opened beforehand, client and server in ` +
        `one process, one request in flight per connection (the client writes, then reads the ${MESSAGE_SIZE} bytes ` +
        `back; the server echoes what it reads); ${ROUND_TRIPS.toLocaleString('en')} round trips a pass. Median of 5 ` +
        'timed passes after 1 warm-up pass. Lower is better.',
      metrics: [{ label: 'µs/round trip', per: 'time', scale: 1e6 }, CPU_METRIC('µs/round trip')],
      variants: [],
      ratios: [],
    }),
  );
  for (const workload of [connect, ...echoes]) {
    const target = workload.id === 'connect' ? 1.5 : 1.3;
    for (const runtime of RUNTIMES) {
      const kind = runtime.id.startsWith('node') ? 'node' : (runtime.id as 'deno' | 'bun');
      const raw = RAW[kind].label;
      workload.variants.push(
        runtimeVariant(runtime, 'ours', ours, import.meta.url, [workload.id, 'ours']),
        runtimeVariant(runtime, 'raw', raw, import.meta.url, [workload.id, 'raw']),
      );
      const anchors = [{ id: 'raw', label: "ours / the runtime's sockets" }];
      if (kind !== 'node') {
        workload.variants.push(runtimeVariant(runtime, 'net', 'its own `node:net`', import.meta.url, [workload.id, 'net']));
        anchors.push({ id: 'net', label: 'ours / its `node:net`' });
      }
      if (kind === 'bun') {
        workload.variants.push(
          runtimeVariant(runtime, 'node-ours', NODE_OURS, import.meta.url, [workload.id, 'node-ours']),
          runtimeVariant(runtime, 'ours-copy', 'ours with every write copied by the writer (`_sendNow()` hidden)', import.meta.url, [workload.id, 'ours-copy']),
        );
        if (workload.id !== 'connect') {
          workload.variants.push(runtimeVariant(runtime, 'listen-floor', LISTEN_FLOOR, import.meta.url, [workload.id, 'listen-floor']));
          workload.ratios.push(
            { label: 'ours / the floor over Bun.listen', runtime: runtime.label, numerator: 'bun:ours', denominator: 'bun:listen-floor', target: { max: target } },
            { label: "the floor over Bun.listen / the runtime's sockets", runtime: runtime.label, numerator: 'bun:listen-floor', denominator: 'bun:raw' },
          );
        }
        workload.ratios.push(
          { label: "ours / ours over Bun's node:net", runtime: runtime.label, numerator: 'bun:ours', denominator: 'bun:node-ours' },
          { label: 'ours / the same copying every write', runtime: runtime.label, numerator: 'bun:ours', denominator: 'bun:ours-copy' },
        );
      }
      if (workload.id !== 'connect') {
        workload.variants.push(runtimeVariant(runtime, 'floor', FLOOR, import.meta.url, [workload.id, 'floor']));
        anchors.push({ id: 'floor', label: 'ours / the floor' });
      }
      for (const anchor of anchors) {
        for (const metric of [undefined, workload.metrics[1]!.label]) {
          const ratio: Ratio = {
            label: metric === undefined ? anchor.label : `${anchor.label}, CPU`,
            runtime: runtime.label,
            numerator: `${runtime.id}:ours`,
            denominator: `${runtime.id}:${anchor.id}`,
            target: { max: target },
            ...(metric === undefined ? {} : { metric }),
          };
          workload.ratios.push(ratio);
        }
      }
    }
  }
  return [connect, ...echoes];
}

export const benchmark: Benchmark = { name: 'connections', workloads: workloads() };

async function main(args: string[]): Promise<void> {
  const [workloadId = '', contenderId = '', reps, warmup] = args;
  const chosen = plan(workloadId);
  const contenders = new Map([
    ['ours', ours],
    ['raw', RAW[runtimeKind()].make],
    ['net', () => nodeNet()],
    ['floor', () => nodeNet(true)],
    ['node-ours', () => ours(loadNodeAdapter)],
    ['ours-copy', () => ours(loadCopyingBunEntry)],
    ['listen-floor', bunAwaited],
  ]);
  const make = contenders.get(contenderId);
  if (!chosen || make === undefined) {
    throw new Error(`usage: connections.bench.ts connect|rt10|rt100|rt1000 ours|raw|net|floor|node-ours|ours-copy|listen-floor [REPS] [WARMUP] (got ${args.join(' ')})`);
  }
  const contender = await make();
  const run = await chosen.run(contender);
  await measure(
    async () => {
      await run.pass();
      return { bytes: 0, items: chosen.items };
    },
    {
      warmup: warmup === undefined ? chosen.warmup : Number(warmup),
      reps: reps === undefined ? chosen.reps : Number(reps),
      expected: { bytes: 0, items: chosen.items },
      digest: workloadId,
    },
  );
  await run.close();
  await contender.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
