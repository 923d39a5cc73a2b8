/**
 * A fuzz of the StreamReader against CPython: random bytes in random chunks with random
 * operations, every outcome (result or error, bytes left in the buffer, EOF) compared.
 *
 * The oracle is the committed fixture, fixtures/cpython-reader.json, extended by a model.
 * Splitting the same bytes differently legitimately changes what CPython answers (`read(n)`
 * returns what has arrived; whether a long line overruns the limit before or after its
 * separator arrives depends on the chunk it came in), so the fixture's answers cannot be
 * compared with a re-split replay as they are. _reader-model.ts is CPython's algorithm over
 * any split; the first test checks that it gives exactly the fixture's recorded outcomes on
 * all of its scenarios. Then our reader must agree with the model on the fixture's bytes and
 * operations split in many random ways (pull mode over byte and default streams, and push
 * mode), and on new random scenarios. Every seed is fixed, so a failure replays.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader } from '../lib/index.ts';
import {
  byteStream,
  canonical,
  chunksOf,
  defaultStream,
  loadFixture,
  nowaitOf,
  observed,
  opText,
  pullOpsOf,
  settleWithin,
  sizedByteStream,
  startOp,
  toHex,
  type OpStep,
  type Outcome,
  type Settled,
} from './_cpython-replay.ts';
import { ReaderModel } from './_reader-model.ts';

const fixture = loadFixture();

/** Random splits of each fixture scenario, per kind of source. */
const SPLITS_PER_SCENARIO = 16;
const RANDOM_SCENARIOS = 2000;
/** How long one operation may stay pending before it counts as hung (its source is all there). */
const HANG_MS = 2000;
const MAX_REPORTED = 10;

/** mulberry32: a small seeded generator, so every run splits and picks the same way. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function integer(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function concatAll(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** Splits `data` in one of several ways: one byte each, all at once, or random sizes (with empty chunks if allowed). */
function split(data: Uint8Array, random: () => number, emptyChunks: boolean): Uint8Array[] {
  const style = random();
  if (style < 0.1) return Array.from(data, (_, i) => data.subarray(i, i + 1));
  if (style < 0.2) return [data];
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (emptyChunks && random() < 0.08) chunks.push(new Uint8Array(0));
    const size = pick(random, [1, 1, 2, 3, 4, 5, 7, 8, 13, 21, 64]);
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function sizes(chunks: readonly Uint8Array[]): string {
  return `[${chunks.map((chunk) => chunk.length).join(',')}]`;
}

interface Replay {
  limit: number;
  chunks: Uint8Array[];
  ops: OpStep[];
}

/** What CPython would record for `replay`: each operation's outcome, then the rest. */
function expected(replay: Replay): { outcomes: Outcome[]; rest: string } {
  const model = new ReaderModel(replay.limit, replay.chunks);
  const outcomes = replay.ops.map((op) => model.run(op));
  return { outcomes, rest: toHex(model.rest()) };
}

/**
 * Runs the operations one after the other on a pull-mode reader; the first disagreement, or
 * null. With `delivered`, the chunks the source handed over as the reads asked for them (see
 * `sizedByteStream()`), the model runs over those once the reader is done.
 */
async function replayPull(
  replay: Replay,
  stream: ReadableStream<Uint8Array>,
  asText: boolean,
  label: string,
  delivered?: readonly Uint8Array[],
): Promise<string | null> {
  const reader = StreamReader.from(stream, { limit: replay.limit });
  const outcomes: string[] = [];
  for (const [k, op] of replay.ops.entries()) {
    const settled = await settleWithin(startOp(reader, op, asText), HANG_MS);
    if (settled === 'hung') return `${label} ${opText(op)} (operation ${k}): still pending after ${HANG_MS} ms`;
    outcomes.push(canonical(observed(settled, reader, null)));
  }
  const rest = await settleWithin(reader.read(), HANG_MS);
  if (rest === 'hung' || !('value' in rest)) return `${label} read() of the rest: ${rest === 'hung' ? 'hung' : String(rest.error)}`;
  const wanted = expected(delivered === undefined ? replay : { ...replay, chunks: [...delivered] });
  for (const [k, op] of replay.ops.entries()) {
    const outcome = canonical(wanted.outcomes[k]!);
    if (outcomes[k] !== outcome) return `${label} ${opText(op)} (operation ${k}): expected ${shortened(outcome)}, got ${shortened(outcomes[k]!)}`;
  }
  if (rest.value === null || toHex(rest.value) !== wanted.rest) return `${label} the rest: expected ${shortened(wanted.rest)}, got ${shortened(String(rest.value && toHex(rest.value)))}`;
  return null;
}

/** An outcome short enough to read in a report: kilobytes of hex are cut in the middle. */
function shortened(text: string): string {
  return text.length <= 400 ? text : `${text.slice(0, 200)}…(${text.length - 400} characters)…${text.slice(-200)}`;
}

/**
 * Push mode, driven as run_pull drives CPython: start an operation, let it run; while it
 * waits, feed the next chunk (or EOF once they are used up). With `handedOver`, each chunk
 * arrives as a transport hands it to `StreamReaderProtocol` (a copy of its own, which the
 * reader may keep instead of copying).
 */
async function replayPush(replay: Replay, label: string, handedOver = false): Promise<string | null> {
  const reader = new StreamReader({ limit: replay.limit });
  const chunks = [...replay.chunks];
  let ended = false;
  const wanted = expected(replay);
  const run = async (op: OpStep | null): Promise<Settled | string> => {
    let settled: Settled | null = null;
    const promise = op === null ? reader.read() : startOp(reader, op, false);
    promise.then(
      (value) => (settled = { value }),
      (error: unknown) => (settled = { error }),
    );
    for (let feeds = 0; ; feeds++) {
      await nextMacrotask();
      if (settled !== null) return settled;
      if (ended || feeds > replay.chunks.length + 1) return 'still pending after every chunk and EOF';
      const chunk = chunks.shift();
      if (chunk === undefined) {
        reader.feedEof();
        ended = true;
      } else if (handedOver) {
        reader._feedReceived(chunk.slice());
      } else {
        reader.feedData(chunk);
      }
    }
  };
  for (const [k, op] of replay.ops.entries()) {
    const settled = await run(op);
    if (typeof settled === 'string') return `${label} ${opText(op)} (operation ${k}): ${settled}`;
    const actual = canonical(observed(settled, reader, null));
    if (actual !== canonical(wanted.outcomes[k]!)) return `${label} ${opText(op)} (operation ${k}): expected ${shortened(canonical(wanted.outcomes[k]!))}, got ${shortened(actual)}`;
  }
  const rest = await run(null);
  if (typeof rest === 'string' || !('value' in rest)) return `${label} read() of the rest: ${typeof rest === 'string' ? rest : String(rest.error)}`;
  if (rest.value === null || toHex(rest.value) !== wanted.rest) return `${label} the rest: expected ${shortened(wanted.rest)}, got ${shortened(String(rest.value && toHex(rest.value)))}`;
  return null;
}

function report(mismatches: string[], runs: number): string {
  const shown = mismatches.slice(0, MAX_REPORTED).join('\n');
  const more = mismatches.length > MAX_REPORTED ? `\n... and ${mismatches.length - MAX_REPORTED} more` : '';
  return `${mismatches.length} of ${runs} runs disagree:\n${shown}${more}`;
}

const fixtureReplays: Array<Replay & { index: number; data: Uint8Array }> = fixture.scenarios.map((scenario, index) => {
  const chunks = chunksOf(scenario);
  return { index, limit: scenario.limit, chunks, ops: pullOpsOf(scenario), data: concatAll(chunks) };
});

let operationsChecked = 0;
let bytesFed = 0;

const model = suite('reader fuzz: the reference model');

model('gives exactly the outcomes CPython recorded for every scenario of the fixture', () => {
  const mismatches: string[] = [];
  for (const replay of fixtureReplays) {
    const scenario = fixture.scenarios[replay.index]!;
    const { outcomes, rest } = expected(replay);
    outcomes.forEach((outcome, k) => {
      if (canonical(outcome) !== canonical(scenario.pull.res[k]!)) {
        mismatches.push(`scenario ${replay.index} ${opText(replay.ops[k]!)}: CPython ${canonical(scenario.pull.res[k]!)}, model ${canonical(outcome)}`);
      }
    });
    if (rest !== scenario.pull.rest) mismatches.push(`scenario ${replay.index} rest: CPython ${scenario.pull.rest}, model ${rest}`);
  }
  assert.ok(mismatches.length === 0, report(mismatches, fixtureReplays.length));
  assert.ok(fixtureReplays.length >= 300);
});

model('tells splits apart where CPython does: read(n) and the limit depend on how the bytes arrive', () => {
  // One line over the limit: in one chunk it overruns "found", byte by byte "not found".
  const data = new TextEncoder().encode('abcdef\n');
  const line: OpStep = ['o', 'readline'];
  const whole = new ReaderModel(4, [data]).run(line);
  const bytewise = new ReaderModel(4, Array.from(data, (_, i) => data.subarray(i, i + 1))).run(line);
  assert.is(whole.x?.cause?.message, 'Separator is found, but chunk is longer than limit');
  assert.is(bytewise.x?.cause?.message, 'Separator is not found, and chunk exceed the limit');
  assert.is(new ReaderModel(100, [data.subarray(0, 2), data.subarray(2)]).run(['o', 'read', 5]).r, '6162');
});

model.run();

const refit = suite('reader fuzz: the fixture\'s scenarios, split in random ways');

refit(`over a byte stream read with BYOB, ${SPLITS_PER_SCENARIO} random splits of each`, async () => {
  const mismatches: string[] = [];
  let runs = 0;
  let sameAsRecorded = 0;
  for (const replay of fixtureReplays) {
    const random = generator(1000 + replay.index);
    for (let s = 0; s < SPLITS_PER_SCENARIO; s++) {
      const chunks = split(replay.data, random, false);
      const resplit = { ...replay, chunks };
      const label = `scenario ${replay.index} split ${sizes(chunks)} [BYOB]`;
      const mismatch = await replayPull(resplit, byteStream(chunks), false, label);
      if (mismatch !== null) mismatches.push(mismatch);
      const wanted = expected(resplit);
      const recorded = fixture.scenarios[replay.index]!.pull;
      if (wanted.rest === recorded.rest && wanted.outcomes.every((outcome, k) => canonical(outcome) === canonical(recorded.res[k]!))) sameAsRecorded += 1;
      runs += 1;
      operationsChecked += replay.ops.length + 1;
      bytesFed += replay.data.length;
    }
  }
  assert.ok(mismatches.length === 0, report(mismatches, runs));
  // Many splits change no outcome at all: there the reader gave CPython's recorded answers as they are.
  assert.ok(sameAsRecorded > runs / 3, `${sameAsRecorded} of ${runs} splits give exactly the recorded outcomes`);
});

refit(`over a default stream with empty chunks and string separators, ${SPLITS_PER_SCENARIO} random splits of each`, async () => {
  const mismatches: string[] = [];
  let runs = 0;
  for (const replay of fixtureReplays) {
    const random = generator(2000 + replay.index);
    for (let s = 0; s < SPLITS_PER_SCENARIO; s++) {
      const chunks = split(replay.data, random, true);
      const mismatch = await replayPull({ ...replay, chunks }, defaultStream(chunks), true, `scenario ${replay.index} split ${sizes(chunks)} [default]`);
      if (mismatch !== null) mismatches.push(mismatch);
      runs += 1;
      operationsChecked += replay.ops.length + 1;
      bytesFed += replay.data.length;
    }
  }
  assert.ok(mismatches.length === 0, report(mismatches, runs));
});

refit('in push mode, fed a chunk whenever a read waits (copied, then handed over), 2 random splits of each', async () => {
  const mismatches: string[] = [];
  let runs = 0;
  for (const replay of fixtureReplays) {
    const random = generator(3000 + replay.index);
    for (let s = 0; s < 2; s++) {
      const chunks = split(replay.data, random, true);
      const handedOver = s === 1;
      const mismatch = await replayPush({ ...replay, chunks }, `scenario ${replay.index} split ${sizes(chunks)} [push${handedOver ? ', handed over' : ''}]`, handedOver);
      if (mismatch !== null) mismatches.push(mismatch);
      runs += 1;
      operationsChecked += replay.ops.length + 1;
      bytesFed += replay.data.length;
    }
  }
  assert.ok(mismatches.length === 0, report(mismatches, runs));
});

refit.run();

const fresh = suite('reader fuzz: new random scenarios');

/** The alphabets of fixtures/cpython-reader.py: few symbols, so separators and lines occur often. */
const ALPHABETS = ['ab\n\rXY', 'aab\n', 'A\n', '\r\n xy'].map((text) => new TextEncoder().encode(text));

function randomBytes(random: () => number, alphabet: Uint8Array, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, () => (random() < 0.1 ? integer(random, 0, 255) : pick(random, [...alphabet])));
}

function randomSeparatorHex(random: () => number, alphabet: Uint8Array, payload: Uint8Array): string {
  const roll = random();
  if (roll < 0.03) return '';
  if (roll < 0.35) return toHex(Uint8Array.of(pick(random, [...alphabet])));
  if (roll < 0.65 && payload.length >= 2) {
    const size = integer(random, 1, Math.min(4, payload.length));
    const at = integer(random, 0, payload.length - size);
    return toHex(payload.subarray(at, at + size));
  }
  return toHex(randomBytes(random, alphabet, integer(random, 2, 4)));
}

function randomOp(random: () => number, alphabet: Uint8Array, payload: Uint8Array, limit: number): OpStep {
  const roll = random();
  if (roll < 0.28) return ['o', 'read', pick(random, [-1, -2, 0, integer(random, 1, 4), integer(random, 1, Math.max(4, Math.min(limit + 3, 40)))])];
  if (roll < 0.46) return ['o', 'readline'];
  if (roll < 0.64) return ['o', 'readexactly', pick(random, [-1, 0, integer(random, 1, 16), integer(random, 1, 60)])];
  const kind = random();
  if (kind < 0.05) return ['o', 'readuntil'];
  if (kind < 0.6) return ['o', 'readuntil', randomSeparatorHex(random, alphabet, payload)];
  if (kind < 0.63) return ['o', 'readuntil', []];
  if (kind < 0.75) {
    const longer = randomBytes(random, alphabet, integer(random, 2, 4));
    const pair = [toHex(longer), toHex(longer.subarray(integer(random, 1, longer.length - 1)))];
    return ['o', 'readuntil', random() < 0.5 ? pair : pair.reverse()];
  }
  return ['o', 'readuntil', Array.from({ length: integer(random, 2, 3) }, () => randomSeparatorHex(random, alphabet, payload))];
}

function randomReplay(seed: number): Replay {
  const random = generator(seed);
  const roll = random();
  const limit = roll < 0.7 ? integer(random, 1, 16) : roll < 0.9 ? integer(random, 17, 64) : pick(random, [100, 1000, 65536]);
  const alphabet = pick(random, ALPHABETS);
  const payload = randomBytes(random, alphabet, pick(random, [integer(random, 0, 8), integer(random, 0, 48), integer(random, 0, 200)]));
  const ops = Array.from({ length: integer(random, 3, 14) }, () => randomOp(random, alphabet, payload, limit));
  return { limit, chunks: split(payload, random, true), ops };
}

/**
 * Replays `replay` over a byte stream that hands over whole chunks (unless `byteStream` is
 * false), a default stream and in push mode; its mismatches.
 */
async function replayEveryWay(replay: Replay, seed: number, label: string, { byteStream: wholeChunks = true } = {}): Promise<string[]> {
  const mismatches = [
    wholeChunks ? await replayPull(replay, byteStream(replay.chunks), false, `${label} [BYOB]`) : null,
    await replayPull(replay, defaultStream(replay.chunks), true, `${label} [default]`),
    await replayPush(replay, `${label} [push${seed % 2 === 0 ? ', handed over' : ''}]`, seed % 2 === 0),
  ];
  const runs = wholeChunks ? 3 : 2;
  operationsChecked += runs * (replay.ops.length + 1);
  bytesFed += runs * concatAll(replay.chunks).length;
  return mismatches.filter((mismatch) => mismatch !== null);
}

fresh(`${RANDOM_SCENARIOS} scenarios, each over a byte stream, a default stream and in push mode (chunks copied or handed over)`, async () => {
  const mismatches: string[] = [];
  for (let seed = 1; seed <= RANDOM_SCENARIOS; seed++) {
    const replay = randomReplay(seed);
    mismatches.push(...(await replayEveryWay(replay, seed, `random scenario ${seed} (limit ${replay.limit}, split ${sizes(replay.chunks)})`)));
  }
  assert.ok(mismatches.length === 0, report(mismatches, 3 * RANDOM_SCENARIOS));
});

/**
 * A scenario of `randomReplay(seed)` with about half of its readline/readuntil/readexactly
 * turned into their nowait forms (by a generator of its own, so the other scenarios stay as
 * they were), each followed by its waiting form half of the time, as a nowait loop does.
 */
function randomNowaitReplay(seed: number): Replay {
  const replay = randomReplay(seed);
  const random = generator(seed + 7_000_000);
  const ops = replay.ops.flatMap((op): OpStep[] => {
    const nowait = nowaitOf(op);
    if (nowait === null || random() < 0.5) return [op];
    return random() < 0.5 ? [nowait, op] : [nowait];
  });
  return { ...replay, ops };
}

let nowaitServed = 0;
let nowaitNull = 0;

fresh(`${RANDOM_SCENARIOS / 2} scenarios with nowait operations, each over a byte stream, a default stream and in push mode`, async () => {
  const mismatches: string[] = [];
  for (let seed = 1; seed <= RANDOM_SCENARIOS / 2; seed++) {
    const replay = randomNowaitReplay(seed);
    mismatches.push(...(await replayEveryWay(replay, seed, `random nowait scenario ${seed} (limit ${replay.limit}, split ${sizes(replay.chunks)})`)));
    for (const outcome of expected(replay).outcomes.filter((_, k) => replay.ops[k]![1].endsWith('Nowait'))) {
      if (outcome.r === null) nowaitNull += 1;
      else nowaitServed += 1;
    }
  }
  assert.ok(mismatches.length === 0, report(mismatches, 3 * (RANDOM_SCENARIOS / 2)));
  // Both answers are exercised often: the result (or error) there, and "would have to wait".
  assert.ok(nowaitServed > 500 && nowaitNull > 500, `${nowaitServed} nowait operations settled, ${nowaitNull} returned null`);
});

/**
 * A scenario of `randomReplay(seed)` with about half of its `read(n)` and `readexactly(n)`
 * (n >= 0) read into a view of `n` bytes instead (by a generator of its own).
 */
function randomIntoReplay(seed: number): Replay {
  const replay = randomReplay(seed);
  const random = generator(seed + 9_000_000);
  const ops = replay.ops.map((op): OpStep => {
    if (op[1] === 'read' && op[2] >= 0 && random() < 0.5) return ['o', 'readinto', op[2]];
    if (op[1] === 'readexactly' && op[2] >= 0 && random() < 0.5) return ['o', 'readexactlyInto', op[2]];
    return op;
  });
  return { ...replay, ops };
}

fresh(`${RANDOM_SCENARIOS / 2} scenarios with readinto() and readexactlyInto(), each over a byte stream, a default stream and in push mode`, async () => {
  const mismatches: string[] = [];
  let intoOps = 0;
  for (let seed = 1; seed <= RANDOM_SCENARIOS / 2; seed++) {
    const replay = randomIntoReplay(seed);
    intoOps += replay.ops.filter((op) => op[1].endsWith('nto')).length;
    mismatches.push(...(await replayEveryWay(replay, seed, `random readinto scenario ${seed} (limit ${replay.limit}, split ${sizes(replay.chunks)})`)));
  }
  assert.ok(mismatches.length === 0, report(mismatches, 3 * (RANDOM_SCENARIOS / 2)));
  assert.ok(intoOps > 1000, `${intoOps} reads into a view`);
});

/**
 * Frames of kilobytes, as bulk and framing protocols read them: payloads up to 96 KiB in
 * chunks of up to 20 KiB, and reads of up to 24 KiB, so that `readexactly()` above 4 KiB fills
 * its result directly, the buffer grows, slides, shrinks and adopts handed-over chunks.
 */
function randomLargeReplay(seed: number): Replay {
  const random = generator(seed + 11_000_000);
  const limit = pick(random, [1000, 65536, 200_000]);
  const alphabet = pick(random, ALPHABETS);
  const payload = randomBytes(random, alphabet, integer(random, 0, 96 * 1024));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < payload.length; ) {
    const size = pick(random, [1, integer(random, 1, 700), integer(random, 1000, 5000), integer(random, 4096, 20 * 1024)]);
    chunks.push(payload.subarray(at, at + size));
    at += size;
  }
  const size = (): number => pick(random, [integer(random, 1, 64), integer(random, 1, 4096), integer(random, 4097, 24 * 1024)]);
  const ops = Array.from({ length: integer(random, 3, 24) }, (): OpStep => {
    const roll = random();
    if (roll < 0.25) return ['o', 'readexactly', size()];
    if (roll < 0.5) return ['o', 'readexactlyInto', size()];
    if (roll < 0.65) return ['o', 'read', size()];
    if (roll < 0.8) return ['o', 'readinto', size()];
    if (roll < 0.9) return ['o', 'readline'];
    return ['o', 'readuntil', randomSeparatorHex(random, alphabet, payload)];
  });
  return { limit, chunks, ops };
}

const LARGE_SCENARIOS = 150;

fresh(`${LARGE_SCENARIOS} scenarios of frames of kilobytes, each over byte streams, a default stream and in push mode`, async () => {
  const mismatches: string[] = [];
  for (let seed = 1; seed <= LARGE_SCENARIOS; seed++) {
    const replay = randomLargeReplay(seed);
    const label = `large scenario ${seed} (limit ${replay.limit}, ${replay.chunks.length} chunks)`;
    // A chunk larger than a BYOB read's view reaches the reader in parts: the model then
    // runs over the parts as they were handed over.
    const delivered: Uint8Array[] = [];
    const sized = await replayPull(replay, sizedByteStream(replay.chunks, delivered), false, `${label} [BYOB, as asked]`, delivered);
    if (sized !== null) mismatches.push(sized);
    operationsChecked += replay.ops.length + 1;
    bytesFed += concatAll(replay.chunks).length;
    mismatches.push(...(await replayEveryWay(replay, seed, label, { byteStream: false })));
  }
  assert.ok(mismatches.length === 0, report(mismatches, 3 * LARGE_SCENARIOS));
});

fresh('covered enough: tens of thousands of operations checked', () => {
  assert.ok(operationsChecked > 20_000, `${operationsChecked} operations checked over ${bytesFed} bytes`);
});

fresh.run();
