/**
 * Runs every spec suite in a child process and ends with one line, `N passed, N failed`,
 * summed over the suites. A suite that leaves a handle open (a socket, a server, a timer)
 * does not exit after its summary: that counts as a failure, and so does a suite that runs
 * past its time limit, instead of a hung CI.
 */
import { spawn } from 'node:child_process';

interface Suite {
  name: string;
  command: string;
  args: string[];
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
const PORTABLE = '^(errors|ring-buffer|separators|cpython-differential|stream-reader[\\w-]*|stream-writer|runtime-[\\w-]+|interop|ponyfill|peer-[\\w-]+)\\.spec\\.ts$';
/** Folders of specs for one runtime only, which the Node suite leaves out. */
const RUNTIME_ONLY = '^(deno|_browser)([\\\\/]|$)';

const suites: Suite[] = [
  {
    name: 'node',
    command: process.execPath,
    args: ['--import', 'tsx', '--import', './spec/_guard.ts', 'node_modules/uvu/bin.js', 'spec', '\\.spec\\.ts$', '--ignore', RUNTIME_ONLY, '--color', 'false'],
  },
  {
    // The npm package's binary; `--sloppy-imports` maps the `.js` of the imports to the `.ts` files.
    name: 'deno',
    command: 'node_modules/.bin/deno',
    args: ['run', '--allow-all', '--sloppy-imports', 'spec/_uvu.ts', 'spec', `${PORTABLE}|^deno[\\\\/].*\\.spec\\.ts$`],
  },
  {
    name: 'bun',
    command: 'node_modules/.bin/bun',
    args: ['spec/_uvu.ts', 'spec', PORTABLE],
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
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
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
  console.log(`\n# ${suite.name}`);
  const outcome = await runSuite(suite);
  passed += outcome.passed;
  failed += outcome.failed;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
