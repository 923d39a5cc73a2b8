/**
 * Preloaded into the uvu process (`node --import tsx --import ./spec/_guard.ts ...`), it makes
 * two kinds of fault fail the run that uvu alone would let pass or turn into a silent crash:
 *
 * - An unhandled rejection or an uncaught exception, wherever it comes from. Each one is
 *   printed at once with the spec file, suite and test that were running (uvu runs the files
 *   one after the other), listed again after uvu's summary, and the process exits with code 1.
 *   Node's default would kill the process on the first one and lose every later result.
 * - A handle left open. One second after uvu's summary a process that has not exited is kept
 *   alive by something a test opened: the guard prints `process.getActiveResourcesInfo()`,
 *   what was open at the end of each spec file (where it started), and exits with code 1.
 *   (spec/_run.ts also fails a suite that is still alive 5 s after its summary.)
 *
 * It learns which file and suite run by wrapping the runners uvu queues in `UVU_QUEUE`, which
 * it creates before uvu loads, and counts the pass/fail marks uvu prints to number the tests.
 */
import { inspect } from 'node:util';

interface Position {
  file: string;
  suite: string;
  /** 1-based: the test running now in that suite (its marks printed so far, plus one). */
  test: number;
}

type Runner = () => Promise<unknown>;
type Group = unknown[];

/** How long the process may stay alive after uvu's summary before it counts as leaking. */
const EXIT_GRACE_MS = 1000;
/** What the leak report leaves out: a terminal's stdout, and the close requests of a process that is exiting. */
const IGNORED_RESOURCES = new Set(['CloseReq', 'TTYWrap']);

const faults: string[] = [];
const openAfterFile: Array<{ file: string; resources: string[] }> = [];
let position: Position | null = null;
let awaitingSuiteName = false;
let summarized = false;

function where(): string {
  if (position === null) return summarized ? 'after the summary' : 'while the spec files were loading';
  const suite = position.suite === '' ? '' : ` › ${position.suite}`;
  return `${position.file}${suite} › test ${position.test}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : inspect(error);
}

function record(kind: string, error: unknown): void {
  const at = where();
  faults.push(`${kind} during ${at}: ${error instanceof Error ? `${error.name}: ${error.message}` : inspect(error)}`);
  process.stderr.write(`\n[guard] ${kind} during ${at}:\n${describe(error)}\n`);
}

process.on('unhandledRejection', (reason) => record('unhandled rejection', reason));
process.on('uncaughtException', (error) => record('uncaught exception', error));

/** Takes out of `resources` one of each entry of `baseline`. */
function without(resources: readonly string[], baseline: readonly string[]): string[] {
  const left = [...resources];
  for (const name of baseline) {
    const at = left.indexOf(name);
    if (at !== -1) left.splice(at, 1);
  }
  return left;
}

/**
 * What the process holds before any spec runs: stdout and stderr (pipes under spec/_run.ts,
 * created on first use, hence touched here). A leak report counts only what came after.
 */
void process.stdout;
void process.stderr;
const baseline = process.getActiveResourcesInfo();

function activeResources(): string[] {
  return without(process.getActiveResourcesInfo(), baseline).filter((name) => !IGNORED_RESOURCES.has(name));
}

function tally(resources: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of resources) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, count]) => `${name} x${count}`).join(', ');
}

function noteFileEnd(): void {
  if (position !== null) openAfterFile.push({ file: position.file, resources: activeResources() });
}

function reportAfterSummary(): void {
  if (faults.length > 0) {
    process.stderr.write(`\n[guard] ${faults.length} unhandled error(s):\n${faults.map((fault) => `  - ${fault}\n`).join('')}`);
  }
  const timer = setTimeout(() => {
    const open = activeResources();
    if (open.length === 0) return;
    const hints = openAfterFile
      .filter((entry) => entry.resources.length > 0)
      .map((entry) => `  after ${entry.file}: ${tally(entry.resources)}\n`)
      .join('');
    process.stderr.write(
      `\n[guard] still running ${EXIT_GRACE_MS} ms after the summary, kept alive by: ${tally(open)}\n` +
        (hints === '' ? '' : `[guard] open at the end of each spec file that left something:\n${hints}`),
    );
    process.exit(1);
  }, EXIT_GRACE_MS);
  timer.unref();
}

/** Watches uvu's output: a suite runner prints its name first, then one mark per test. */
const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  const text = (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')).replace(/\x1b\[[0-9;]*m/g, '');
  if (position !== null && /^[•✘] $/.test(text)) {
    awaitingSuiteName = false;
    position.test += 1;
  } else if (awaitingSuiteName && position !== null) {
    awaitingSuiteName = false;
    position.suite = text.trim();
  }
  const written = write(chunk, ...rest);
  if (!summarized && text.includes('Duration:')) {
    summarized = true;
    noteFileEnd();
    position = null;
    reportAfterSummary();
  }
  return written;
}) as typeof process.stdout.write;

function wrapRunner(file: string, runner: Runner): Runner {
  return () => {
    if (position !== null && position.file !== file) noteFileEnd();
    position = { file, suite: '', test: 1 };
    awaitingSuiteName = true;
    return runner();
  };
}

/** uvu's `run()` pushes `[file]` for each spec file, then each suite's `.run()` pushes its runner. */
function trackGroup(group: Group): Group {
  const file = String(group[0]);
  group.push = (...runners: unknown[]): number =>
    Array.prototype.push.apply(group, runners.map((runner) => wrapRunner(file, runner as Runner)));
  return group;
}

const queue: Group[] = [];
queue.push = (...groups: Group[]): number => Array.prototype.push.apply(queue, groups.map(trackGroup));
(globalThis as { UVU_QUEUE?: Group[] }).UVU_QUEUE = queue;

process.on('exit', () => {
  // uvu sets process.exitCode after its summary; this runs later and wins.
  if (faults.length > 0) process.exitCode = 1;
});
