/**
 * The standalone mode that the server benchmarks (`echo.bench.ts`, `http.bench.ts`) share:
 * their command-line options, the CPU that N=1 runs are pinned to, and the rounds of runs,
 * each (server, N) once a round in a rotated order, after waiting for a quiet machine.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Result } from './_benchmark.ts';
import { buildLibrary, type Build } from './_net-build.ts';
import { selfAndChildrenCpuSeconds, waitForQuiet } from './_net-process.ts';
import { format, roundOrder } from './_net-report.ts';

export interface RoundsOptions {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  servers: string[];
  connections: number[];
  /** CPU to pin N=1 runs to, or null. */
  pinCpu: number | null;
  /** Ours from the TypeScript sources through tsx, not the tsc build. */
  source: boolean;
  json: string | null;
  /** Seconds to wait at most, before each run, for the machine to be quiet. */
  quietWait: number;
}

/** The last CPU, where N=1 runs are pinned; null on a single-CPU machine or without taskset. */
export function defaultPinCpu(): number | null {
  const cpus = availableParallelism();
  if (cpus < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  return cpus - 1;
}

/**
 * Reads `--rounds`, `--seconds`, `--warmup`, `--servers`, `--connections`, `--pin`, `--json`,
 * `--source` and `--quiet-wait` over `defaults`; `checkServer` throws on an unknown server.
 * @throws {Error} on an unknown option or a value out of range
 */
export function parseRoundsOptions(args: string[], defaults: Pick<RoundsOptions, 'rounds' | 'servers'>, checkServer: (id: string) => void): RoundsOptions {
  const options: RoundsOptions = {
    ...defaults,
    seconds: 5,
    warmupSeconds: 1,
    connections: [1, 50],
    pinCpu: defaultPinCpu(),
    source: false,
    json: null,
    quietWait: 10,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split('=', 2);
    const value = (): string => inline ?? args[++i] ?? '';
    if (flag === '--rounds') options.rounds = Number(value());
    else if (flag === '--seconds') options.seconds = Number(value());
    else if (flag === '--warmup') options.warmupSeconds = Number(value());
    else if (flag === '--servers') options.servers = value().split(',').filter(Boolean);
    else if (flag === '--connections') options.connections = value().split(',').map(Number);
    else if (flag === '--pin') options.pinCpu = value() === 'off' ? null : Number(value());
    else if (flag === '--json') options.json = value();
    else if (flag === '--source') options.source = true;
    else if (flag === '--quiet-wait') options.quietWait = Number(value());
    else throw new Error(`unknown option '${args[i]}'`);
  }
  for (const id of options.servers) checkServer(id);
  if (!Number.isInteger(options.rounds) || options.rounds < 1 || options.rounds > 50) throw new Error('--rounds wants 1..50');
  if (!(options.seconds > 0 && options.seconds <= 120)) throw new Error('--seconds wants 0..120');
  if (!(options.warmupSeconds >= 0 && options.warmupSeconds <= 60)) throw new Error('--warmup wants 0..60');
  if (!options.connections.every((n) => Number.isInteger(n) && n >= 1 && n <= 1000)) throw new Error('--connections wants 1..1000');
  return options;
}

/**
 * Runs every (server, N) once a round, `runOne` doing one run with the tsc build (null with
 * `--source`), and logs each run with `describe`. A failed run is listed and the rounds go on.
 */
export async function runRounds<R>(
  options: RoundsOptions,
  runOne: (server: string, connections: number, build: Build | null) => Promise<R>,
  describe: (run: R) => string,
): Promise<{ runs: (R & { round: number })[]; failures: string[] }> {
  const jobs = options.connections.flatMap((n) => options.servers.map((server) => ({ server, n })));
  const runs: (R & { round: number })[] = [];
  const failures: string[] = [];
  const build = options.source ? null : buildLibrary();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, { server, n }] of roundOrder(jobs, round).entries()) {
        const tag = `[round ${round + 1}/${options.rounds} ${i + 1}/${jobs.length}] ${server} N=${n}`;
        const busy = await waitForQuiet(options.quietWait);
        if (busy !== null && busy >= 0.3) console.error(`${tag}: machine still busy (${format(busy)} cores), running anyway`);
        try {
          const run = await runOne(server, n, build);
          runs.push({ ...run, round });
          console.error(`${tag}: ${describe(run)}`);
        } catch (error) {
          failures.push(`round ${round + 1} ${server} N=${n}: ${(error as Error).message}`);
          console.error(`${tag}: FAILED ${(error as Error).message}`);
        }
      }
    }
  } finally {
    build?.remove();
  }
  return { runs, failures };
}

/** One run for `run.ts`: with a fresh tsc build of the library when the server is `ours`, removed after. */
export async function runWithBuild<R>(ours: boolean, runOne: (build: Build | null) => Promise<R>): Promise<R> {
  const build = ours ? buildLibrary() : null;
  try {
    return await runOne(build);
  } finally {
    build?.remove();
  }
}

/**
 * CPU seconds of this process and of every process it ran (build, server, client): what
 * `run.ts` counts as the benchmark's own. Without /proc, `othersSeconds` (the others' own
 * count) plus this process's.
 */
export function benchmarkCpuSeconds(othersSeconds: number): number {
  const own = process.cpuUsage();
  return selfAndChildrenCpuSeconds() ?? othersSeconds + (own.user + own.system) / 1e6;
}

/** What a server benchmark's run measured, as `serverRunResult()` reports it. */
export interface ServerRun {
  /** The measured window, and the requests answered in it. */
  seconds: number;
  requests: number;
  /** Bytes per request, for the result's byte count. */
  requestBytes: number;
  serverUsPerRequest: number | null;
  otherCores: number | null;
  serverPeakRssMB: number | null;
  /** The server's and the load's CPU (see `benchmarkCpuSeconds()`). */
  totalCpuSeconds: number;
}

/** The `RESULT` record of one server run for `run.ts`, with `extra` fields of the benchmark's own. */
export function serverRunResult(run: ServerRun, digest: string, extra: Record<string, unknown> = {}): Result & Record<string, unknown> {
  return {
    seconds: run.seconds,
    passes: [run.seconds],
    bytes: run.requests * run.requestBytes,
    items: run.requests,
    digest,
    // This process and the ones it ran (build, server, load).
    cpuSeconds: benchmarkCpuSeconds(run.totalCpuSeconds),
    maxRssMB: run.serverPeakRssMB ?? 0,
    runtime: `Node ${process.version}`,
    serverUsPerRequest: run.serverUsPerRequest,
    otherCoresInWindow: run.otherCores,
    ...extra,
  };
}
