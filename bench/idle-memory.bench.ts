/**
 * What an idle connection holds (issue 14, point 5): 9,900 connection pairs over 127.0.0.1,
 * client and server in one process, opened and then left alone; JS heap and RSS per pair
 * after garbage collection, against the runtime's own sockets (raw `node:net`, Deno's and
 * Bun's, and on those two their `node:net` as well: `net`), CPython 3.13 asyncio streams and
 * uvloop (`idle_pairs.py`).
 *
 * 9,900 and not 10,000: a pair is two descriptors, and this machine's hard limit is 20,000
 * open files a process (not raisable in its container); the figures are per pair anyway.
 *
 * `npm run bench -- idle` runs every variant through `run.ts`. One variant alone:
 * `node --expose-gc --import tsx bench/idle-memory.bench.ts ours|ours-waiting|raw|net [PAIRS]`;
 * `... breakdown [PAIRS]` (Node) counts, from two heap snapshots, what objects one idle pair
 * of ours adds, by constructor (default 1,000 pairs).
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, Ratio, Result, Variant } from './_benchmark.ts';
import { bunNamespace, loadNodeAdapter, type BunSocket, type ConnectionFunctions } from './_bun.ts';
import { pythonPath } from './_net-process.ts';
import { IN_FLIGHT, openEach } from './_open-each.ts';
import { loadRuntimeLibrary, runtimeKind, runtimeName, runtimeVariant, RUNTIMES } from './_runtimes.ts';
import { denoNamespace, type DenoConn } from '../lib/runtime/deno/namespace.ts';

const HOST = '127.0.0.1';
const PAIRS = 9_900;
/**
 * V8's young generation capped at 8 MiB a semi-space. Opening pairs in a burst grows it to its
 * working size (32 MB for ours, 16 for raw sockets on Node 24 and Deno), memory that stays
 * resident but does not grow with the number of connections; with the cap, what is left is
 * what the pairs themselves hold.
 */
const YOUNG_CAPPED = ['--max-semi-space-size=8'];

/** Opens pairs and keeps both ends referenced; `close()` ends the process's sockets. */
interface Opener {
  open(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Resolves once `count` server ends have been accepted: `accepted()` counts one. */
function acceptedCount(): { accepted(): void; until(count: number): Promise<void> } {
  let total = 0;
  let waiting: { count: number; resolve(): void } | null = null;
  return {
    accepted() {
      total++;
      if (waiting && total >= waiting.count) waiting.resolve();
    },
    until(count) {
      if (total >= count) return Promise.resolve();
      return new Promise((resolve) => (waiting = { count, resolve }));
    },
  };
}

/**
 * `waiting`: each server end awaits `readline()`, as a server waiting for a request does.
 * `load`: the library's entry for this runtime, or on Bun the Node adapter over its `node:net` (`node-ours`).
 */
async function ours(waiting: boolean, load: () => Promise<{ library: ConnectionFunctions; remove(): void }> = loadRuntimeLibrary): Promise<Opener> {
  const { library, remove } = await load();
  const { openConnection, startServer } = library;
  const counter = acceptedCount();
  const held: unknown[] = [];
  const server = await startServer(
    (reader, writer) => {
      held.push(reader, writer);
      counter.accepted();
      if (waiting) reader.readline().catch(() => {});
    },
    HOST,
    0,
  );
  const port = server.sockets[0]!.getsockname()[1] as number;
  return {
    async open(count) {
      held.push(...(await openEach(count, () => openConnection(HOST, port))));
      await counter.until(count);
    },
    async close() {
      server.close();
      remove();
    },
  };
}

async function nodeNet(): Promise<Opener> {
  const counter = acceptedCount();
  const held: Socket[] = [];
  const server = createServer((socket) => {
    held.push(socket);
    counter.accepted();
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    async open(count) {
      held.push(
        ...(await openEach(count, async () => {
          const socket = connect(port, HOST);
          await once(socket, 'connect');
          return socket;
        })),
      );
      await counter.until(count);
    },
    async close() {
      for (const socket of held) socket.destroy();
      server.close();
    },
  };
}

async function denoRaw(): Promise<Opener> {
  const deno = denoNamespace();
  const listener = deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as { port: number }).port;
  const held: DenoConn[] = [];
  const counter = acceptedCount();
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        held.push(conn);
        counter.accepted();
      }
    } catch {
      // The listener was closed.
    }
  })();
  return {
    async open(count) {
      held.push(...(await openEach(count, () => deno.connect({ hostname: HOST, port }))));
      await counter.until(count);
    },
    async close() {
      for (const conn of held) conn.close();
      listener.close();
      await accepting;
    },
  };
}

async function bunRaw(): Promise<Opener> {
  const bun = bunNamespace();
  const counter = acceptedCount();
  const held: BunSocket[] = [];
  const listener = bun.listen({
    hostname: HOST,
    port: 0,
    socket: {
      open(socket) {
        held.push(socket);
        counter.accepted();
      },
      // Bun wants a data handler; an idle pair never calls it.
      data() {},
    },
  });
  return {
    async open(count) {
      held.push(...(await openEach(count, () => bun.connect({ hostname: HOST, port: listener.port, socket: { data() {} } }))));
      await counter.until(count);
    },
    async close() {
      for (const socket of held) socket.end();
      listener.stop(true);
    },
  };
}

const RAW = { node: nodeNet, deno: denoRaw, bun: bunRaw };

/** Collects garbage for sure, several times with turns of the event loop in between (finalizers, timers). */
async function collect(): Promise<void> {
  const gc = runtimeKind() === 'bun' ? () => bunNamespace().gc(true) : (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('no gc(): run Node with --expose-gc, Deno with --v8-flags=--expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function measurePairs(opener: Opener, pairs: number): Promise<Result> {
  await collect();
  const before = process.memoryUsage();
  const start = performance.now();
  await opener.open(pairs);
  const seconds = (performance.now() - start) / 1000;
  await collect();
  const after = process.memoryUsage();
  const usage = process.resourceUsage();
  return {
    seconds,
    passes: [seconds],
    bytes: 0,
    items: pairs,
    digest: `idle-${pairs}`,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    maxRssMB: usage.maxRSS / 1024,
    runtime: runtimeName(),
    values: {
      heapPerPair: (after.heapUsed - before.heapUsed) / pairs,
      rssPerPair: (after.rss - before.rss) / pairs,
      externalPerPair: (after.external - before.external) / pairs,
    },
  };
}

/** Node heap snapshot, reduced to a count and self size per `type:name` of node. */
async function heapCensus(): Promise<Map<string, { count: number; bytes: number }>> {
  const { getHeapSnapshot } = await import('node:v8');
  let text = '';
  for await (const chunk of getHeapSnapshot()) text += String(chunk);
  const snapshot = JSON.parse(text) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const types = snapshot.snapshot.meta.node_types[0];
  const census = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    // A closure's name is its function's: group them all, the count is what matters.
    const name = type === 'closure' ? '(closures)' : snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const key = `${type}:${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
    const entry = census.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    census.set(key, entry);
  }
  return census;
}

/** Kinds of object an idle connection need not hold until it is used (issue 14, point 5). */
const WATCHED = /Stream|Promise|closures|Context|Timeout|Timer|Finalization|WeakCell|WeakRef|Abort|Reaction/;

/** What one idle pair of ours adds to the heap, by kind of object: a Markdown table on stdout. */
async function breakdown(pairs: number, waiting: boolean): Promise<void> {
  const opener = await ours(waiting);
  await collect();
  const before = await heapCensus();
  await opener.open(pairs);
  await collect();
  const after = await heapCensus();
  const rows = [...after]
    .map(([key, { count, bytes }]) => {
      const base = before.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (count - base.count) / pairs, bytes: (bytes - base.bytes) / pairs };
    })
    .filter((entry) => entry.count >= 0.5)
    .sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, entry) => sum + entry.bytes, 0);
  console.log(`What one idle pair of ours adds (${pairs} pairs, ${waiting ? 'server ends awaiting readline()' : 'nothing pending'}, ${runtimeName()}): ${(total / 1024).toFixed(1)} KiB in the rows below\n`);
  console.log('| kind:name | per pair | bytes per pair |\n| --- | ---: | ---: |');
  const print = (entry: (typeof rows)[number]) => console.log(`| \`${entry.key}\` | ${entry.count.toFixed(1)} | ${Math.round(entry.bytes)} |`);
  rows.slice(0, 40).forEach(print);
  console.log('\nThe kinds the laziness work is about:\n\n| kind:name | per pair | bytes per pair |\n| --- | ---: | ---: |');
  rows.filter((entry) => WATCHED.test(entry.key)).forEach(print);
  await opener.close();
}

const cpythonScript = new URL('./idle_pairs.py', import.meta.url);

function pythonVariants(): Variant[] {
  return [
    {
      id: 'cpython313',
      label: 'CPython 3.13.0 (pyenv) asyncio streams: `start_server` / `open_connection`, both ends held',
      command: [pythonPath('3.13.0'), fileURLToPath(cpythonScript), 'asyncio', String(PAIRS)],
    },
    {
      id: 'uvloop',
      label: "uvloop (Debian's python3-uvloop on CPython 3.11), the same streams",
      command: ['/usr/bin/python3', fileURLToPath(cpythonScript), 'uvloop', String(PAIRS)],
    },
  ];
}

function variantsAndRatios(): { variants: Variant[]; ratios: Ratio[] } {
  const variants: Variant[] = [];
  const ratios: Ratio[] = [];
  for (const runtime of RUNTIMES) {
    const raw = runtime.id.startsWith('node') ? 'raw `node:net`' : runtime.id === 'deno' ? '`Deno.listen` / `Deno.connect`' : '`Bun.listen` / `Bun.connect`';
    const variant = (id: string, label: string, mode = id, v8Flags: readonly string[] = []) =>
      runtimeVariant(runtime, id, label, import.meta.url, [mode, String(PAIRS)], { exposeGc: true, v8Flags });
    const v8 = runtime.id !== 'bun';
    // Off Node, the runtime's own `node:net` too: Deno's and Bun's `node:net` are the alternative their users have.
    const ownNet = !runtime.id.startsWith('node');
    variants.push(
      variant('ours', 'ours: `openConnection()` / `startServer()`, both ends held, nothing pending'),
      variant('ours-waiting', 'ours, each server end awaiting `readline()`'),
      variant('raw', `${raw}, both ends held`),
      ...(ownNet ? [variant('net', `${runtime.label}'s \`node:net\`, both ends held`)] : []),
      ...(runtime.id === 'bun' ? [variant('node-ours', "ours over Bun's `node:net` (the Node adapter, the Bun entry before session 9), both ends held")] : []),
      ...(v8
        ? [
            variant('ours-young8', `ours, V8's young generation capped (\`${YOUNG_CAPPED.join(' ')}\`)`, 'ours', YOUNG_CAPPED),
            variant('raw-young8', `${raw}, the same cap`, 'raw', YOUNG_CAPPED),
          ]
        : []),
    );
    const pair = (numerator: string, denominator: string, label: string, metric: string, max?: number): Ratio => ({
      label,
      runtime: runtime.label,
      numerator: `${runtime.id}:${numerator}`,
      denominator,
      metric,
      ...(max === undefined ? {} : { target: { max } }),
    });
    ratios.push(
      pair('ours', `${runtime.id}:raw`, "ours / the runtime's sockets", 'heap KiB/pair', 3),
      pair('ours-waiting', `${runtime.id}:raw`, "ours-waiting / the runtime's sockets", 'heap KiB/pair'),
      // On Bun, heap ≤ 3× its own `node:net` (the restatement: Bun.listen's pair is smaller than the core's objects).
      ...(ownNet ? [pair('ours', `${runtime.id}:net`, "ours / the runtime's node:net", 'heap KiB/pair', runtime.id === 'bun' ? 3 : undefined)] : []),
      ...(runtime.id === 'bun' ? [pair('ours', 'bun:node-ours', "ours / ours over Bun's node:net", 'heap KiB/pair')] : []),
      pair('ours', `${runtime.id}:raw`, "ours / the runtime's sockets", 'RSS KiB/pair'),
      pair('ours', 'cpython313', 'ours / CPython 3.13', 'RSS KiB/pair', 1),
      pair('ours', 'uvloop', 'ours / uvloop', 'RSS KiB/pair'),
      ...(v8
        ? [
            pair('ours-young8', 'cpython313', 'ours-young8 / CPython 3.13', 'RSS KiB/pair'),
            pair('ours-young8', `${runtime.id}:raw-young8`, "ours-young8 / the runtime's sockets, same cap", 'RSS KiB/pair'),
          ]
        : []),
    );
  }
  return { variants: [...variants, ...pythonVariants()], ratios };
}

export const benchmark: Benchmark = {
  name: 'idle-memory',
  workloads: [
    {
      id: 'idle',
      name: 'idle connection pairs',
      description:
        `${PAIRS.toLocaleString('en')} connection pairs over ${HOST}, client and server in one process, ` +
        `opened ${IN_FLIGHT} at a time and then left idle with both ends referenced; JS heap used and RSS after ` +
        'garbage collection (four collections with event-loop turns between), minus the same before opening, per ' +
        'pair. CPython and uvloop report RSS only. One measurement per process. Lower is better.',
      metrics: [
        { label: 'heap KiB/pair', per: 'value', value: 'heapPerPair', scale: 1024 },
        { label: 'RSS KiB/pair', per: 'value', value: 'rssPerPair', scale: 1024 },
        { label: 'external KiB/pair', per: 'value', value: 'externalPerPair', scale: 1024 },
      ],
      ...variantsAndRatios(),
    },
  ],
};

async function main(args: string[]): Promise<void> {
  const [mode = '', pairsArg] = args;
  const pairs = pairsArg === undefined ? (mode === 'breakdown' ? 1000 : PAIRS) : Number(pairsArg);
  if (mode === 'breakdown' || mode === 'breakdown-waiting') {
    await breakdown(pairs, mode === 'breakdown-waiting');
    process.exit(0);
  }
  if (mode !== 'ours' && mode !== 'ours-waiting' && mode !== 'raw' && mode !== 'net' && mode !== 'node-ours') {
    throw new Error(`usage: idle-memory.bench.ts ours|ours-waiting|raw|net|node-ours|breakdown|breakdown-waiting [PAIRS] (got ${args.join(' ')})`);
  }
  const opener =
    mode === 'raw'
      ? await RAW[runtimeKind()]()
      : mode === 'net'
        ? await nodeNet()
        : mode === 'node-ours'
          ? await ours(false, loadNodeAdapter)
          : await ours(mode === 'ours-waiting');
  const result = await measurePairs(opener, pairs);
  console.log(`RESULT ${JSON.stringify(result)}`);
  await opener.close();
  // Closing 20,000 sockets one by one measures nothing: the process's end closes them.
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
