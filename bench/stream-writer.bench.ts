/**
 * Pipelined small writes: N writes of a few bytes (a RESP `SET` command as 7 writes, as a
 * Redis client pipelining N/7 commands writes them), then one `drain()`, into a loopback
 * socket whose peer counts and drops the bytes. A pass ends when the peer has them all. The
 * cost per write must stay flat as N grows (10k, 100k, 1M), on every runtime: a writer that
 * hands the stream one chunk per write pays for Node's `WritableStream` queue, which costs
 * O(queue length) per chunk it takes, so N writes cost O(N^2) there.
 *
 * A second workload, large writes, measures what the copy that `write()` takes costs in bulk:
 * 64 KiB writes each followed by `drain()`, against the runtime's `node:net` (and on Deno
 * `conn.write()`), which copy nothing.
 *
 * `npm run bench -- writer` runs it through `run.ts` on Node 20, 22, 24 and 26, Deno and Bun,
 * each against its own `node:net`. One variant alone:
 * `node --import tsx bench/stream-writer.bench.ts WRITES [REPS] [WARMUP] [ours|raw|copy|ours-large|raw-large|conn-large]`;
 * `copy` is the floor: the same parts copied into one buffer by a loop, with no writer or socket.
 */
import { once } from 'node:events';
import { connect, createServer, type Server as NetServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Benchmark, Ratio, Variant, Workload } from './_benchmark.ts';
import { measure } from './_measure.ts';
import { RUNTIMES, runtimeVariant, type Runtime } from './_runtimes.ts';
import { denoNamespace } from '../lib/runtime/deno/namespace.ts';

const SIZES = [10_000, 100_000, 1_000_000] as const;
const KINDS = ['ours', 'raw', 'copy', 'ours-large', 'raw-large', 'conn-large'];
/** The large-writes workload: 4,096 writes of 64 KiB (256 MiB), each followed by drain(). */
const LARGE_WRITE = 65536;
const LARGE_WRITES = 4096;
const COMMAND = (i: number): string[] => ['*3\r\n', '$3\r\n', 'SET\r\n', '$5\r\n', `k${String(i % 10_000).padStart(4, '0')}\r\n`, '$1\r\n', 'v\r\n'];

/** The parts of N/7 commands, encoded once: the pass measures writing, not encoding. */
function parts(writes: number): Uint8Array[] {
  const encoder = new TextEncoder();
  const all: Uint8Array[] = [];
  for (let i = 0; all.length < writes; i += 1) for (const part of COMMAND(i)) if (all.length < writes) all.push(encoder.encode(part));
  return all;
}

/** A peer that counts what arrives and tells when `expected` bytes have. */
async function countingPeer(): Promise<{ server: NetServer; port: number; waitFor(bytes: number): Promise<void> }> {
  let received = 0;
  let waiting: { bytes: number; resolve(): void } | null = null;
  const server = createServer((socket) => {
    socket.on('data', (chunk: Uint8Array) => {
      received += chunk.byteLength;
      if (waiting !== null && received >= waiting.bytes) {
        waiting.resolve();
        waiting = null;
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    waitFor: (bytes) => {
      const target = received + bytes;
      if (received >= target) return Promise.resolve();
      return new Promise<void>((resolve) => (waiting = { bytes: target, resolve }));
    },
  };
}

async function main(args: string[]): Promise<void> {
  const [writesArg = '', reps = '5', warmup = '2', kind = 'ours'] = args;
  if (!KINDS.includes(kind)) throw new Error(`unknown kind '${kind}': ${KINDS.join(', ')}`);
  const writes = Number(writesArg);
  if (!Number.isSafeInteger(writes) || writes <= 0) throw new Error(`usage: stream-writer.bench.ts WRITES [REPS] [WARMUP] [${KINDS.join('|')}] (got ${args.join(' ')})`);
  const large = kind.endsWith('-large');
  const chunks = large ? Array<Uint8Array>(writes).fill(new Uint8Array(LARGE_WRITE).fill(120)) : parts(writes);
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const peer = await countingPeer();
  let pass: () => Promise<{ bytes: number; items: number }>;
  let finish: () => void;
  if (kind === 'copy') {
    // The floor on this runtime: only the copying, each part into one buffer, no socket at all.
    const into = new Uint8Array(bytes);
    pass = async () => {
      let offset = 0;
      for (const chunk of chunks) {
        for (let i = 0; i < chunk.byteLength; i += 1) into[offset + i] = chunk[i]!;
        offset += chunk.byteLength;
      }
      return { bytes: offset, items: writes };
    };
    finish = () => {};
  } else if (kind === 'raw-large') {
    // The floor for large writes: raw node:net, which keeps a reference to each chunk instead
    // of a copy (the caller must not touch it until it is sent), waiting for 'drain' when full.
    const socket = connect(peer.port, '127.0.0.1');
    await once(socket, 'connect');
    pass = async () => {
      const arrived = peer.waitFor(bytes);
      for (const chunk of chunks) if (!socket.write(chunk)) await once(socket, 'drain');
      await arrived;
      return { bytes, items: writes };
    };
    finish = () => socket.destroy();
  } else if (kind === 'conn-large') {
    // Deno's own sockets: conn.write() takes what the socket has room for, and says how much.
    const conn = await denoNamespace().connect({ hostname: '127.0.0.1', port: peer.port });
    pass = async () => {
      const arrived = peer.waitFor(bytes);
      for (const chunk of chunks) for (let at = 0; at < chunk.byteLength; ) at += await conn.write(chunk.subarray(at));
      await arrived;
      return { bytes, items: writes };
    };
    finish = () => conn.close();
  } else if (kind === 'ours-large') {
    const { openConnection } = (await import(runtimeModule())) as typeof import('../lib/runtime/node.ts');
    const [, writer] = await openConnection('127.0.0.1', peer.port);
    pass = async () => {
      const arrived = peer.waitFor(bytes);
      for (const chunk of chunks) {
        writer.write(chunk);
        await writer.drain();
      }
      await arrived;
      return { bytes, items: writes };
    };
    finish = () => writer.close();
  } else if (kind === 'raw') {
    // The floor: raw node:net, one socket.write() per part, corked for the burst.
    const socket = connect(peer.port, '127.0.0.1');
    await once(socket, 'connect');
    pass = async () => {
      const arrived = peer.waitFor(bytes);
      socket.cork();
      for (const chunk of chunks) socket.write(chunk);
      socket.uncork();
      await arrived;
      return { bytes, items: writes };
    };
    finish = () => socket.destroy();
  } else {
    const { openConnection } = (await import(runtimeModule())) as typeof import('../lib/runtime/node.ts');
    const [, writer] = await openConnection('127.0.0.1', peer.port);
    pass = async () => {
      const arrived = peer.waitFor(bytes);
      for (const chunk of chunks) writer.write(chunk);
      await writer.drain();
      await arrived;
      return { bytes, items: writes };
    };
    finish = () => writer.close();
  }
  await measure(pass, { warmup: Number(warmup), reps: Number(reps), expected: { bytes, items: writes }, digest: `writes-${writes}` });
  finish();
  peer.server.close();
  // The peer's sockets may linger; the result is out.
  process.exit(0);
}

/** The adapter of the runtime this process runs on, as the package's `exports` pick it. */
function runtimeModule(): string {
  if ('Deno' in globalThis) return '../lib/runtime/deno.ts';
  if ('Bun' in globalThis) return '../lib/runtime/bun.ts';
  return '../lib/runtime/node.ts';
}

/** The runtimes whose copy floor is measured: the two whose copy loops differ most (V8, JSC). */
const COPY_FLOOR_RUNTIMES = ['node20', 'bun'];

/** `runtime:kind-n` for N writes (`runtime:kind` for the large workload). */
const id = (runtime: Runtime, kind: string, writes?: number): string => `${runtime.id}:${kind}${writes === undefined ? '' : `-${writes}`}`;

function variants(): Variant[] {
  const list: Variant[] = [];
  for (const runtime of RUNTIMES) {
    for (const writes of SIZES) {
      const n = writes.toLocaleString('en');
      list.push(runtimeVariant(runtime, `ours-${writes}`, `ours, ${n} writes then drain()`, import.meta.url, [String(writes)]));
      list.push(runtimeVariant(runtime, `raw-${writes}`, `its node:net, ${n} socket.write() corked`, import.meta.url, [String(writes), '5', '2', 'raw']));
      if (COPY_FLOOR_RUNTIMES.includes(runtime.id)) {
        list.push(runtimeVariant(runtime, `copy-${writes}`, 'the floor: the parts copied into one buffer, no socket', import.meta.url, [String(writes), '5', '2', 'copy']));
      }
    }
  }
  return list;
}

function ratios(): Ratio[] {
  const node20 = RUNTIMES.find((runtime) => runtime.id === 'node20')!;
  const bun = RUNTIMES.find((runtime) => runtime.id === 'bun')!;
  const list: Ratio[] = [];
  for (const writes of SIZES) {
    const n = writes.toLocaleString('en');
    list.push({ label: `ours, Node 20 / Bun at ${n}`, numerator: id(node20, 'ours', writes), denominator: id(bun, 'ours', writes), target: { min: 0.5 } });
    list.push({ label: `floor: Node 20 copy / Bun copy at ${n}`, numerator: id(node20, 'copy', writes), denominator: id(bun, 'copy', writes) });
  }
  for (const runtime of RUNTIMES) {
    list.push({ label: 'per-write rate at 1M / at 10k (1 = flat)', runtime: runtime.label, numerator: id(runtime, 'ours', 1_000_000), denominator: id(runtime, 'ours', 10_000), target: { min: 0.7 } });
    for (const writes of [10_000, 1_000_000]) {
      list.push({ label: `ours / its node:net, ${writes.toLocaleString('en')} writes`, runtime: runtime.label, numerator: id(runtime, 'ours', writes), denominator: id(runtime, 'raw', writes) });
    }
  }
  return list;
}

const workload: Workload = {
  id: 'pipelined',
  name: 'pipelined small writes',
  description:
    'N writes of 4-7 bytes (RESP SET commands, 7 writes each), then one drain(), into a loopback socket whose ' +
    "peer counts the bytes; a pass ends when all have arrived. The anchor is each runtime's own node:net, " +
    "socket.write() per part, corked for the burst (Deno's conn.write() and Bun's socket.write() buffer nothing: " +
    'a system call per part, which no one pipelines with). Median of 5 timed passes after 2 warm-up passes.',
  metrics: [{ label: 'M writes/s', per: 'items', scale: 1e6 }, { label: 'MB/s', per: 'bytes', scale: 1e6 }],
  variants: variants(),
  ratios: ratios(),
};

const largeWorkload: Workload = {
  id: 'large',
  name: 'large writes',
  description:
    '256 MiB as 4,096 writes of 64 KiB, each followed by drain() (node:net: write() and, when it says full, ' +
    "'drain'; Deno: conn.write() until all is taken), into a loopback socket whose peer counts the bytes. Ours " +
    'copies each write (the caller may reuse its buffer at once); the anchors keep a reference. Median of 5 timed ' +
    'passes after 2 warm-up passes.',
  metrics: [{ label: 'MB/s', per: 'bytes', scale: 1e6 }],
  variants: RUNTIMES.flatMap((runtime) => [
    runtimeVariant(runtime, 'ours-large', 'ours: write(64 KiB), drain()', import.meta.url, [String(LARGE_WRITES), '5', '2', 'ours-large']),
    runtimeVariant(runtime, 'raw-large', "its node:net: write(64 KiB), 'drain' when full", import.meta.url, [String(LARGE_WRITES), '5', '2', 'raw-large']),
    ...(runtime.id === 'deno' ? [runtimeVariant(runtime, 'conn-large', 'Deno.connect: conn.write(64 KiB) until taken', import.meta.url, [String(LARGE_WRITES), '5', '2', 'conn-large'])] : []),
  ]),
  ratios: [
    ...RUNTIMES.map((runtime): Ratio => ({ label: 'ours / its node:net', runtime: runtime.label, numerator: id(runtime, 'ours-large'), denominator: id(runtime, 'raw-large') })),
    { label: 'ours / Deno.connect', runtime: 'Deno', numerator: 'deno:ours-large', denominator: 'deno:conn-large' },
  ],
};

export const benchmark: Benchmark = { name: 'StreamWriter', workloads: [workload, largeWorkload] };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
