/**
 * Runs every spec suite in a child process and ends with one line, `N passed, N failed`,
 * summed over the suites. A suite that leaves a handle open (a socket, a server, a timer)
 * does not exit after its summary: that counts as a failure, and so does a suite that runs
 * past its time limit, instead of a hung CI.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

interface Suite {
  name: string;
  command: string;
  args: string[];
  /** Variables set for this suite alone. */
  env?: Record<string, string>;
}

interface Outcome {
  passed: number;
  failed: number;
}

const SUITE_TIME_LIMIT_MS = 10 * 60 * 1000;
/** How long a suite may take to exit once it has printed its summary. */
const EXIT_GRACE_MS = 5 * 1000;

/**
 * The spec files that use nothing of a particular runtime (the reader, the writer, and the
 * connection functions through the public API): Deno and Bun run these too.
 */
const PORTABLE = '^(errors|byte-buffer|abortable|connect|pull-source|separators|cpython-differential|reader-fuzz|stream-reader[\\w-]*|stream-writer|runtime-[\\w-]+|interop|ponyfill|write-queue|peer-[\\w-]+)\\.spec\\.ts$';
/**
 * Specs of the Node adapter (and of the connection functions against hostile peers, and of
 * bounded memory) that pass on Deno and Bun too: Deno and Bun run these besides the portable
 * ones. `faults` runs the runtime's own adapter (the Deno one on Deno); the others run
 * `NodeSocket`, which Bun's entry is and Deno's `asyncio-streams/node` gives, over the
 * runtime's `node:net` (and its `node:tls`, whose paused TLS socket
 * `stopReadsUnderWhenPaused()` fixes).
 */
const NODE_ADAPTER_ALSO = '^(faults|node-socket|open-connection|start-server|start-tls|bounded-memory)\\.spec\\.ts$';
/**
 * The connection specs (and those of the connection functions against hostile peers), which
 * Bun runs a second time with JavaScriptCore collecting garbage continuously
 * (`BUN_JSC_collectContinuously`): a connection the library forgot to hold is then closed by a
 * collection under a spec in most runs, instead of once in a while in production. A server's
 * callback still running lost its connection so: with that fix undone, and without its spec's
 * forced collections, this suite failed the spec two runs in three, the plain Bun suite none
 * in three, and Node with V8's `--gc-interval` none either.
 */
const UNDER_CONSTANT_GC = `^(runtime-[\\w-]+|peer-[\\w-]+)\\.spec\\.ts$|${NODE_ADAPTER_ALSO}|^bun[\\\\/].*\\.spec\\.ts$`;
/** Folders of specs for one runtime only, which the Node suite leaves out. */
const RUNTIME_ONLY = '^(deno|bun|_browser)([\\\\/]|$)';

/**
 * The Node versions the Node suite runs on, every maintained one and the oldest the package
 * supports: the binaries of the npm packages in spec/node-versions/, which `npm ci` installs (the
 * root's `dependencies` script), so the suite never depends on the `node` that runs `npm test`.
 */
const NODE_MAJORS = [20, 22, 24, 26];

/** The version of the package installed in `dir` (a runtime's, which is the runtime's version). */
function versionIn(dir: string): string {
  return (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version: string }).version;
}

/** A Node suite, on the binary spec/node-versions/ has for `major` on this platform. */
function nodeSuite(major: number): Suite | string {
  const dir = `spec/node-versions/node_modules/node-${major}-${process.platform}-${process.arch}`;
  const command = `${dir}/bin/node`;
  if (!existsSync(command)) return `node ${major}: no binary at ${command} (npm ci installs spec/node-versions/; it has linux-x64 and linux-arm64)`;
  return {
    name: `node ${versionIn(dir)}`,
    command,
    args: ['--import', 'tsx', '--import', './spec/_guard.ts', 'node_modules/uvu/bin.js', 'spec', '\\.spec\\.ts$', '--ignore', RUNTIME_ONLY, '--color', 'false'],
  };
}

const suites: Array<Suite | string> = [
  ...NODE_MAJORS.map(nodeSuite),
  {
    // The npm package's binary; `--unstable-net` lets `Deno.listen()` take `reusePort`.
    name: `deno ${versionIn('node_modules/deno')}`,
    command: 'node_modules/.bin/deno',
    args: ['run', '--allow-all', '--unstable-net', 'spec/_uvu.ts', 'spec', `${PORTABLE}|${NODE_ADAPTER_ALSO}|^deno[\\\\/].*\\.spec\\.ts$`],
  },
  {
    name: `bun ${versionIn('node_modules/bun')}`,
    command: 'node_modules/.bin/bun',
    args: ['spec/_uvu.ts', 'spec', `${PORTABLE}|${NODE_ADAPTER_ALSO}|^bun[\\\\/].*\\.spec\\.ts$`],
  },
  {
    name: `bun ${versionIn('node_modules/bun')}, collecting garbage continuously`,
    command: 'node_modules/.bin/bun',
    args: ['spec/_uvu.ts', 'spec', UNDER_CONSTANT_GC],
    env: { BUN_JSC_collectContinuously: '1' },
  },
  {
    // Headless Chromium on a page that runs the portable reader specs; skipped, with a notice,
    // only where no chromium is installed.
    name: 'chromium',
    command: process.execPath,
    args: ['--import', 'tsx', 'spec/_browser/run.ts'],
  },
];

function runSuite(suite: Suite): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(suite.command, suite.args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...suite.env },
    });
    let output = '';
    let leaked = false;
    let exitTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      output += text;
      process.stdout.write(text);
      if (exitTimer === undefined && /Duration:/.test(output)) {
        exitTimer = setTimeout(() => {
          leaked = true;
          console.error(`\n${suite.name}: did not exit ${EXIT_GRACE_MS / 1000} s after its summary: a handle was left open`);
          child.kill('SIGKILL');
        }, EXIT_GRACE_MS);
      }
    });
    const timer = setTimeout(() => {
      console.error(`\n${suite.name}: still running after ${SUITE_TIME_LIMIT_MS / 1000} s, killed`);
      child.kill('SIGKILL');
    }, SUITE_TIME_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(exitTimer);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      // A suite that crashed or hung counts as one failure even if uvu never printed a summary.
      const failed = Math.max(total - passed, code === 0 && !leaked ? 0 : 1);
      resolve({ passed, failed });
    });
  });
}

let passed = 0;
let failed = 0;
for (const suite of suites) {
  if (typeof suite === 'string') {
    // A runtime that is not installed fails the run: CI must never pass on fewer runtimes.
    console.error(`\n${suite}`);
    failed += 1;
    continue;
  }
  console.log(`\n# ${suite.name}`);
  const outcome = await runSuite(suite);
  passed += outcome.passed;
  failed += outcome.failed;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
