/**
 * Pipelined small writes: N writes of a few bytes (a RESP `SET` command as 7 writes, as a
 * Redis client pipelining N/7 commands writes them), then one `drain()`, into a loopback
 * socket whose peer counts and drops the bytes. A pass ends when the peer has them all. The
 * cost per write must stay flat as N grows (10k, 100k, 1M), on every runtime: a writer that
 * hands the stream one chunk per write pays for Node's `WritableStream` queue, which costs
 * O(queue length) per chunk it takes, so N writes cost O(N^2) there.
 *
 * A second workload, large writes, measures what the copy that `write()` takes costs in bulk:
 * 64 KiB writes each followed by `drain()`, against raw `node:net`, which copies nothing.
 *
 * `npm run bench -- writer` runs it through `run.ts` (Node, Deno and Bun, from their npm
 * packages). One variant alone: `node --import tsx bench/stream-writer.bench.ts WRITES [REPS] [WARMUP] [ours|raw|copy]`;
 * `copy` is the floor: the same parts copied into one buffer by a loop, with no writer or socket.
 */
import { once } from 'node:events';
import { connect, createServer, type Server as NetServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Benchmark, Ratio, Variant, Workload } from './_benchmark.ts';
import { measure } from './_measure.ts';

const SIZES = [10_000, 100_000, 1_000_000] as const;
const KINDS = ['ours', 'raw', 'copy', 'ours-large', 'raw-large'];
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

const file = new URL(import.meta.url).pathname;
const bin = (name: string): string => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const runtimes: Record<string, (writes: number) => string[]> = {
  node: (writes) => [process.execPath, '--import', 'tsx', file, String(writes)],
  deno: (writes) => [bin('deno'), 'run', '--allow-all', file, String(writes)],
  bun: (writes) => [bin('bun'), file, String(writes)],
};

/** The runtimes as the README tables and the chart name them (`node` is `npm run bench`'s Node, 20). */
const RUNTIME_LABELS: Record<string, string> = { node: 'Node 20', deno: 'Deno', bun: 'Bun' };

function variants(): Variant[] {
  const list: Variant[] = [];
  for (const writes of SIZES) {
    for (const [name, command] of Object.entries(runtimes)) {
      list.push({ id: `${name}-${writes}`, label: `ours on ${name}, ${writes.toLocaleString('en')} writes then drain()`, command: command(writes) });
    }
    for (const name of ['node', 'bun']) {
      list.push({ id: `copy-${name}-${writes}`, label: `floor on ${name}: copying the parts into one buffer, no socket`, command: [...runtimes[name]!(writes), '5', '2', 'copy'] });
    }
    list.push({ id: `raw-${writes}`, label: `raw node:net, ${writes.toLocaleString('en')} socket.write() corked`, command: [...runtimes.node!(writes), '5', '2', 'raw'] });
  }
  return list;
}

function ratios(): Ratio[] {
  const list: Ratio[] = [];
  for (const writes of SIZES) {
    list.push({ label: `node / bun at ${writes.toLocaleString('en')}`, numerator: `node-${writes}`, denominator: `bun-${writes}`, target: { min: 0.5 } });
    list.push({ label: `floor: node copy / bun copy at ${writes.toLocaleString('en')}`, numerator: `copy-node-${writes}`, denominator: `copy-bun-${writes}` });
    list.push({ label: `node / raw net at ${writes.toLocaleString('en')}`, numerator: `node-${writes}`, denominator: `raw-${writes}` });
  }
  for (const name of Object.keys(runtimes)) {
    const runtime = RUNTIME_LABELS[name]!;
    list.push({ label: 'per-write rate at 1M / at 10k (1 = flat)', runtime, numerator: `${name}-1000000`, denominator: `${name}-10000`, target: { min: 0.7 } });
    list.push({ label: 'ours / raw node:net (Node 20), 1M writes', runtime, numerator: `${name}-1000000`, denominator: 'raw-1000000' });
  }
  return list;
}

const workload: Workload = {
  id: 'pipelined',
  name: 'pipelined small writes',
  description:
    'N writes of 4-7 bytes (RESP SET commands, 7 writes each), then one drain(), into a loopback socket whose ' +
    'peer counts the bytes; a pass ends when all have arrived. Median of 5 timed passes after 2 warm-up passes.',
  metrics: [{ label: 'M writes/s', per: 'items', scale: 1e6 }, { label: 'MB/s', per: 'bytes', scale: 1e6 }],
  variants: variants(),
  ratios: ratios(),
};

const largeWorkload: Workload = {
  id: 'large',
  name: 'large writes',
  description:
    '256 MiB as 4,096 writes of 64 KiB, each followed by drain() (raw net: write() and, when it says full, ' +
    "'drain'), into a loopback socket whose peer counts the bytes. Ours copies each write (the caller may reuse " +
    'its buffer at once); raw net keeps a reference. Median of 5 timed passes after 2 warm-up passes.',
  metrics: [{ label: 'MB/s', per: 'bytes', scale: 1e6 }],
  variants: [
    ...Object.entries(runtimes).map(([name, command]): Variant => ({
      id: `${name}-large`,
      label: `ours on ${name}: write(64 KiB), drain()`,
      command: [...command(LARGE_WRITES), '5', '2', 'ours-large'],
    })),
    { id: 'raw-large', label: "raw node:net: write(64 KiB), 'drain' when full", command: [...runtimes.node!(LARGE_WRITES), '5', '2', 'raw-large'] },
  ],
  ratios: Object.keys(runtimes).map((name) => ({
    label: 'ours / raw node:net (Node 20)',
    runtime: RUNTIME_LABELS[name]!,
    numerator: `${name}-large`,
    denominator: 'raw-large',
  })),
};

export const benchmark: Benchmark = { name: 'StreamWriter', workloads: [workload, largeWorkload] };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
