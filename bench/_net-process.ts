/**
 * Process plumbing for the network benchmarks: start a server process and learn its port,
 * read a process's CPU time and peak RSS from /proc, stop it for sure. Every wait here is
 * bounded in time, and every process started here is killed by `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: `--import tsx` resolves from the working directory. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** A command and its extra environment. */
export interface Command {
  argv: string[];
  env?: Record<string, string>;
}

/** `node --import tsx FILE ARGS`, with this Node. */
export function tsxCommand(file: string, args: string[]): Command {
  return { argv: [process.execPath, '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args] };
}

/** The interpreter behind a pyenv shim: runs it directly, so its pid is the one we watch. */
export function pythonPath(pyenvVersion: string): string {
  const found = spawnSync('pyenv', ['which', 'python3'], { encoding: 'utf8', env: { ...process.env, PYENV_VERSION: pyenvVersion } });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : 'python3';
}

/** Prefixes `command` with `taskset -c CPU` when `cpu` is given. */
export function pinned(command: Command, cpu: number | null): Command {
  return cpu === null ? command : { ...command, argv: ['taskset', '-c', String(cpu), ...command.argv] };
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** What the process printed after `PORT n`, line by line. */
  lines: string[];
  port: number;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  stderr: () => string;
}

/**
 * Starts `command` (stdin a pipe: the servers exit when it closes) and waits, at most
 * `timeoutMs`, for it to print `PORT <n>`.
 */
export function startProcess(command: Command, timeoutMs = 20_000): Promise<Started> {
  const [file, ...args] = command.argv;
  const child = spawn(file!, args, {
    cwd: repoRoot,
    env: { ...process.env, ...command.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const lines: string[] = [];
  return new Promise<Started>((resolve, reject) => {
    let pending = '';
    let port = 0;
    const timer = setTimeout(() => fail(new Error(`no PORT line within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${command.argv.join(' ')}: ${error.message}; stderr: ${stderr.trim().slice(-2000)}`));
    };
    child.on('error', fail);
    void exited.then((code) => {
      if (port === 0) fail(new Error(`exited with ${code} before printing its port`));
    });
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        const match = /^PORT (\d+)$/.exec(line);
        if (port === 0 && match) {
          port = Number(match[1]);
          clearTimeout(timer);
          resolve({ child, pid: child.pid!, lines, port, exited, stderr: () => stderr });
        } else if (line) {
          lines.push(line);
        }
      }
    });
  });
}

/** Waits at most `timeoutMs` for the process to exit by itself, then kills it. */
export async function waitOrKill(started: Started, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([started.exited, timeout]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return outcome;
  await stop(started);
  throw new Error(`${started.pid} did not finish within ${timeoutMs} ms; stderr: ${started.stderr().trim().slice(-2000)}`);
}

/** Ends the process: stdin closed and SIGTERM, SIGKILL if it is still there after 2 s. */
export async function stop(started: Started): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return;
  started.child.stdin?.end();
  started.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 2000);
  });
  if ((await Promise.race([started.exited, late])) === 'late') {
    started.child.kill('SIGKILL');
    await started.exited;
  }
  clearTimeout(timer);
}

/** User + system CPU seconds of every thread of `pid` so far, or null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** Peak resident set (VmHWM) of `pid` in MB, or null when it is gone. */
export function processPeakRssMB(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? (Number(match[1]) * 1024) / 1e6 : null;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), or null without /proc/stat. */
export function machineBusySeconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** What a process run to its end printed. */
export interface Finished {
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` to its end (killed after `timeoutMs`) and returns its output.
 * @throws when it fails to start, exits non-zero, or runs out of time
 */
export function runToEnd(command: Command, timeoutMs: number): Promise<Finished> {
  const [file, ...args] = command.argv;
  const child = spawn(file!, args, {
    cwd: repoRoot,
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  return new Promise<Finished>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) {
        resolve({ stdout, stderr });
        return;
      }
      const why = timedOut ? `ran out of its ${timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(new Error(`${command.argv.join(' ')} ${why}; stderr: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** The JSON after `tag ` on the first line of `stdout` that starts with it. */
export function taggedJson<T>(stdout: string, tag: string): T {
  const line = stdout.split('\n').find((text) => text.startsWith(`${tag} `));
  if (line === undefined) throw new Error(`no ${tag} line in: ${stdout.trim().slice(-2000)}`);
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

/**
 * Waits until the other processes have used less than `maxCores` for half a second, or gives
 * up after `seconds` (as run.ts does before each run); returns the cores last seen busy.
 */
export async function waitForQuiet(seconds: number, maxCores = 0.3): Promise<number | null> {
  if (seconds <= 0) return null;
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; i < 1000; i++) {
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = machineBusySeconds();
    if (before === null || after === null) return null;
    const cores = (after - before) / 0.5;
    if (cores < maxCores || Date.now() > deadline) return cores;
  }
  return null;
}

/**
 * CPU seconds of this process plus every child it has waited for (the servers, clients and
 * builds it ran): what `run.ts` should count as this benchmark's own when it works out how
 * much CPU other processes took. Null without /proc.
 */
export function selfAndChildrenCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of proc(5), 11-14 after the command name.
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
  } catch {
    return null;
  }
}
