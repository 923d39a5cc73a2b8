/**
 * StreamReader throughput against what a user would use instead: W1 `readline()` over 64 MiB of
 * ~80-byte lines, W2 `readexactly()` over 200,000 length-prefixed frames, both in 64 KiB chunks.
 *
 * `npm run bench -- reader` runs it through `run.ts`. One variant alone, for profiling:
 * `node --import tsx bench/stream-reader.bench.ts w1 ours-push [REPS] [WARMUP]`.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { StreamReader } from '../lib/index.ts';
import { nodeVariant, pythonVariant, type Benchmark, type Ratio, type Variant } from './_benchmark.ts';
import { frameInput, lineInput, FRAME_COUNT, type ChunkedInput } from './_data.ts';
import { measure, type Outcome } from './_measure.ts';
import { RUNTIMES, runtimeVariant, THIS_NODE } from './_runtimes.ts';

type Pass = (input: ChunkedInput) => Promise<Outcome> | Outcome;

const CPYTHON_313 = { python: 'python3', pyenvVersion: '3.13.0' };
/** Debian's build, the one perf-baselines.md measured: PGO/LTO, ~2x faster than pyenv's 3.13.0 here. */
const CPYTHON_311 = { python: '/usr/bin/python3' };
const cpythonScript = new URL('./cpython_reader.py', import.meta.url).href;

/** Feeds one chunk per event-loop turn, so the reader drains what is complete and then waits. */
async function feedPerTurn(reader: StreamReader, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    reader.feedData(chunk);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  reader.feedEof();
}

/**
 * A byte stream that hands out one input chunk per pull, copying it into the BYOB view it is
 * offered (what a socket source does); without a view it enqueues a copy, because enqueueing
 * into a byte stream transfers the chunk's buffer and the next pass needs it.
 */
function byteStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  let offset = 0;
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      const request = controller.byobRequest;
      if (index === chunks.length) {
        controller.close();
        // A pending BYOB read only settles on close once the request is answered.
        request?.respond(0);
        return;
      }
      const chunk = chunks[index]!;
      let taken: number;
      if (request?.view) {
        const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength);
        taken = Math.min(view.length, chunk.length - offset);
        view.set(chunk.subarray(offset, offset + taken));
        request.respond(taken);
      } else {
        taken = chunk.length - offset;
        controller.enqueue(chunk.slice(offset));
      }
      offset += taken;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    },
  });
}

function defaultStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) controller.enqueue(chunks[index++]!);
      else controller.close();
    },
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/**
 * What the `await-*` variants hand each result through: the cheapest promise an async read
 * API can return, so they show what one `await` per line or frame costs on this runtime.
 */
function handOver<T>(value: T): Promise<T> {
  return Promise.resolve(value);
}

const OWNED_POOL_SIZE = 65536;
let ownedPool = new Uint8Array(OWNED_POOL_SIZE);
let ownedPoolUsed = 0;

/** A copy of `line` in a shared pool, as pooled `Buffer`s (and our results) are made. */
function ownedCopy(line: Uint8Array): Uint8Array {
  if (ownedPoolUsed + line.length > OWNED_POOL_SIZE) {
    ownedPool = new Uint8Array(Math.max(OWNED_POOL_SIZE, line.length));
    ownedPoolUsed = 0;
  }
  const copy = ownedPool.subarray(ownedPoolUsed, ownedPoolUsed + line.length);
  copy.set(line);
  ownedPoolUsed += line.length;
  return copy;
}

/**
 * The hand-written sync loop: `indexOf(10)`, one `subarray` per line, copies only across
 * chunks. With `owned`, each line is copied into a shared pool (see `ownedCopy()`), as the
 * lines of a reader whose results stay valid are.
 */
function syncIndexOf(chunks: readonly Uint8Array[], owned: boolean): { bytes: number; items: number } {
  let lines = 0;
  let bytes = 0;
  let carry: Uint8Array | null = null;
  for (const chunk of chunks) {
    let from = 0;
    let end: number;
    while ((end = chunk.indexOf(10, from)) !== -1) {
      let line = chunk.subarray(from, end + 1);
      if (carry) {
        line = concat(carry, line);
        carry = null;
      }
      if (owned) line = ownedCopy(line);
      lines++;
      bytes += line.length;
      from = end + 1;
    }
    if (from < chunk.length) carry = carry ? concat(carry, chunk.subarray(from)) : chunk.slice(from);
  }
  return { bytes: bytes + (carry?.length ?? 0), items: lines + (carry ? 1 : 0) };
}

/**
 * The floor of any `for await` over lines: `sync-indexof`'s work per line, done in a
 * hand-written iterator whose `next()` returns `Promise.resolve({ value, done })`. With
 * `owned`, each line is first copied into a shared 64 KiB pool and handed out as a view of
 * it: the least a reader whose lines belong to the caller (as ours do) must add.
 */
function syncLines(chunks: readonly Uint8Array[], owned = false): AsyncIterableIterator<Uint8Array> {
  let index = 0;
  let from = 0;
  let carry: Uint8Array | null = null;
  const lines: AsyncIterableIterator<Uint8Array> = {
    next(): Promise<IteratorResult<Uint8Array>> {
      while (index < chunks.length) {
        const chunk = chunks[index]!;
        const end = chunk.indexOf(10, from);
        if (end !== -1) {
          let line = chunk.subarray(from, end + 1);
          if (carry) {
            line = concat(carry, line);
            carry = null;
          }
          from = end + 1;
          return Promise.resolve({ value: owned ? ownedCopy(line) : line, done: false });
        }
        if (from < chunk.length) carry = carry ? concat(carry, chunk.subarray(from)) : chunk.slice(from);
        index++;
        from = 0;
      }
      if (carry) {
        const value = carry;
        carry = null;
        return Promise.resolve({ value, done: false });
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]: () => lines,
  };
  return lines;
}

async function readAllLines(reader: StreamReader): Promise<Outcome> {
  let lines = 0;
  let bytes = 0;
  let line: Uint8Array;
  while ((line = await reader.readline()).length) {
    lines++;
    bytes += line.length;
  }
  return { bytes, items: lines };
}

const readlinePasses: Record<string, Pass> = {
  async 'ours-push'({ chunks, itemsEndingIn }) {
    const reader = new StreamReader();
    let lines = 0;
    let bytes = 0;
    for (let i = 0; i < chunks.length; i++) {
      reader.feedData(chunks[i]!);
      for (let k = itemsEndingIn[i]!; k > 0; k--) {
        const line = await reader.readline();
        lines++;
        bytes += line.length;
      }
    }
    reader.feedEof();
    const rest = await readAllLines(reader);
    return { bytes: bytes + rest.bytes, items: lines + rest.items };
  },

  async 'ours-push-wait'({ chunks }) {
    const reader = new StreamReader();
    const feeding = feedPerTurn(reader, chunks);
    const outcome = await readAllLines(reader);
    await feeding;
    return outcome;
  },

  'ours-pull-bytes': ({ chunks }) => readAllLines(StreamReader.from(byteStream(chunks))),

  'ours-pull-default': ({ chunks }) => readAllLines(StreamReader.from(defaultStream(chunks))),

  async 'ours-forawait'({ chunks }) {
    let lines = 0;
    let bytes = 0;
    for await (const line of StreamReader.from(defaultStream(chunks))) {
      lines++;
      bytes += line.length;
    }
    return { bytes, items: lines };
  },

  async 'ours-nowait'({ chunks }) {
    const reader = StreamReader.from(defaultStream(chunks));
    let lines = 0;
    let bytes = 0;
    for (;;) {
      const line = reader.readlineNowait() ?? (await reader.readline());
      if (line.length === 0) break;
      lines++;
      bytes += line.length;
    }
    return { bytes, items: lines };
  },

  async 'hand-iterator'({ chunks }) {
    let lines = 0;
    let bytes = 0;
    for await (const line of syncLines(chunks)) {
      lines++;
      bytes += line.length;
    }
    return { bytes, items: lines };
  },

  async 'hand-iterator-owned'({ chunks }) {
    let lines = 0;
    let bytes = 0;
    for await (const line of syncLines(chunks, true)) {
      lines++;
      bytes += line.length;
    }
    return { bytes, items: lines };
  },

  async 'node-readline'({ chunks }) {
    const rl = createInterface({ input: Readable.from(chunks), crlfDelay: Infinity });
    let lines = 0;
    let bytes = 0;
    rl.on('line', (line: string) => {
      lines++;
      // The input is ASCII, so a line's bytes are its UTF-16 length plus the '\n' readline strips.
      bytes += line.length + 1;
    });
    await once(rl, 'close');
    return { bytes, items: lines };
  },

  'sync-indexof': ({ chunks }) => syncIndexOf(chunks, false),

  'sync-indexof-owned': ({ chunks }) => syncIndexOf(chunks, true),

  async 'await-indexof'({ chunks }) {
    let lines = 0;
    let bytes = 0;
    let carry: Uint8Array | null = null;
    for (const chunk of chunks) {
      let from = 0;
      let end: number;
      while ((end = chunk.indexOf(10, from)) !== -1) {
        let line = chunk.subarray(from, end + 1);
        if (carry) {
          line = concat(carry, line);
          carry = null;
        }
        line = await handOver(line);
        lines++;
        bytes += line.length;
        from = end + 1;
      }
      if (from < chunk.length) carry = carry ? concat(carry, chunk.subarray(from)) : chunk.slice(from);
    }
    return { bytes: bytes + (carry?.length ?? 0), items: lines + (carry ? 1 : 0) };
  },
};

async function readFrame(reader: StreamReader): Promise<number> {
  const header = await reader.readexactly(4);
  const size = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
  const payload = await reader.readexactly(size);
  return 4 + payload.length;
}

async function readAllFrames(reader: StreamReader): Promise<Outcome> {
  let bytes = 0;
  for (let i = 0; i < FRAME_COUNT; i++) bytes += await readFrame(reader);
  if ((await reader.read()).length) throw new Error('bytes left after the last frame');
  return { bytes, items: FRAME_COUNT };
}

const readexactlyPasses: Record<string, Pass> = {
  async 'ours-push'({ chunks, itemsEndingIn }) {
    const reader = new StreamReader();
    let frames = 0;
    let bytes = 0;
    for (let i = 0; i < chunks.length; i++) {
      reader.feedData(chunks[i]!);
      for (let k = itemsEndingIn[i]!; k > 0; k--) {
        bytes += await readFrame(reader);
        frames++;
      }
    }
    reader.feedEof();
    if ((await reader.read()).length) throw new Error('bytes left after the last frame');
    return { bytes, items: frames };
  },

  async 'ours-push-wait'({ chunks }) {
    const reader = new StreamReader();
    const feeding = feedPerTurn(reader, chunks);
    const outcome = await readAllFrames(reader);
    await feeding;
    return outcome;
  },

  'ours-pull-bytes': ({ chunks }) => readAllFrames(StreamReader.from(byteStream(chunks))),

  'ours-pull-default': ({ chunks }) => readAllFrames(StreamReader.from(defaultStream(chunks))),

  'sync-parser'({ chunks }) {
    let frames = 0;
    let bytes = 0;
    let carry: Uint8Array | null = null;
    for (const chunk of chunks) {
      let at = 0;
      if (carry) {
        // A frame that straddles chunks: complete its header, then its payload, by copying.
        if (carry.length < 4) {
          at = Math.min(4 - carry.length, chunk.length);
          carry = concat(carry, chunk.subarray(0, at));
        }
        if (carry.length >= 4) {
          const need = 4 + new DataView(carry.buffer, carry.byteOffset, 4).getUint32(0) - carry.length;
          if (chunk.length - at >= need) {
            const frame = concat(carry, chunk.subarray(at, at + need));
            frames++;
            bytes += frame.length;
            at += need;
            carry = null;
          }
        }
        if (carry) {
          carry = concat(carry, chunk.subarray(at));
          continue;
        }
      }
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (chunk.length - at >= 4) {
        const size = view.getUint32(at);
        if (chunk.length - at - 4 < size) break;
        const payload = chunk.subarray(at + 4, at + 4 + size);
        frames++;
        bytes += 4 + payload.length;
        at += 4 + size;
      }
      if (at < chunk.length) carry = chunk.slice(at);
    }
    return { bytes, items: frames };
  },

  'await-parser': ({ chunks }) => awaitParser(chunks, false),

  'await-parser-owned': ({ chunks }) => awaitParser(chunks, true),
};

/**
 * The frames of `sync-parser` read as ours are: an `await` per header and per payload. With
 * `owned`, each is first copied into a shared 64 KiB pool and handed out as a view of it (see
 * `ownedCopy()`): the least a reader whose results belong to the caller (as ours do) must add.
 */
async function awaitParser(chunks: readonly Uint8Array[], owned: boolean): Promise<{ bytes: number; items: number }> {
  let frames = 0;
  let bytes = 0;
  let carry: Uint8Array | null = null;
  const take = (part: Uint8Array): Promise<Uint8Array> => handOver(owned ? ownedCopy(part) : part);
  const frame = async (data: Uint8Array, at: number): Promise<number> => {
    const header = await take(data.subarray(at, at + 4));
    const size = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
    const payload = await take(data.subarray(at + 4, at + 4 + size));
    return 4 + payload.length;
  };
  for (const chunk of chunks) {
    let at = 0;
    if (carry) {
      if (carry.length < 4) {
        at = Math.min(4 - carry.length, chunk.length);
        carry = concat(carry, chunk.subarray(0, at));
      }
      if (carry.length >= 4) {
        const need = 4 + new DataView(carry.buffer, carry.byteOffset, 4).getUint32(0) - carry.length;
        if (chunk.length - at >= need) {
          frames++;
          bytes += await frame(concat(carry, chunk.subarray(at, at + need)), 0);
          at += need;
          carry = null;
        }
      }
      if (carry) {
        carry = concat(carry, chunk.subarray(at));
        continue;
      }
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (chunk.length - at >= 4 && chunk.length - at - 4 >= view.getUint32(at)) {
      const read = await frame(chunk, at);
      frames++;
      bytes += read;
      at += read;
    }
    if (at < chunk.length) carry = chunk.slice(at);
  }
  return { bytes, items: frames };
}

const workloads = {
  w1: { input: lineInput, passes: readlinePasses, warmup: 2, reps: 5 },
  w2: { input: frameInput, passes: readexactlyPasses, warmup: 10, reps: 21 },
} as const;

/**
 * The runtimes besides this Node that W1 and W2 run on, each running this same file: this
 * Node (20, `npm run bench`'s) runs the unprefixed variants.
 */
const OTHER_RUNTIMES = RUNTIMES.filter((runtime) => runtime.label !== THIS_NODE);

/** What each workload compares on every runtime. */
const RUNTIME_COMPARED: Record<keyof typeof workloads, string[]> = {
  w1: ['ours-forawait', 'ours-nowait', 'ours-pull-default', 'hand-iterator', 'hand-iterator-owned', 'node-readline', 'sync-indexof', 'sync-indexof-owned'],
  w2: ['ours-push', 'ours-pull-default', 'await-parser', 'await-parser-owned', 'sync-parser'],
};

/** `runtime:variant`: the variant run by another runtime (see `OTHER_RUNTIMES`). */
function runtimeVariants(workload: keyof typeof workloads, labels: Record<string, string>): Variant[] {
  return OTHER_RUNTIMES.flatMap((runtime) =>
    RUNTIME_COMPARED[workload].map((id) => runtimeVariant(runtime, id, labels[id]!, import.meta.url, [workload, id])),
  );
}

/** Ratios taken on every runtime: `prefix` '' is this Node's unprefixed variants. */
function everyRuntime(ratios: (id: (variant: string) => string) => Omit<Ratio, 'runtime'>[]): Ratio[] {
  return [{ prefix: '', label: THIS_NODE }, ...OTHER_RUNTIMES.map((runtime) => ({ prefix: `${runtime.id}:`, label: runtime.label }))].flatMap(
    ({ prefix, label }) => ratios((variant) => `${prefix}${variant}`).map((ratio) => ({ ...ratio, runtime: label })),
  );
}

/** W1's targets on one runtime: nowait and `for await` (issue 14, point 1), and the runtime's own line reader. */
const w1Targets = (id: (variant: string) => string): Omit<Ratio, 'runtime'>[] => [
  { label: 'ours-forawait / hand-iterator', numerator: id('ours-forawait'), denominator: id('hand-iterator'), target: { min: 1 } },
  { label: 'ours-forawait / hand-iterator-owned', numerator: id('ours-forawait'), denominator: id('hand-iterator-owned') },
  { label: 'ours-nowait / node:readline', numerator: id('ours-nowait'), denominator: id('node-readline'), target: { min: 1 } },
  { label: 'ours-pull-default / node:readline', numerator: id('ours-pull-default'), denominator: id('node-readline') },
  { label: 'sync-indexof / ours-nowait', numerator: id('sync-indexof'), denominator: id('ours-nowait'), target: { max: 1.5 } },
  { label: 'sync-indexof-owned / ours-nowait', numerator: id('sync-indexof-owned'), denominator: id('ours-nowait') },
];

/** W2's on one runtime: the share of the await floor (issue 14, point 6). */
const w2Targets = (id: (variant: string) => string): Omit<Ratio, 'runtime'>[] => [
  { label: 'ours-push / await-parser', numerator: id('ours-push'), denominator: id('await-parser'), target: { min: 0.95 } },
  { label: 'ours-pull-default / await-parser', numerator: id('ours-pull-default'), denominator: id('await-parser') },
  { label: 'ours-push / await-parser-owned', numerator: id('ours-push'), denominator: id('await-parser-owned') },
];

function jsVariants(workload: keyof typeof workloads, labels: Record<string, string>): Variant[] {
  return Object.entries(labels).map(([id, label]) => nodeVariant(id, label, import.meta.url, [workload, id]));
}

function cpythonVariants(workload: 'w1' | 'w2', reads: string): Variant[] {
  return [
    pythonVariant(
      'cpython313-drain',
      `CPython 3.13.0 (pyenv) \`asyncio.StreamReader\`: \`feed_data(chunk)\`, then ${reads} it completed`,
      cpythonScript,
      [workload, 'drain'],
      CPYTHON_313,
    ),
    pythonVariant(
      'cpython313-sleep0',
      'CPython 3.13.0 (pyenv): feeder task `feed_data(chunk); await asyncio.sleep(0)`, reader loops',
      cpythonScript,
      [workload, 'sleep0'],
      CPYTHON_313,
    ),
    pythonVariant(
      'cpython311-drain',
      'CPython 3.11.2 (Debian, PGO build; the perf-baselines interpreter), as `cpython313-drain`',
      cpythonScript,
      [workload, 'drain'],
      CPYTHON_311,
    ),
  ];
}

/** The three ratios of the targets, for one of our variants. */
function targets(ours: string, reference: string, refLabel: string, limit: string): Ratio[] {
  return [
    { label: `${ours} / ${refLabel}`, numerator: ours, denominator: reference, target: { min: 1 } },
    { label: `${ours} / CPython 3.13`, numerator: ours, denominator: 'cpython313-drain', target: { min: 4 } },
    { label: `${limit} / ${ours}`, numerator: limit, denominator: ours, target: { max: 1.5 } },
  ];
}

const W1_LABELS: Record<string, string> = {
  'ours-push': 'ours, push: `feedData(chunk)`, then `await readline()` for each line that chunk completed',
  'ours-push-wait':
    'ours, push: feeder `feedData(chunk)` once per event-loop turn (`setImmediate`), ' +
    'reader `while ((line = await reader.readline()).length)`',
  'ours-pull-bytes': 'ours, pull: `StreamReader.from(byte stream)` (BYOB; the source copies each chunk into the view)',
  'ours-pull-default': 'ours, pull: `StreamReader.from(default ReadableStream)` of the chunks',
  'ours-forawait': 'ours, pull over the default stream, `for await (const line of reader)` (CPython\'s `async for`)',
  'node-readline': "`node:readline` over `Readable.from(chunks)`, `rl.on('line')` (yields strings)",
  'sync-indexof': 'hand-written sync loop: `indexOf(10)`, one `subarray` per line, copies only across chunks',
  'sync-indexof-owned':
    '`sync-indexof` with each line copied into a shared pool (lines that belong to the caller, as ours do): ' +
    'the floor of a sync loop whose lines stay valid',
  'await-indexof':
    '`sync-indexof` with each line handed over by `await Promise.resolve(line)`: ' +
    'the ceiling of any one-`await`-per-line API on this runtime',
  'ours-nowait': 'ours, pull over the default stream, `reader.readlineNowait() ?? await reader.readline()`',
  'hand-iterator':
    '`sync-indexof` in a hand-written async iterator whose `next()` returns `Promise.resolve({ value, done })`, ' +
    'consumed by `for await`: the floor of any `for await` over lines',
  'hand-iterator-owned':
    '`hand-iterator` with each line copied into a shared pool first (lines that belong to the caller, as ours do): ' +
    'the floor of a `for await` whose lines stay valid',
};

const W2_LABELS: Record<string, string> = {
  'ours-push': 'ours, push: `feedData(chunk)`, then the frames that chunk completed',
  'ours-push-wait': 'ours, push: feeder `feedData(chunk)` once per event-loop turn, reader loops over all frames',
  'ours-pull-bytes': 'ours, pull: `StreamReader.from(byte stream)` (BYOB)',
  'ours-pull-default': 'ours, pull: `StreamReader.from(default ReadableStream)`',
  'sync-parser': 'hand-written sync parser: `DataView` per chunk, one `subarray` per payload, copies only across chunks',
  'await-parser':
    'the frames of `sync-parser` read as ours are: `await` of a `subarray` for the header, `DataView` ' +
    'over it, `await` of a `subarray` for the payload: the ceiling of any `await readexactly()` API here',
  'await-parser-owned':
    '`await-parser` with the header and the payload each copied into a shared pool first (results that belong ' +
    'to the caller, as ours do): the floor of an `await readexactly()` whose results stay valid',
};

export const benchmark: Benchmark = {
  name: 'stream-reader',
  workloads: [
    {
      id: 'w1',
      name: 'readline',
      description:
        '64 MiB of lines of 20..140 bytes (LCG, byte-identical for JS and CPython) in 64 KiB chunks; ' +
        'each pass counts the lines and checks their bytes add up to the input size. ' +
        'Median of 5 timed passes per process after 2 warm-up passes (CPython: 1 warm-up, 5 timed); ' +
        'input generation is outside the timed region.',
      metrics: [
        { label: 'MB/s', per: 'bytes', scale: 1e6 },
        { label: 'M lines/s', per: 'items', scale: 1e6 },
      ],
      variants: [
        ...jsVariants('w1', W1_LABELS),
        ...runtimeVariants('w1', W1_LABELS),
        ...cpythonVariants('w1', 'each `await readline()`'),
      ],
      ratios: [
        ...targets('ours-push', 'node-readline', 'node:readline', 'sync-indexof'),
        ...targets('ours-pull-bytes', 'node-readline', 'node:readline', 'sync-indexof'),
        ...targets('ours-pull-default', 'node-readline', 'node:readline', 'sync-indexof'),
        { label: 'ours-forawait / node:readline', numerator: 'ours-forawait', denominator: 'node-readline', target: { min: 1 } },
        ...everyRuntime(w1Targets),
        { label: 'ours-push-wait / CPython 3.13 sleep(0) feeder', numerator: 'ours-push-wait', denominator: 'cpython313-sleep0' },
        { label: 'ours-push / CPython 3.11 (Debian)', numerator: 'ours-push', denominator: 'cpython311-drain' },
        { label: 'sync-indexof / await-indexof (what one await per line costs)', numerator: 'sync-indexof', denominator: 'await-indexof' },
        { label: 'ours-push / await-indexof (share of the ceiling)', numerator: 'ours-push', denominator: 'await-indexof' },
      ],
    },
    {
      id: 'w2',
      name: 'readexactly',
      description:
        '200,000 frames (4-byte big-endian length + 100-byte payload, 20.8 MB) in 64 KiB chunks; ' +
        'each frame is `hdr = await readexactly(4); n = view.getUint32(0); payload = await readexactly(n)`. ' +
        'Median of 21 timed passes per process after 10 warm-up passes (CPython: 1 warm-up, 9 timed).',
      metrics: [
        { label: 'M frames/s', per: 'items', scale: 1e6 },
        { label: 'MB/s', per: 'bytes', scale: 1e6 },
      ],
      variants: [
        ...jsVariants('w2', W2_LABELS),
        ...runtimeVariants('w2', W2_LABELS),
        ...cpythonVariants('w2', 'the two `readexactly()` of each frame'),
      ],
      ratios: [
        { label: 'ours-push / CPython 3.13', numerator: 'ours-push', denominator: 'cpython313-drain' },
        { label: 'ours-pull-bytes / CPython 3.13', numerator: 'ours-pull-bytes', denominator: 'cpython313-drain' },
        { label: 'ours-push-wait / CPython 3.13 sleep(0) feeder', numerator: 'ours-push-wait', denominator: 'cpython313-sleep0' },
        { label: 'ours-push / CPython 3.11 (Debian)', numerator: 'ours-push', denominator: 'cpython311-drain' },
        { label: 'sync-parser / ours-push', numerator: 'sync-parser', denominator: 'ours-push' },
        { label: 'sync-parser / ours-pull-bytes', numerator: 'sync-parser', denominator: 'ours-pull-bytes' },
        ...everyRuntime(w2Targets),
      ],
    },
  ],
};

async function main(args: string[]): Promise<void> {
  const [workloadId, variantId, reps, warmup] = args;
  const workload = workloads[workloadId as keyof typeof workloads];
  const pass = workload?.passes[variantId ?? ''];
  if (!workload || !pass) {
    throw new Error(`usage: stream-reader.bench.ts w1|w2 VARIANT [REPS] [WARMUP] (got ${args.join(' ')})`);
  }
  const input = workload.input();
  await measure(() => pass(input), {
    warmup: warmup === undefined ? workload.warmup : Number(warmup),
    reps: reps === undefined ? workload.reps : Number(reps),
    expected: { bytes: input.bytes, items: input.items },
    digest: input.digest,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
