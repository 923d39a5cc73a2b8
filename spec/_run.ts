/**
 * Runs every spec suite in a child process and ends with one line, `N passed, N failed`,
 * summed over the suites. A suite that leaves a handle open never exits: the time limit
 * turns that leak into a failure instead of a hung CI.
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

const SUITE_TIME_LIMIT_MS = 15 * 60 * 1000;

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
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      output += text;
      process.stdout.write(text);
    });
    const timer = setTimeout(() => {
      console.error(`\n${suite.name}: still running after ${SUITE_TIME_LIMIT_MS / 1000} s (a leaked handle?), killed`);
      child.kill('SIGKILL');
    }, SUITE_TIME_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      // A suite that crashed or hung counts as one failure even if uvu never printed a summary.
      const failed = Math.max(total - passed, code === 0 ? 0 : 1);
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
