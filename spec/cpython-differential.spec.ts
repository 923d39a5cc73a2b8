/**
 * Replays the scenarios of fixtures/cpython-reader.json, recorded from CPython 3.13's
 * asyncio.StreamReader by fixtures/cpython-reader.py (which documents the format), against
 * our StreamReader: in push mode step by step, and in pull mode over a byte stream and a
 * default stream. Each test reports the first disagreement of every scenario that has one.
 */
import { readFileSync } from 'node:fs';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, LimitOverrunError, StreamReader } from '../lib/index.js';

type Hex = string;

interface RecordedError {
  error: string;
  message: string;
  partial?: Hex;
  expected?: number | null;
  consumed?: number;
  cause?: RecordedError;
}

type OpStep =
  | ['o', 'read', number]
  | ['o', 'readline']
  | ['o', 'readexactly', number]
  | ['o', 'readuntil']
  | ['o', 'readuntil', Hex | Hex[]];

type Step = ['f', Hex] | ['F', Hex, RecordedError] | ['e'] | ['x'] | OpStep;

interface Outcome {
  r?: Hex;
  x?: RecordedError;
  b: Hex;
  eof?: boolean;
}

interface Scenario {
  limit: number;
  steps: Step[];
  res: Array<Outcome & { at: number }>;
  pull: { ops: number[]; res: Outcome[]; rest: Hex };
}

interface Fixture {
  python: string;
  seed: number;
  scenarios: Scenario[];
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/cpython-reader.json', import.meta.url), 'utf8'),
) as Fixture;

/** CPython names its methods in snake_case; ours are camelCase (API.md's naming rule). */
const RENAMED_MESSAGES: Record<string, string> = { 'feed_data after feed_eof': 'feedData after feedEof' };

/** How long a pull-mode read may stay pending before it counts as hung (its source is all there). */
const PULL_DEADLINE_MS = 2000;

const MAX_REPORTED = 20;

function fromHex(hex: Hex): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function toHex(bytes: Uint8Array): Hex {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** A separator as `readuntil` takes it; ASCII ones as strings when `asText`, to cover that path too. */
function separatorOf(hex: Hex, asText: boolean): Uint8Array | string {
  const bytes = fromHex(hex);
  return asText && bytes.every((byte) => byte < 0x80) ? String.fromCharCode(...bytes) : bytes;
}

function startOp(reader: StreamReader, step: OpStep, asText: boolean): Promise<Uint8Array> {
  switch (step[1]) {
    case 'read':
      return reader.read(step[2]);
    case 'readline':
      return reader.readline();
    case 'readexactly':
      return reader.readexactly(step[2]);
    case 'readuntil': {
      if (step.length === 2) return reader.readuntil();
      const spec = step[2];
      if (Array.isArray(spec)) return reader.readuntil(spec.map((hex) => separatorOf(hex, asText)));
      return reader.readuntil(separatorOf(spec, asText));
    }
  }
}

function opText(step: OpStep): string {
  if (step.length === 2) return `${step[1]}()`;
  const argument = step[2];
  if (typeof argument === 'number') return `${step[1]}(${argument})`;
  return `${step[1]}(${Array.isArray(argument) ? `[${argument.map((hex) => `'${hex}'`).join(', ')}]` : `'${argument}'`})`;
}

function recordError(error: unknown, boom: unknown): RecordedError {
  if (error === boom) return { error: 'set', message: 'boom' };
  if (error instanceof IncompleteReadError) {
    return { error: 'IncompleteReadError', message: error.message, partial: toHex(error.partial), expected: error.expected };
  }
  if (error instanceof LimitOverrunError) {
    return { error: 'LimitOverrunError', message: error.message, consumed: error.consumed };
  }
  if (error instanceof Error) {
    const recorded: RecordedError = { error: error.name, message: error.message };
    if (error.cause !== undefined) recorded.cause = recordError(error.cause, boom);
    return recorded;
  }
  return { error: typeof error, message: String(error) };
}

/** One key order and no absent fields, so that equal outcomes give equal strings. */
function canonicalError(error: RecordedError): RecordedError {
  return {
    error: error.error,
    message: RENAMED_MESSAGES[error.message] ?? error.message,
    partial: error.partial,
    expected: error.expected,
    consumed: error.consumed,
    cause: error.cause === undefined ? undefined : canonicalError(error.cause),
  } as RecordedError;
}

function canonical(outcome: Outcome): string {
  return JSON.stringify({
    r: outcome.r,
    x: outcome.x === undefined ? undefined : canonicalError(outcome.x),
    b: outcome.b,
    eof: outcome.eof === true,
  });
}

type Settled = { value: Uint8Array } | { error: unknown };

function observed(settled: Settled, reader: StreamReader, boom: unknown): Outcome {
  const result = 'value' in settled ? { r: toHex(settled.value) } : { x: recordError(settled.error, boom) };
  return { ...result, b: toHex(reader._peekBuffer()), eof: reader.atEof() };
}

function where(index: number, scenario: Scenario): string {
  return `scenario ${index} (fixture line ${index + 2}, limit ${scenario.limit})`;
}

interface Running {
  k: number;
  step: number;
  settled: Settled | null;
}

/** Runs the steps in order, letting every promise job run after each; returns the first disagreement. */
async function replayPush(scenario: Scenario, index: number): Promise<string | null> {
  const reader = new StreamReader({ limit: scenario.limit });
  const boom = new Error('boom');
  const running: Running[] = [];
  let started = 0;
  for (let i = 0; i < scenario.steps.length; i++) {
    const step = scenario.steps[i]!;
    const here = `${where(index, scenario)} step ${i}`;
    try {
      switch (step[0]) {
        case 'f':
          reader.feedData(fromHex(step[1]));
          break;
        case 'F': {
          let thrown: RecordedError | null = null;
          try {
            reader.feedData(fromHex(step[1]));
          } catch (error) {
            thrown = recordError(error, boom);
          }
          const expected = JSON.stringify(canonicalError(step[2]));
          const actual = thrown === null ? 'no error' : JSON.stringify(canonicalError(thrown));
          if (actual !== expected) return `${here} feedData after feedEof: expected ${expected}, got ${actual}`;
          break;
        }
        case 'e':
          reader.feedEof();
          break;
        case 'x':
          reader.setException(boom);
          break;
        case 'o': {
          const entry: Running = { k: started++, step: i, settled: null };
          let promise: Promise<Uint8Array>;
          try {
            promise = startOp(reader, step, false);
          } catch (error) {
            return `${here} ${opText(step)} threw synchronously instead of rejecting: ${String(error)}`;
          }
          promise.then(
            (value) => (entry.settled = { value }),
            (error: unknown) => (entry.settled = { error }),
          );
          running.push(entry);
          break;
        }
      }
    } catch (error) {
      return `${here} ${JSON.stringify(step)} threw unexpectedly: ${String(error)}`;
    }
    await nextMacrotask();
    for (const entry of [...running]) {
      const expected = scenario.res[entry.k]!;
      const op = scenario.steps[entry.step] as OpStep;
      const label = `${where(index, scenario)} ${opText(op)} started at step ${entry.step}`;
      if (entry.settled === null) {
        if (expected.at === i) return `${label}: still pending after step ${i}, CPython settled it there`;
        continue;
      }
      running.splice(running.indexOf(entry), 1);
      if (expected.at !== i) return `${label}: settled after step ${i}, CPython settled it after step ${expected.at}`;
      const actual = canonical(observed(entry.settled, reader, boom));
      const wanted = canonical(expected);
      if (actual !== wanted) return `${label}, settled after step ${i}: expected ${wanted}, got ${actual}`;
    }
  }
  if (running.length > 0) return `${where(index, scenario)}: ${running.length} operation(s) never settled`;
  return null;
}

/** Gives one chunk per pull, and only when a read is pending (high-water mark 0). */
function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream(
    {
      type: 'bytes',
      pull(controller) {
        // A byte stream cannot enqueue an empty chunk; skipping it changes nothing a reader sees.
        while (next < chunks.length && chunks[next]!.length === 0) next++;
        if (next < chunks.length) {
          controller.enqueue(chunks[next++]!.slice());
          return;
        }
        controller.close();
        // A BYOB read pending at close only ends once it is answered with 0 bytes.
        controller.byobRequest?.respond(0);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Holds every chunk, empty ones included, from the start; a default reader takes one per read. */
function defaultStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk.slice());
      controller.close();
    },
  });
}

async function settleWithin(promise: Promise<Uint8Array>): Promise<Settled | 'hung'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), PULL_DEADLINE_MS);
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled => ({ value }),
        (error: unknown): Settled => ({ error }),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the scenario's operations one after the other on a reader pulling from `open(chunks)`.
 * CPython's side fed the next chunk whenever an operation waited, which is what a reader that
 * pulls one chunk only when it needs more does, so results, buffer and EOF all compare.
 */
async function replayPull(
  scenario: Scenario,
  index: number,
  open: (chunks: Uint8Array[]) => ReadableStream<Uint8Array>,
  asText: boolean,
): Promise<string | null> {
  const chunks = scenario.steps.flatMap((step) => (step[0] === 'f' ? [fromHex(step[1])] : []));
  const reader = StreamReader.from(open(chunks), { limit: scenario.limit });
  for (let k = 0; k < scenario.pull.ops.length; k++) {
    const step = scenario.steps[scenario.pull.ops[k]!] as OpStep;
    const label = `${where(index, scenario)} pull operation ${k} (step ${scenario.pull.ops[k]}) ${opText(step)}`;
    let promise: Promise<Uint8Array>;
    try {
      promise = startOp(reader, step, asText);
    } catch (error) {
      return `${label} threw synchronously instead of rejecting: ${String(error)}`;
    }
    const settled = await settleWithin(promise);
    if (settled === 'hung') return `${label}: still pending after ${PULL_DEADLINE_MS} ms`;
    const actual = canonical(observed(settled, reader, null));
    const wanted = canonical(scenario.pull.res[k]!);
    if (actual !== wanted) return `${label}: expected ${wanted}, got ${actual}`;
  }
  const label = `${where(index, scenario)} pull, read() of the rest`;
  const settled = await settleWithin(reader.read());
  if (settled === 'hung') return `${label}: still pending after ${PULL_DEADLINE_MS} ms`;
  const actual = canonical(observed(settled, reader, null));
  const wanted = canonical({ r: scenario.pull.rest, b: '', eof: true });
  if (actual !== wanted) return `${label}: expected ${wanted}, got ${actual}`;
  return null;
}

function report(mismatches: string[]): string {
  const shown = mismatches.slice(0, MAX_REPORTED).join('\n');
  const more = mismatches.length > MAX_REPORTED ? `\n... and ${mismatches.length - MAX_REPORTED} more` : '';
  return `${mismatches.length} of ${fixture.scenarios.length} scenarios disagree with CPython ${fixture.python}:\n${shown}${more}`;
}

async function disagreements(replay: (scenario: Scenario, index: number) => Promise<string | null>): Promise<string[]> {
  const mismatches: string[] = [];
  for (const [index, scenario] of fixture.scenarios.entries()) {
    const mismatch = await replay(scenario, index);
    if (mismatch !== null) mismatches.push(mismatch);
  }
  return mismatches;
}

const fixtureSuite = suite('cpython-reader.json');

fixtureSuite('holds a few hundred scenarios that exercise waits, errors and concurrent reads', () => {
  const { scenarios } = fixture;
  assert.ok(scenarios.length >= 300, `only ${scenarios.length} scenarios`);
  const outcomes = scenarios.flatMap((scenario) => scenario.res);
  const errors = new Set(outcomes.flatMap((outcome) => (outcome.x === undefined ? [] : [outcome.x.error])));
  for (const name of ['IncompleteReadError', 'LimitOverrunError', 'RangeError', 'Error', 'set']) {
    assert.ok(errors.has(name), `no ${name} recorded`);
  }
  const waited = scenarios.some((scenario) => {
    const starts = scenario.steps.flatMap((step, i) => (step[0] === 'o' ? [i] : []));
    return scenario.res.some((outcome, k) => outcome.at !== starts[k]);
  });
  assert.ok(waited, 'no operation waited for a feed');
  assert.ok(outcomes.some((outcome) => outcome.x?.cause !== undefined), 'no readline over-limit error');
});

fixtureSuite.run();

const push = suite('StreamReader in push mode against CPython');

push('settles every read after the same step, with the same result, error and buffer', async () => {
  const mismatches = await disagreements(replayPush);
  assert.ok(mismatches.length === 0, report(mismatches));
});

push.run();

const pull = suite('StreamReader in pull mode against CPython');

pull('over a byte stream read with BYOB, gives the same results, errors and buffer', async () => {
  const mismatches = await disagreements((scenario, index) => replayPull(scenario, index, byteStream, false));
  assert.ok(mismatches.length === 0, report(mismatches));
});

pull('over a default stream with string separators, gives the same results, errors and buffer', async () => {
  const mismatches = await disagreements((scenario, index) => replayPull(scenario, index, defaultStream, true));
  assert.ok(mismatches.length === 0, report(mismatches));
});

pull.run();
