/**
 * Real peers for the specs: programs written by others (redis-server, nginx, openssl, curl,
 * socat, python3) and the examples, started as child processes, waited for with a time limit,
 * and stopped by their pid. Only `node:child_process` and `node:net`, which Node, Deno and Bun
 * all have, so the peer specs run on each. A missing program fails the spec that needs it
 * (never a skip).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { leakFree } from './_leaks.ts';
import { watchUnhandled } from './_loopback.ts';
import { runtime } from './_runtime.ts';

/** How long a peer may take to become ready: far above the ~50 ms they take, so only a hang trips it. */
const READY_MS = 15_000;
/** How long a stopped peer may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_MS = 5_000;

export interface PeerExit {
  code: number | null;
  signal: string | null;
}

export interface PeerOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

export interface StartOptions extends PeerOptions {
  /** When the peer is ready: a pattern its output (stdout and stderr) matches, or a probe that turns true. */
  ready: RegExp | (() => Promise<boolean>);
  /** The bound on getting ready, in ms. */
  readyMs?: number;
}

/** A running child process: its output so far, its exit, and a bounded `stop()`. */
export class PeerProcess {
  readonly child: ChildProcess;
  readonly command: string;
  readonly #stdout: Uint8Array[] = [];
  readonly #stderr: Uint8Array[] = [];
  readonly exited: Promise<PeerExit>;
  #onOutput: (() => void) | null = null;

  constructor(command: string, args: readonly string[], options: PeerOptions = {}) {
    this.command = command;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      // nginx and redis-server live in /usr/sbin on Debian, which a non-root PATH lacks.
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        const missing = error.code === 'ENOENT' ? ` (${command} is not installed: .ci/run installs it from Debian)` : '';
        reject(new Error(`could not run ${command}${missing}: ${error.message}`, { cause: error }));
      });
      // 'close', not 'exit': it comes once the output pipes are drained too (on Deno the last
      // of stdout can arrive after 'exit').
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    // Whoever awaits `exited` sees the failure; this keeps an early one from going unhandled.
    this.exited.catch(() => {});
    const keep = (chunks: Uint8Array[]) => (chunk: Uint8Array) => {
      chunks.push(chunk);
      this.#onOutput?.();
    };
    this.child.stdout!.on('data', keep(this.#stdout));
    this.child.stderr!.on('data', keep(this.#stderr));
    this.child.stdin!.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the peer wrote to stdout so far (latin-1: a byte per character). */
  stdout(): string {
    return Buffer.concat(this.#stdout).toString('latin1');
  }

  stderr(): string {
    return Buffer.concat(this.#stderr).toString('latin1');
  }

  /** Whether the process has exited (or never started). */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** The first match of `pattern` in stdout + stderr, waiting at most `ms`; fails if the peer exits first. */
  async waitFor(pattern: RegExp, ms = READY_MS): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    const ended = this.exited.then(() => 'exited', (error: unknown) => error);
    for (;;) {
      const match = (this.stdout() + this.stderr()).match(pattern);
      if (match !== null) return match;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.command} did not print ${pattern} within ${ms} ms; ${this.describe()}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const more = new Promise<'more'>((resolve) => {
        this.#onOutput = () => resolve('more');
        timer = setTimeout(() => resolve('more'), Math.min(left, 100));
      });
      const next = await Promise.race([more, ended]);
      clearTimeout(timer);
      this.#onOutput = null;
      if (next instanceof Error) throw next;
      if (next === 'exited' && (this.stdout() + this.stderr()).match(pattern) === null) {
        throw new Error(`${this.command} exited before printing ${pattern}; ${this.describe()}`);
      }
    }
  }

  /** Waits (at most `ms`) for the peer to exit by itself. */
  async exit(ms = READY_MS): Promise<PeerExit> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.command} still running after ${ms} ms; ${this.describe()}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the peer by its pid: SIGTERM, then SIGKILL if it has not exited within `STOP_MS`. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) {
      await this.exited.catch(() => {});
      this.#closePipes();
      return;
    }
    signal(pid, 'SIGTERM');
    try {
      await this.exit(STOP_MS);
    } catch {
      signal(pid, 'SIGKILL');
      await this.exit(STOP_MS);
    } finally {
      this.#closePipes();
    }
  }

  /** The peer's exit and output, for failure messages. */
  describe(): string {
    const exit = this.running ? 'running' : `exit ${this.child.exitCode ?? this.child.signalCode}`;
    return `${exit}; stdout: ${this.stdout().slice(-2000)} stderr: ${this.stderr().slice(-2000)}`;
  }

  #closePipes(): void {
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }
}

function signal(pid: number, name: 'SIGTERM' | 'SIGKILL'): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    // Already gone (ESRCH): nothing left to stop.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Starts `command args` and resolves once it is ready (see `PeerOptions.ready`); stops it and
 * fails when it exits first or is not ready within the bound.
 *
 * @example
 * ```ts
 * const peer = await startPeer('redis-server', ['--port', String(port)], { ready: () => canConnect(port) });
 * try { ... } finally { await peer.stop(); }
 * ```
 */
export async function startPeer(command: string, args: readonly string[], options: StartOptions): Promise<PeerProcess> {
  const peer = new PeerProcess(command, args, options);
  const ms = options.readyMs ?? READY_MS;
  try {
    const ready = options.ready;
    if (ready instanceof RegExp) await peer.waitFor(ready, ms);
    else await probeUntil(peer, ready, ms);
    if (!peer.running) throw new Error(`${command} exited at start; ${peer.describe()}`);
    return peer;
  } catch (error) {
    await peer.stop().catch(() => {});
    throw error;
  }
}

async function probeUntil(peer: PeerProcess, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    // An exit (or a failure to start) ends the wait at once.
    const exited = await Promise.race([peer.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 0))]);
    if (exited) throw new Error(`${peer.command} exited before it was ready; ${peer.describe()}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${peer.command} was not ready within ${ms} ms; ${peer.describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs `command args` to its end, with `input` on stdin, and resolves with its exit and
 * output; kills it by pid when it runs past `ms`.
 */
export async function runPeer(
  command: string,
  args: readonly string[],
  { input, ms = 60_000, cwd, env }: PeerOptions & { input?: string | Uint8Array; ms?: number } = {},
): Promise<PeerExit & { stdout: string; stderr: string; peer: PeerProcess }> {
  const peer = new PeerProcess(command, args, { cwd, env });
  try {
    if (input !== undefined) peer.child.stdin!.write(input);
    peer.child.stdin!.end();
    const exit = await peer.exit(ms);
    return { ...exit, stdout: peer.stdout(), stderr: peer.stderr(), peer };
  } finally {
    await peer.stop();
  }
}

/**
 * A TCP port on 127.0.0.1 that the OS just handed out and that is free again, for a peer that
 * must be told its port. Another process could take it in between; the port range makes that
 * rare, and the peer then fails to start, loudly.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts a TCP connection on `host:port` (or a Unix socket at `path`) now. */
export function accepts(where: { port: number; host?: string } | { path: string }): Promise<boolean> {
  if ('path' in where && !existsSync(where.path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = 'path' in where ? connect({ path: where.path }) : connect({ host: where.host ?? '127.0.0.1', port: where.port });
    const settle = (ok: boolean) => () => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', settle(true));
    socket.once('error', settle(false));
  });
}

/** The repository's root, where the examples are run from. */
export const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs `examples/NAME.ts ARGS` on the runtime the spec runs on (Node through tsx, Deno, Bun),
 * from the repository's root, so `import ... from 'asyncio-streams'` resolves to the sources
 * (tsconfig `paths` for tsx and Bun, `deno.json` `imports` for Deno).
 */
export function runExample(
  name: string,
  args: readonly string[] = [],
  options: { ms?: number; env?: Record<string, string> } = {},
): ReturnType<typeof runPeer> {
  return runPeer(process.execPath, exampleArgs(name, args), { cwd: root, ms: options.ms ?? 60_000, env: options.env });
}

/** Starts `examples/NAME.ts ARGS` as `runExample` does, for an example that serves until stopped. */
export function startExample(name: string, args: readonly string[], options: StartOptions): Promise<PeerProcess> {
  return startPeer(process.execPath, exampleArgs(name, args), { cwd: root, ...options });
}

function exampleArgs(name: string, args: readonly string[]): string[] {
  const file = `examples/${name}.ts`;
  const runtimeArgs = runtime === 'deno' ? ['run', '--allow-all', file] : runtime === 'bun' ? [file] : ['--import', 'tsx', file];
  return [...runtimeArgs, ...args];
}

/**
 * `leakFree()` on Node; on Deno and Bun only the watch for unhandled rejections and uncaught
 * exceptions. Deno opens descriptors of its own the first time some routes are used (seen: two
 * sockets that stay, the first time a Unix connection carried a 10,000-command pipeline), so
 * counting all of /proc/self/fd there reports leaks that are not the library's.
 */
export async function peerLeakFree(body: () => Promise<void>): Promise<void> {
  if (runtime === 'node') return leakFree(body);
  const watch = watchUnhandled();
  try {
    await body();
  } finally {
    await watch.stop();
  }
}
