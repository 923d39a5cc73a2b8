/**
 * HTTP/1.1 keep-alive over 127.0.0.1 under `wrk` (issue 14.6): GETs answered with one fixed
 * small response, at 1 and 50 connections, every server in its own process and all of them
 * driven by the same `wrk` (one thread, keep-alive, a 1 s warm-up run, then the measured run).
 * Requests per second, the server's CPU per request over the measured run, and per-round
 * ratios to raw `node:net` doing the same parsing (the anchor), `node:http` and uvloop, and to
 * `net-await`: raw `node:net` behind the smallest loop of asyncio's shape (one `await` per request
 * and one per drain, nothing else), the floor of any API of that shape on the runtime.
 *
 *   npx tsx bench/http.bench.ts                        3 rounds, every default server, N=1 and N=50
 *   npx tsx bench/http.bench.ts --rounds 3 --seconds 3 --servers ours,net --connections 50
 *   npx tsx bench/http.bench.ts run ours 50            one run, one `RESULT` line (for run.ts)
 *
 * Also `--warmup S`, `--pin off`, `--quiet-wait S` (default 10: before each run, wait at most
 * that long for other processes to stop using the CPU), `--source` (ours from the TypeScript
 * sources) and `--json FILE` (every run). `ours-base` (not run by default) is ours as the build
 * `BENCH_BASE_LIBRARY` names, to measure a change against its base in the same rounds.
 *
 * Every server does the same work per request (`_servers/_http-request.ts`, mirrored in
 * `http_streams.py`): find the end of the head (`readuntil('\r\n\r\n')` for the streams
 * servers), parse the request line and headers minimally, write the response. `node:http`
 * and `Deno.serve` are references: full HTTP stacks, not the same work. Needs `wrk` (apt
 * `wrk`); benchmarks never run in CI. N=1 runs pin the server and wrk to the last CPU, as
 * `echo.bench.ts` does and for the same reason (an idle vCPU's wake-up, not the server).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeVariant, type Benchmark, type Ratio, type Workload } from './_benchmark.ts';
import { baseLibrary, type Build } from './_net-build.ts';
import {
  machineBusySeconds,
  pinned,
  processCpuSeconds,
  processPeakRssMB,
  pythonPath,
  runToEnd,
  selfAndChildrenCpuSeconds,
  startProcess,
  stop,
  tsxCommand,
  type Command,
} from './_net-process.ts';
import { BUN, DENO, NODE_RUNTIMES, THIS_NODE, type Runtime } from './_runtimes.ts';
import { finish, format, met, perRoundRatios, row, serverRuns, serverTable } from './_net-report.ts';
import { runtimeRatio, runtimeRatios } from './_runtime-ratios.ts';
import { defaultPinCpu, parseRoundsOptions, runRounds, runWithBuild, serverRunResult, type RoundsOptions } from './_net-rounds.ts';

const RESPONSE_BYTES = 80;
const DIGEST = 'http-get-keepalive';

interface HttpServer {
  id: string;
  label: string;
  command: () => Command;
  /** Run by default (the others only when `--servers` names them). */
  standard: boolean;
  /** Loads the library's tsc build (`ASYNCIO_STREAMS_BUILD`). */
  ours?: boolean;
  /** Set on the servers run by another runtime than this Node: that runtime's label. */
  runtime?: string;
}

function onRuntime(runtime: Runtime, file: string, args: string[]): () => Command {
  return () => ({ argv: [...runtime.command({}), fileURLToPath(new URL(file, import.meta.url)), ...args] });
}

function pythonServer(python: () => string, loop: string): () => Command {
  return () => ({ argv: [python(), 'bench/_servers/http_streams.py', loop] });
}

/**
 * Ours and each runtime's own server on the other runtimes, for the table with a column per
 * runtime: Node 22/24/26 and Bun run `http-node.ts` (Bun's `node:net` then), Bun also
 * `Bun.listen`, Deno runs `http-deno.ts`. wrk drives them all.
 */
const RUNTIME_SERVERS: HttpServer[] = [
  ...[...NODE_RUNTIMES.filter((runtime) => runtime.label !== THIS_NODE), BUN].flatMap((runtime): HttpServer[] => [
    {
      id: `${runtime.id}:ours`,
      label: `${runtime.label}: as \`ours\``,
      command: onRuntime(runtime, './_servers/http-node.ts', ['ours']),
      standard: false,
      ours: true,
      runtime: runtime.label,
    },
    {
      id: `${runtime.id}:raw`,
      label: `${runtime.label}: as \`net\``,
      command: onRuntime(runtime, './_servers/http-node.ts', ['net']),
      standard: false,
      runtime: runtime.label,
    },
    {
      id: `${runtime.id}:await`,
      label: `${runtime.label}: as \`net-await\``,
      command: onRuntime(runtime, './_servers/http-node.ts', ['net-await']),
      standard: false,
      runtime: runtime.label,
    },
  ]),
  {
    id: 'bun:listen',
    label: 'Bun: `Bun.listen`, the same parsing, `socket.write()` (a short write finished on `drain`)',
    command: onRuntime(BUN, './_servers/http-bun.ts', ['bun-listen']),
    standard: false,
    runtime: BUN.label,
  },
  {
    id: 'bun:listen-await',
    label: 'Bun: `Bun.listen` behind the smallest asyncio-shaped loop (one `await` per request, one of a resolved drain)',
    command: onRuntime(BUN, './_servers/http-bun.ts', ['bun-listen-await']),
    standard: false,
    runtime: BUN.label,
  },
  {
    id: 'deno:ours',
    label: "Deno: as `ours`, on the library's Deno entry",
    command: onRuntime(DENO, './_servers/http-deno.ts', ['ours']),
    standard: false,
    runtime: DENO.label,
  },
  {
    id: 'deno:raw',
    label: 'Deno: `Deno.listen`, loop `await conn.read(buffer)`, the same parsing, `await conn.write()`',
    command: onRuntime(DENO, './_servers/http-deno.ts', ['raw']),
    standard: false,
    runtime: DENO.label,
  },
  {
    id: 'deno:serve',
    label: 'Deno: `Deno.serve()` (reference)',
    command: onRuntime(DENO, './_servers/http-deno.ts', ['deno-serve']),
    standard: false,
    runtime: DENO.label,
  },
];

const SERVERS: HttpServer[] = [
  ...RUNTIME_SERVERS,
  {
    id: 'ours',
    label: "ours: `startServer()`, loop `readuntil('\\r\\n\\r\\n')`, parse, `write(response)`, `await drain()`",
    command: () => tsxCommand('./_servers/http-node.ts', ['ours']),
    standard: true,
    ours: true,
  },
  {
    id: 'ours-base',
    label: 'ours, as the build `BENCH_BASE_LIBRARY` names (the version a change is measured against)',
    command: () => ({ ...tsxCommand('./_servers/http-node.ts', ['ours']), env: { ASYNCIO_STREAMS_BUILD: baseLibrary() } }),
    standard: false,
  },
  {
    id: 'net',
    label: "raw `node:net`, the same parsing of the 'data' chunks, `socket.write()`: the anchor",
    command: () => tsxCommand('./_servers/http-node.ts', ['net']),
    standard: true,
  },
  {
    id: 'net-await',
    label: 'raw `node:net` behind the smallest asyncio-shaped loop: `await` a head, parse, `socket.write()`, `await` a resolved promise (the floor of any such API)',
    command: () => tsxCommand('./_servers/http-node.ts', ['net-await']),
    standard: true,
  },
  {
    id: 'node-http',
    label: '`node:http` `createServer()`, `writeHead()` + `end(body)` (reference)',
    command: () => tsxCommand('./_servers/http-node.ts', ['node-http']),
    standard: true,
  },
  {
    id: 'py313',
    label: 'CPython 3.13.0 (pyenv) asyncio streams, the same parsing',
    command: pythonServer(() => pythonPath('3.13.0'), 'asyncio'),
    standard: true,
  },
  {
    id: 'uvloop',
    label: "uvloop 0.17 streams (Debian's python3-uvloop on CPython 3.11.2), the same parsing",
    command: pythonServer(() => '/usr/bin/python3', 'uvloop'),
    standard: true,
  },
];

interface RunOptions {
  seconds: number;
  warmupSeconds: number;
  /** CPU to pin N=1 runs to, or null. */
  pinCpu: number | null;
  /** The tsc build the `ours` servers run; null: the sources through tsx. */
  build: Build | null;
}

/** What one `wrk` run printed. */
interface WrkResult {
  requests: number;
  seconds: number;
  /** Non-2xx responses and socket errors (connect, read, write, timeout). */
  errors: number;
}

interface HttpRun {
  server: string;
  connections: number;
  requestsPerSecond: number;
  /** Server CPU per request over the measured run, µs. */
  serverUsPerRequest: number | null;
  serverCpuPercent: number | null;
  /** Cores used by processes other than the server and wrk over the measured run. */
  otherCores: number | null;
  serverPeakRssMB: number | null;
  wrk: WrkResult;
  /** Server CPU over its whole life, plus wrk's: what `run.ts` subtracts as ours. */
  totalCpuSeconds: number;
}

function serverById(id: string): HttpServer {
  const server = SERVERS.find((candidate) => candidate.id === id);
  if (!server) throw new Error(`unknown server '${id}' (known: ${SERVERS.map((known) => known.id).join(', ')})`);
  return server;
}

/** Reads `wrk`'s report: `N requests in S.SSs`, non-2xx and socket errors. */
export function parseWrk(stdout: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(stdout);
  if (!total) throw new Error(`no request count in wrk's output: ${stdout.trim().slice(-1000)}`);
  const seconds = Number(total[2]) / (total[3] === 'ms' ? 1000 : 1);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const errors = (socketErrors ? socketErrors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0) + Number(non2xx?.[1] ?? 0);
  return { requests: Number(total[1]), seconds, errors };
}

function wrkCommand(port: number, connections: number, seconds: number): Command {
  return { argv: ['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`] };
}

/** One server process, a warm-up `wrk`, then the measured `wrk`. */
async function runHttp(serverId: string, connections: number, options: RunOptions): Promise<HttpRun> {
  const cpu = connections === 1 ? options.pinCpu : null;
  const spec = serverById(serverId);
  const command = spec.command();
  if (spec.ours && options.build) command.env = { ...command.env, ASYNCIO_STREAMS_BUILD: options.build.dir };
  const server = await startProcess(pinned(command, cpu));
  try {
    const limitMs = (seconds: number) => seconds * 1000 + 30_000;
    if (options.warmupSeconds > 0) await runToEnd(pinned(wrkCommand(server.port, connections, options.warmupSeconds), cpu), limitMs(options.warmupSeconds));
    const serverBefore = processCpuSeconds(server.pid);
    const busyBefore = machineBusySeconds();
    const oursBefore = selfAndChildrenCpuSeconds();
    const { stdout } = await runToEnd(pinned(wrkCommand(server.port, connections, options.seconds), cpu), limitMs(options.seconds));
    const serverAfter = processCpuSeconds(server.pid);
    const busyAfter = machineBusySeconds();
    const oursAfter = selfAndChildrenCpuSeconds();
    const wrk = parseWrk(stdout);
    if (wrk.requests === 0) throw new Error(`no request answered; server stderr: ${server.stderr().trim().slice(-1000)}`);
    const serverCpu = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
    // wrk's CPU is in this process's children's (it is the one child that ended meanwhile).
    const known = [busyBefore, busyAfter, oursBefore, oursAfter, serverCpu];
    const otherCores = known.includes(null)
      ? null
      : Math.max(0, (busyAfter! - busyBefore! - serverCpu! - (oursAfter! - oursBefore!)) / wrk.seconds);
    return {
      server: serverId,
      connections,
      requestsPerSecond: wrk.requests / wrk.seconds,
      serverUsPerRequest: serverCpu === null ? null : (serverCpu / wrk.requests) * 1e6,
      serverCpuPercent: serverCpu === null ? null : (serverCpu / wrk.seconds) * 100,
      otherCores,
      serverPeakRssMB: processPeakRssMB(server.pid),
      wrk,
      totalCpuSeconds: (processCpuSeconds(server.pid) ?? 0) + (oursAfter ?? 0) - (oursBefore ?? 0),
    };
  } finally {
    await stop(server);
  }
}

// ---- run.ts integration: one variant = one (server, N) run printing a RESULT line ----

function workload(connections: number): Workload {
  const ids = SERVERS.filter((server) => server.standard || server.runtime).map((server) => server.id);
  const targets: Ratio[] = [
    { label: 'ours / raw net', numerator: 'ours', denominator: 'net', target: { min: 0.95 } },
    { label: 'ours / node:http', numerator: 'ours', denominator: 'node-http' },
    { label: 'ours / uvloop streams', numerator: 'ours', denominator: 'uvloop', target: { min: 1 } },
    { label: 'ours / CPython 3.13 streams', numerator: 'ours', denominator: 'py313' },
    ...runtimeRatios(RUNTIME_SERVERS, 0.95),
    runtimeRatio("ours / the runtime's HTTP server", THIS_NODE, 'ours', 'node-http'),
    runtimeRatio("ours / the runtime's HTTP server", DENO.label, 'deno:ours', 'deno:serve'),
    runtimeRatio('ours / Bun.listen', BUN.label, 'bun:ours', 'bun:listen'),
    // The Bun entry runs over Bun's own sockets: the floor of its shape over them (the proposed target).
    runtimeRatio('ours / the await floor over Bun.listen', BUN.label, 'bun:ours', 'bun:listen-await', 0.85),
    runtimeRatio('the await floor over Bun.listen / Bun.listen', BUN.label, 'bun:listen-await', 'bun:listen'),
  ];
  const pinning = connections === 1 ? ' Server and wrk pinned to the last CPU (taskset).' : '';
  return {
    id: `http${connections}`,
    name: `HTTP/1.1 keep-alive, N=${connections}`,
    description:
      `HTTP/1.1 keep-alive GETs over 127.0.0.1 from wrk (one thread, ${connections} connection(s)), each answered with ` +
      `the same ${RESPONSE_BYTES}-byte response after the same minimal parse; 1 s warm-up run, 5 s measured run.` +
      `${pinning} Rates are requests per second.`,
    metrics: [{ label: 'req/s', per: 'items', scale: 1 }],
    variants: ids.map((id) => nodeVariant(id, serverById(id).label, import.meta.url, ['run', id, String(connections)])),
    ratios: targets,
  };
}

export const benchmark: Benchmark = { name: 'http', workloads: [workload(1), workload(50)] };

async function runForDriver(serverId: string, connections: number, seconds: number): Promise<void> {
  const run = await runWithBuild(serverById(serverId).ours === true, (build) =>
    runHttp(serverId, connections, { seconds, warmupSeconds: 1, pinCpu: defaultPinCpu(), build }),
  );
  const result = serverRunResult({ ...run, seconds: run.wrk.seconds, requests: run.wrk.requests, requestBytes: RESPONSE_BYTES }, DIGEST, {
    errors: run.wrk.errors,
  });
  console.log(`RESULT ${JSON.stringify(result)}`);
}

// ---- standalone: rounds, table, targets ----

function report(options: RoundsOptions, runs: (HttpRun & { round: number })[]): string {
  const lines: string[] = [];
  const { rate, cpuRate } = serverRuns(runs);
  const pin = options.pinCpu === null ? 'unpinned' : `server and wrk pinned to CPU ${options.pinCpu}`;
  lines.push(
    `### HTTP/1.1 keep-alive GET over 127.0.0.1 under wrk (Node ${process.version}, ${new Date().toISOString().slice(0, 10)})`,
    '',
    `${options.rounds} rounds (order rotated and reversed every round), each run a fresh server process: a ` +
      `${options.warmupSeconds} s wrk warm-up, then a ${options.seconds} s wrk run (one thread). N=1: ${pin}. Ours: ` +
      `${options.source ? 'the TypeScript sources through tsx' : 'the tsc build'}. Medians over rounds; \`x net\` = median of ` +
      'per-round ratios to raw `node:net` with the same parsing; `µs/req` = server CPU per request; `other` = cores used by ' +
      'processes other than the server and wrk; `errors` = wrk socket errors and non-2xx responses, all runs.',
    '',
  );
  const errors = { header: 'errors', cell: (all: readonly HttpRun[]) => String(all.reduce((sum, run) => sum + run.wrk.errors, 0)) };
  lines.push(...serverTable<HttpRun & { round: number }>(options, runs, [errors]));
  lines.push('');
  for (const id of options.servers) lines.push(`- \`${id}\`: ${serverById(id).label}`);

  const roundCells = Array.from({ length: options.rounds }, (_, round) => `r${round + 1}`);
  lines.push(
    '',
    'Ratios per round and their median (req/s; then requests per server CPU second, which the client cannot flatten).',
    '',
    row(['ratio', 'N', 'median', ...roundCells, 'target', 'met']),
    row(['---', '---:', '---:', ...roundCells.map(() => '---:'), '---:', ':---:']),
  );
  const pairs: [string, string, number | null][] = [
    ['ours', 'net', 0.95],
    ['ours', 'net-await', null],
    ['net-await', 'net', null],
    ['ours', 'node-http', null],
    ['ours', 'uvloop', 1],
    ['ours', 'py313', null],
    ['ours', 'ours-base', null],
    ['ours-base', 'net', null],
  ];
  for (const n of options.connections) {
    for (const [top, bottom, min] of pairs) {
      if (!options.servers.includes(top) || !options.servers.includes(bottom)) continue;
      const { perRound, median: value } = perRoundRatios(options.rounds, rate(n), top, bottom);
      const target = min === null ? ['-', ''] : [`>= ${min}`, met(value, min)];
      lines.push(row([`${top} / ${bottom}, req/s`, n, `**${format(value)}**`, ...perRound.map(format), ...target]));
      const cpu = perRoundRatios(options.rounds, cpuRate(n), top, bottom);
      lines.push(row([`${top} / ${bottom}, requests per server CPU second`, n, format(cpu.median), ...cpu.perRound.map(format), '-', '']));
    }
  }
  return lines.join('\n');
}

async function main(args: string[]): Promise<void> {
  if (args[0] === 'run') {
    const [, serverId = '', n = '', seconds = '5'] = args;
    serverById(serverId);
    await runForDriver(serverId, Number(n), Number(seconds));
    return;
  }
  const options = parseRoundsOptions(args, { rounds: 3, servers: SERVERS.filter((server) => server.standard).map((server) => server.id) }, serverById);
  // wrk counts whole seconds only.
  if (!Number.isInteger(options.seconds)) throw new Error('--seconds wants a whole number of seconds');
  const { runs, failures } = await runRounds(
    options,
    (server, n, build) => runHttp(server, n, { ...options, build }),
    (run) =>
      `${format(run.requestsPerSecond)} req/s, server ${format(run.serverUsPerRequest)} µs/req ` +
      `(${format(run.serverCpuPercent)} %), other cores ${format(run.otherCores)}, errors ${run.wrk.errors}`,
  );
  finish(options.json, { options, runs, failures }, report(options, runs));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
