/**
 * Reading and replaying fixtures/cpython-reader.json, the scenarios recorded from CPython
 * 3.13's asyncio.StreamReader by fixtures/cpython-reader.py (which documents the format):
 * the fixture's types, hex helpers, starting a recorded operation on our reader, recording
 * its outcome in the fixture's shape, comparing outcomes, and the kinds of source a
 * pull-mode replay reads from. Used by cpython-differential.spec.ts and reader-fuzz.spec.ts
 * (both run under Deno and Bun too).
 */
import { readFileSync } from 'node:fs';
import { IncompleteReadError, LimitOverrunError, type StreamReader } from '../lib/index.ts';

export type Hex = string;

export interface RecordedError {
  error: string;
  message: string;
  partial?: Hex;
  expected?: number | null;
  consumed?: number;
  cause?: RecordedError;
}

export type OpStep =
  | ['o', 'read', number]
  | ['o', 'readline']
  | ['o', 'readexactly', number]
  | ['o', 'readuntil']
  | ['o', 'readuntil', Hex | Hex[]]
  | NowaitStep
  | IntoStep;

/** The non-waiting forms: the fixture holds none, reader-fuzz.spec.ts makes them up. */
export type NowaitStep =
  | ['o', 'readlineNowait']
  | ['o', 'readexactlyNowait', number]
  | ['o', 'readuntilNowait']
  | ['o', 'readuntilNowait', Hex | Hex[]];

/**
 * The reads into a caller's buffer, of a view of `n` bytes: the fixture holds none (asyncio has
 * no `readinto`), reader-fuzz.spec.ts makes them up from `read(n)` and `readexactly(n)`, whose
 * outcomes they must have. Their result is recorded as the bytes they wrote.
 */
export type IntoStep = ['o', 'readinto', number] | ['o', 'readexactlyInto', number];

export type Step = ['f', Hex] | ['F', Hex, RecordedError] | ['e'] | ['x'] | OpStep;

export interface Outcome {
  /** The result; `null` is a nowait call's "would have to wait". */
  r?: Hex | null;
  x?: RecordedError;
  b: Hex;
  eof?: boolean;
}

export interface Scenario {
  limit: number;
  steps: Step[];
  res: Array<Outcome & { at: number }>;
  pull: { ops: number[]; res: Outcome[]; rest: Hex };
}

export interface Fixture {
  python: string;
  seed: number;
  scenarios: Scenario[];
}

export function loadFixture(): Fixture {
  return JSON.parse(readFileSync(new URL('./fixtures/cpython-reader.json', import.meta.url), 'utf8')) as Fixture;
}

/** CPython names its methods in snake_case; ours are camelCase (API.md's naming rule). */
const RENAMED_MESSAGES: Record<string, string> = { 'feed_data after feed_eof': 'feedData after feedEof' };

export function fromHex(hex: Hex): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export function toHex(bytes: Uint8Array): Hex {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** The chunks a scenario feeds (its "f" steps), in order. */
export function chunksOf(scenario: Scenario): Uint8Array[] {
  return scenario.steps.flatMap((step) => (step[0] === 'f' ? [fromHex(step[1])] : []));
}

/** The operations a pull-mode replay runs, one after the other. */
export function pullOpsOf(scenario: Scenario): OpStep[] {
  return scenario.pull.ops.map((index) => scenario.steps[index] as OpStep);
}

/** A separator as `readuntil` takes it; ASCII ones as strings when `asText`, to cover that path too. */
export function separatorOf(hex: Hex, asText: boolean): Uint8Array | string {
  const bytes = fromHex(hex);
  return asText && bytes.every((byte) => byte < 0x80) ? String.fromCharCode(...bytes) : bytes;
}

/** A nowait call's outcome as a promise, so that a replay treats every operation alike. */
function now(call: () => Uint8Array | null): Promise<Uint8Array | null> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

function separatorsOf(spec: Hex | Hex[], asText: boolean): Uint8Array | string | Array<Uint8Array | string> {
  return Array.isArray(spec) ? spec.map((hex) => separatorOf(hex, asText)) : separatorOf(spec, asText);
}

export function startOp(reader: StreamReader, step: OpStep, asText: boolean): Promise<Uint8Array | null> {
  switch (step[1]) {
    case 'read':
      return reader.read(step[2]);
    case 'readline':
      return reader.readline();
    case 'readexactly':
      return reader.readexactly(step[2]);
    case 'readuntil':
      return step.length === 2 ? reader.readuntil() : reader.readuntil(separatorsOf(step[2], asText));
    case 'readinto':
    case 'readexactlyInto':
      return readInto(reader, step);
    default:
      return now(() => startOpNow(reader, step, asText));
  }
}

/** How many bytes on each side of a view a read into it must leave alone, and their value. */
const GUARD_BYTES = 7;
const GUARD_VALUE = 0xa5;

/**
 * Runs `step` into a view in the middle of a larger buffer filled with `GUARD_VALUE`, and
 * gives the bytes it wrote as the result. It fails instead when a byte it must not touch
 * changed: outside the view, or, for `readinto()`, past the count it returned. Every third
 * size reads into a `DataView`, so that views other than `Uint8Array` are covered too.
 */
async function readInto(reader: StreamReader, step: IntoStep): Promise<Uint8Array> {
  const n = step[2];
  const backing = new Uint8Array(n + 2 * GUARD_BYTES).fill(GUARD_VALUE);
  const view = n % 3 === 0 ? new DataView(backing.buffer, GUARD_BYTES, n) : backing.subarray(GUARD_BYTES, GUARD_BYTES + n);
  let written = n;
  try {
    if (step[1] === 'readinto') written = await reader.readinto(view);
    else await reader.readexactlyInto(view);
  } catch (error) {
    // After an error what the view holds is unspecified, but not what is around it.
    checkGuards(backing, n, n, step);
    throw error;
  }
  checkGuards(backing, n, written, step);
  return backing.slice(GUARD_BYTES, GUARD_BYTES + written);
}

function checkGuards(backing: Uint8Array, n: number, written: number, step: IntoStep): void {
  const untouched = [...backing.subarray(0, GUARD_BYTES), ...backing.subarray(GUARD_BYTES + written)];
  if (untouched.some((byte) => byte !== GUARD_VALUE)) {
    throw new Error(`${opText(step)} wrote outside the ${written} bytes it reports (view of ${n}): ${toHex(backing)}`);
  }
}

/** The nowait form of a waiting operation, if it has one. */
export function nowaitOf(step: OpStep): NowaitStep | null {
  switch (step[1]) {
    case 'readline':
      return ['o', 'readlineNowait'];
    case 'readexactly':
      return ['o', 'readexactlyNowait', step[2]];
    case 'readuntil':
      return step.length === 2 ? ['o', 'readuntilNowait'] : ['o', 'readuntilNowait', step[2]];
    default:
      return null;
  }
}

/**
 * `step` as a nowait loop runs it: the nowait form first, the waiting form only when that
 * returns `null`. Its outcome must be exactly the waiting form's. `served` counts the
 * operations the nowait form settled (so a replay can tell it was not always `null`).
 */
export function startNowaitFirst(reader: StreamReader, step: OpStep, asText: boolean, served: { count: number }): Promise<Uint8Array | null> {
  const nowait = nowaitOf(step);
  if (nowait === null) return startOp(reader, step, asText);
  let result: Uint8Array | null;
  try {
    result = startOpNow(reader, nowait, asText);
  } catch (error) {
    served.count += 1;
    return Promise.reject(error);
  }
  if (result === null) return startOp(reader, step, asText);
  served.count += 1;
  return Promise.resolve(result);
}

function startOpNow(reader: StreamReader, step: NowaitStep, asText: boolean): Uint8Array | null {
  switch (step[1]) {
    case 'readlineNowait':
      return reader.readlineNowait();
    case 'readexactlyNowait':
      return reader.readexactlyNowait(step[2]);
    case 'readuntilNowait':
      return step.length === 2 ? reader.readuntilNowait() : reader.readuntilNowait(separatorsOf(step[2], asText));
  }
}

export function opText(step: OpStep): string {
  if (step.length === 2) return `${step[1]}()`;
  const argument = step[2];
  if (typeof argument === 'number') return `${step[1]}(${argument})`;
  return `${step[1]}(${Array.isArray(argument) ? `[${argument.map((hex) => `'${hex}'`).join(', ')}]` : `'${argument}'`})`;
}

/** An error as the fixture records it; `boom` is what a `set_exception` step stored. */
export function recordError(error: unknown, boom: unknown): RecordedError {
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
export function canonicalError(error: RecordedError): RecordedError {
  return {
    error: error.error,
    message: RENAMED_MESSAGES[error.message] ?? error.message,
    partial: error.partial,
    expected: error.expected,
    consumed: error.consumed,
    cause: error.cause === undefined ? undefined : canonicalError(error.cause),
  } as RecordedError;
}

export function canonical(outcome: Outcome): string {
  return JSON.stringify({
    r: outcome.r,
    x: outcome.x === undefined ? undefined : canonicalError(outcome.x),
    b: outcome.b,
    eof: outcome.eof === true,
  });
}

export type Settled = { value: Uint8Array | null } | { error: unknown };

/** The outcome of a settled operation and the reader's state right after, in the fixture's shape. */
export function observed(settled: Settled, reader: StreamReader, boom: unknown): Outcome {
  const result = 'value' in settled
    ? { r: settled.value === null ? null : toHex(settled.value) }
    : { x: recordError(settled.error, boom) };
  return { ...result, b: toHex(reader._peekBuffer()), eof: reader.atEof() };
}

/** Gives one chunk per pull, and only when a read is pending (high-water mark 0). */
export function byteStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
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

/**
 * Answers each read with the next chunk, or as much of it as a BYOB read's view holds (as a
 * socket fills the buffer it is given), and appends each answer to `delivered`: the chunks as
 * the reader got them.
 */
export function sizedByteStream(chunks: readonly Uint8Array[], delivered: Uint8Array[]): ReadableStream<Uint8Array> {
  const left = chunks.filter((chunk) => chunk.length > 0);
  return new ReadableStream(
    {
      type: 'bytes',
      pull(controller) {
        const chunk = left.shift();
        if (chunk === undefined) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const request = controller.byobRequest;
        if (request === null) {
          delivered.push(chunk);
          controller.enqueue(chunk.slice());
          return;
        }
        const view = request.view!;
        const count = Math.min(view.byteLength, chunk.length);
        new Uint8Array(view.buffer, view.byteOffset, count).set(chunk.subarray(0, count));
        if (count < chunk.length) left.unshift(chunk.subarray(count));
        delivered.push(chunk.subarray(0, count));
        request.respond(count);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Holds every chunk, empty ones included, from the start; a default reader takes one per read. */
export function defaultStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk.slice());
      controller.close();
    },
  });
}

/** `promise` settled, or `'hung'` when it is still pending after `ms`. */
export async function settleWithin(promise: Promise<Uint8Array | null>, ms: number): Promise<Settled | 'hung'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
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
