/**
 * Replays the scenarios of fixtures/cpython-reader.json, recorded from CPython 3.13's
 * asyncio.StreamReader by fixtures/cpython-reader.py (which documents the format), against
 * our StreamReader: in push mode step by step, and in pull mode over a byte stream and a
 * default stream. Each test reports the first disagreement of every scenario that has one.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader } from '../lib/index.ts';
import {
  byteStream,
  canonical,
  canonicalError,
  chunksOf,
  defaultStream,
  fromHex,
  loadFixture,
  observed,
  opText,
  pullOpsOf,
  recordError,
  settleWithin,
  startNowaitFirst,
  startOp,
  type OpStep,
  type RecordedError,
  type Scenario,
  type Settled,
} from './_cpython-replay.ts';

const fixture = loadFixture();

/** How long a pull-mode read may stay pending before it counts as hung (its source is all there). */
const PULL_DEADLINE_MS = 2000;

const MAX_REPORTED = 20;

function where(index: number, scenario: Scenario): string {
  return `scenario ${index} (fixture line ${index + 2}, limit ${scenario.limit})`;
}

interface Running {
  k: number;
  step: number;
  settled: Settled | null;
}

/** How an operation is started: as it is, or as a nowait loop runs it (see `startNowaitFirst`). */
type Start = (reader: StreamReader, step: OpStep, asText: boolean) => Promise<Uint8Array | null>;

/** Operations the nowait forms settled in the nowait-first replays. */
const servedNow = { count: 0 };
const nowaitFirst: Start = (reader, step, asText) => startNowaitFirst(reader, step, asText, servedNow);

/** Runs the steps in order, letting every promise job run after each; returns the first disagreement. */
async function replayPush(scenario: Scenario, index: number, start: Start = startOp): Promise<string | null> {
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
          let promise: Promise<Uint8Array | null>;
          try {
            promise = start(reader, step, false);
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

/**
 * Runs the scenario's operations one after the other on a reader pulling from `open(chunks)`.
 * CPython's side fed the next chunk whenever an operation waited, which is what a reader that
 * pulls one chunk only when it needs more does, so results, buffer and EOF all compare.
 */
async function replayPull(
  scenario: Scenario,
  index: number,
  open: (chunks: readonly Uint8Array[]) => ReadableStream<Uint8Array>,
  asText: boolean,
  start: Start = startOp,
): Promise<string | null> {
  const reader = StreamReader.from(open(chunksOf(scenario)), { limit: scenario.limit });
  const ops = pullOpsOf(scenario);
  for (let k = 0; k < ops.length; k++) {
    const step = ops[k]!;
    const label = `${where(index, scenario)} pull operation ${k} (step ${scenario.pull.ops[k]}) ${opText(step)}`;
    let promise: Promise<Uint8Array | null>;
    try {
      promise = start(reader, step, asText);
    } catch (error) {
      return `${label} threw synchronously instead of rejecting: ${String(error)}`;
    }
    const settled = await settleWithin(promise, PULL_DEADLINE_MS);
    if (settled === 'hung') return `${label}: still pending after ${PULL_DEADLINE_MS} ms`;
    const actual = canonical(observed(settled, reader, null));
    const wanted = canonical(scenario.pull.res[k]!);
    if (actual !== wanted) return `${label}: expected ${wanted}, got ${actual}`;
  }
  const label = `${where(index, scenario)} pull, read() of the rest`;
  const settled = await settleWithin(reader.read(), PULL_DEADLINE_MS);
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

const nowait = suite('The nowait forms against CPython: each readline/readuntil/readexactly as a nowait loop runs it');

nowait('in push mode, nowait first and the waiting form only on null: the same results, errors and buffer, settled after the same step', async () => {
  const before = servedNow.count;
  const mismatches = await disagreements((scenario, index) => replayPush(scenario, index, nowaitFirst));
  assert.ok(mismatches.length === 0, report(mismatches));
  assert.ok(servedNow.count - before > 100, `the nowait forms settled only ${servedNow.count - before} operations`);
});

nowait('in pull mode over a byte stream (BYOB) and a default stream, the same', async () => {
  const before = servedNow.count;
  const mismatches = [
    ...(await disagreements((scenario, index) => replayPull(scenario, index, byteStream, false, nowaitFirst))),
    ...(await disagreements((scenario, index) => replayPull(scenario, index, defaultStream, true, nowaitFirst))),
  ];
  assert.ok(mismatches.length === 0, report(mismatches));
  assert.ok(servedNow.count - before > 100, `the nowait forms settled only ${servedNow.count - before} operations`);
});

nowait.run();
