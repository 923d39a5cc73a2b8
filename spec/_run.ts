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

const suites: Suite[] = [
  {
    name: 'node',
    command: process.execPath,
    args: ['--import', 'tsx', 'node_modules/uvu/bin.js', 'spec', '\\.spec\\.ts$', '--color', 'false'],
  },
];

function runSuite(suite: Suite): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(suite.command, suite.args, { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const outcome = await runSuite(suite);
  passed += outcome.passed;
  failed += outcome.failed;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
